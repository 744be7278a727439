"""Reads behind every page: a fixed number of queries whatever the amount of data."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Lower, TruncDate
from django.utils import timezone

from evaluation.benchmarks import apps, humaneval, registry
from evaluation.benchmarks import humaneval_docstrings as docstrings
from evaluation.figures import RANKING
from evaluation.metrics import DEFAULT_KS, PairedDifference, paired_difference, pass_at_k, usable_ks
from evaluation.metrics import rank_intervals as metrics_rank_intervals
from leaderboard.models import Submission
from leaderboard.runs.models import (
    Benchmark,
    CodeModel,
    Problem,
    Result,
    Run,
    Sample,
    coverage_text,
    problem_set,
)

ACTIVE = (Run.Status.PENDING, Run.Status.GENERATING, Run.Status.EXECUTING, Run.Status.GRADING)
PASSED = Q(verdict=Sample.Verdict.PASSED)
EXECUTED = ~Q(verdict=Sample.Verdict.PENDING)


@dataclass(frozen=True)
class Column:
    """One figure of the board: a model's best stored Result with these fields, over all its runs.

    `shows_temperature`: the benchmark is sampled at several temperatures, so the figure says which."""

    key: str
    label: str
    benchmark: str
    metric: str
    subset: str = "all"
    variant: str = "raw"
    group: str = ""
    shows_temperature: bool = False

    def results(self) -> QuerySet[Result]:
        return Result.objects.filter(
            run__benchmark__name=self.benchmark, metric=self.metric, subset=self.subset, variant=self.variant
        )


BOARD_COLUMNS = tuple(
    Column(
        column.key,
        column.label,
        module.NAME,
        column.metric,
        column.subset,
        column.variant,
        column.group,
        shows_temperature=len(module.SAMPLING.temperatures) > 1,
    )
    for module in registry.benchmarks()
    for column in module.COLUMNS
)
COLUMNS = {column.key: column for column in BOARD_COLUMNS}


def columns_of(name: str) -> tuple[Column, ...]:
    """The board's columns of one benchmark."""
    return tuple(column for column in BOARD_COLUMNS if column.benchmark == name)


def extension_pairs(name: str, loaded: Iterable[str]) -> list[tuple[Column, Column]]:
    """(extension's column, the base column of the same metric) for every loaded benchmark that
    judges this one's samples again (HumanEval+ beside HumanEval): the figure and its drop."""
    base = {column.metric: column for column in columns_of(name)}
    return [
        (column, base[column.metric])
        for module in registry.benchmarks()
        if name == module.EXTENDS and module.NAME in set(loaded)
        for column in columns_of(module.NAME)
        if column.metric in base
    ]


MODEL_SORTS = ("model", "parameters", "date")


@dataclass(frozen=True)
class Figure:
    """A stored figure with its run; `coverage` says what an incomplete run's figure stands on, and
    `split` which problems: a train-split figure is not comparable with the published test-split ones."""

    value: float
    ci_low: float | None
    ci_high: float | None
    temperature: float | None
    run_id: int
    coverage: str = ""
    split: str = ""  # the benchmark version's split where it is not the test split ("train")

    @property
    def complete(self) -> bool:
        return not self.coverage


# The fields of a stored Result that a figure on a page needs, read as one row.
FIGURE_ROW = (
    "run__model_id",
    "run__model__name",
    "run__model__parameters",
    "run__benchmark__name",
    "metric",
    "subset",
    "variant",
    "value",
    "ci_low",
    "ci_high",
    "run__temperature",
    "run_id",
    "run__complete",
    "run__problems_covered",
    "run__problems_total",
    "run__samples_executed",
    "run__samples_total",
    "run__benchmark__split",
)


def figure_of(row: dict) -> Figure:
    coverage = coverage_text(
        row["run__complete"],
        row["run__problems_covered"],
        row["run__problems_total"],
        row["run__samples_executed"],
        row["run__samples_total"],
    )
    return Figure(
        row["value"],
        row["ci_low"],
        row["ci_high"],
        row["run__temperature"],
        row["run_id"],
        coverage,
        row["run__benchmark__split"],
    )


def better(figure: Figure, than: Figure | None) -> bool:
    """A complete run's figure beats an incomplete one's whatever their values: partial runs rank apart."""
    return than is None or (figure.complete, figure.value) > (than.complete, than.value)


@dataclass
class ModelRow:
    model: CodeModel
    figures: dict[str, Figure] = field(default_factory=dict)

    def value(self, key: str) -> float | None:
        figure = self.figures.get(key)
        return figure.value if figure else None


@dataclass(frozen=True)
class BoardFilters:
    q: str = ""
    family: str = ""
    min_parameters: int | None = None
    max_parameters: int | None = None
    benchmark: str = ""


def benchmark_names() -> list[str]:
    return list(Benchmark.objects.order_by("name").values_list("name", flat=True).distinct())


def families() -> list[str]:
    return list(
        CodeModel.objects.exclude(family="").order_by("family").values_list("family", flat=True).distinct()
    )


def visible_columns(names: Iterable[str]) -> tuple[Column, ...]:
    """HumanEval always; the other benchmarks once they are loaded."""
    names = set(names) | {humaneval.NAME}
    return tuple(column for column in BOARD_COLUMNS if column.benchmark in names)


def board_queryset(
    filters: BoardFilters = BoardFilters(), sort: str = "pass@1", descending: bool = True
) -> QuerySet[CodeModel]:
    """Models with at least one run, filtered, ordered in SQL so that a page is a LIMIT away."""
    models = CodeModel.objects.filter(Exists(Run.objects.filter(model=OuterRef("pk"))))
    if filters.q:
        models = models.filter(
            Q(name__icontains=filters.q) | Q(family__icontains=filters.q) | Q(hub_id__icontains=filters.q)
        )
    if filters.family:
        models = models.filter(family=filters.family)
    if filters.min_parameters is not None:
        models = models.filter(parameters__gte=filters.min_parameters)
    if filters.max_parameters is not None:
        models = models.filter(parameters__lte=filters.max_parameters)
    if filters.benchmark:
        models = models.filter(
            Exists(Result.objects.filter(run__model=OuterRef("pk"), run__benchmark__name=filters.benchmark))
        )
    models = models.annotate(evaluating=Exists(Run.objects.filter(model=OuterRef("pk"), status__in=ACTIVE)))
    ranked = None
    if sort in COLUMNS:
        best = COLUMNS[sort].results().filter(run__model=OuterRef("pk")).order_by("-value")
        key = Subquery(best.values("value")[:1])
        ranked = Subquery(best.filter(run__complete=True).values("value")[:1])
    elif sort == "parameters":
        key = F("parameters")
    elif sort == "date":
        key = Coalesce("released", TruncDate("created_at"))
    else:
        key = Lower("name")
    order = F("sort_key").desc(nulls_last=True) if descending else F("sort_key").asc(nulls_last=True)
    if ranked is None:
        return models.annotate(sort_key=key).order_by(order, Lower("name"), "id")
    # Models whose figure comes from a complete run first, ranked; then the others, apart.
    complete_first = F("ranked").desc(nulls_last=True) if descending else F("ranked").asc(nulls_last=True)
    return models.annotate(sort_key=key, ranked=ranked).order_by(complete_first, order, Lower("name"), "id")


@dataclass(frozen=True)
class Rank:
    """A model's rank on a figure among the complete runs, with its 95% bootstrap interval."""

    rank: int
    low: int
    high: int

    @property
    def tied(self) -> bool:
        return self.low != self.high


def rank_intervals(column: Column) -> dict[int, Rank]:
    """Each model's rank by its best complete run's overall pass@k, with a 95% interval from a
    bootstrap over problems (metrics.rank_intervals); empty for figures that are not overall pass@k.

    Two queries: the best runs, then their per-problem counts on the problems they all share."""
    k = metric_k(column.metric)
    if not column.metric.startswith("pass@") or column.subset != "all" or column.variant != "raw":
        return {}
    best: dict[int, tuple[float, int]] = {}
    for model_id, run_id, value in (
        column.results().filter(run__complete=True).values_list("run__model_id", "run_id", "value")
    ):
        if model_id not in best or value > best[model_id][0]:
            best[model_id] = (value, run_id)
    if not best:
        return {}
    counts = task_counts([run_id for _, run_id in best.values()])
    models = [model_id for model_id, (_, run_id) in best.items() if counts[run_id]]
    shared = sorted(set.intersection(*(set(counts[best[m][1]]) for m in models)))
    usable = [m for m in models if all(counts[best[m][1]][t][0] >= k for t in shared)]
    if len(usable) < 2 or not shared:
        return {}
    table = [[pass_at_k(*counts[best[m][1]][t], k) for t in shared] for m in usable]
    means = [sum(row) / len(row) for row in table]
    intervals = metrics_rank_intervals(table)
    return {
        model_id: Rank(1 + sum(other > mean for other in means), low, high)
        for model_id, mean, (low, high) in zip(usable, means, intervals, strict=True)
    }


def board_figures(model_ids: list[int], columns: Iterable[Column]) -> dict[int, dict[str, Figure]]:
    """Each model's best figure per column, with the run and temperature it came from (one query)."""
    keys = {(c.benchmark, c.metric, c.subset, c.variant): c.key for c in columns}
    if not model_ids or not keys:
        return {}
    rows = (
        Result.objects.filter(
            run__model_id__in=model_ids,
            run__benchmark__name__in={k[0] for k in keys},
            metric__in={k[1] for k in keys},
            subset__in={k[2] for k in keys},
            variant__in={k[3] for k in keys},
        )
        .order_by("run_id", "id")
        .values(*FIGURE_ROW)
    )
    figures: dict[int, dict[str, Figure]] = defaultdict(dict)
    for row in rows:
        key = keys.get((row["run__benchmark__name"], row["metric"], row["subset"], row["variant"]))
        if key is None:
            continue
        figure = figure_of(row)
        if better(figure, figures[row["run__model_id"]].get(key)):
            figures[row["run__model_id"]][key] = figure
    return figures


def board_rows(models: Iterable[CodeModel], columns: Iterable[Column] = BOARD_COLUMNS) -> list[ModelRow]:
    models = list(models)
    figures = board_figures([m.id for m in models], columns)
    return [ModelRow(model, figures.get(model.id, {})) for model in models]


@dataclass
class AppsRow:
    """One line of Table 2: a model on one version of APPS, a variant and a k, a figure per difficulty."""

    model_id: int
    model_name: str
    parameters: int | None
    variant: str
    metric: str
    problems: str
    problems_source: str
    cells: dict[str, tuple[Figure, Figure | None]] = field(default_factory=dict)


def apps_table() -> list[AppsRow]:
    """Best run per model, APPS version, variant, k and difficulty; the "+timeouts" figure of that same
    run beside it. Versions stay apart: their problems and tests differ, so a figure on one is not
    comparable with a figure on another (the shipped CodeChain and MapCoder sets are two)."""
    rows = (
        Result.objects.filter(run__benchmark__name=apps.NAME, subset__in=apps.SUBSETS)
        .exclude(variant__startswith=RANKING)
        .order_by("run_id", "id")
        .values(*FIGURE_ROW, "run__benchmark_id", "run__benchmark__content_hash", "run__benchmark__source")
    )
    best: dict[tuple, tuple[dict, Figure]] = {}
    timeouts: dict[tuple, dict] = {}
    for row in rows:
        variant, metric, subset = row["variant"], row["metric"], row["subset"]
        if variant.endswith(apps.TIMEOUTS):
            timeouts[row["run_id"], variant.removesuffix(apps.TIMEOUTS), metric, subset] = row
            continue
        key = (row["run__model_id"], row["run__benchmark_id"], variant, metric, subset)
        figure = figure_of(row)
        if key not in best or better(figure, best[key][1]):
            best[key] = (row, figure)
    table: dict[tuple, AppsRow] = {}
    for (model_id, benchmark_id, variant, metric, subset), (row, figure) in best.items():
        line = table.get((model_id, benchmark_id, variant, metric))
        if line is None:
            line = table[model_id, benchmark_id, variant, metric] = AppsRow(
                model_id,
                row["run__model__name"],
                row["run__model__parameters"],
                variant,
                metric,
                problem_set(
                    content_hash=row["run__benchmark__content_hash"], split=row["run__benchmark__split"]
                ),
                row["run__benchmark__source"],
            )
        extra = timeouts.get((row["run_id"], variant, metric, subset))
        line.cells[subset] = (figure, figure_of(extra) if extra else None)
    variant_order = {variant: i for i, variant in enumerate(apps.VARIANTS)}
    return sorted(
        table.values(),
        key=lambda r: (
            r.model_name.lower(),
            r.problems,
            variant_order.get(r.variant, 99),
            r.variant,
            metric_k(r.metric),
        ),
    )


def metric_k(metric: str) -> int:
    """The number in "pass@10" or "k=10"; 0 for anything else."""
    match = re.fullmatch(r"(?:pass@|k=)(\d+)", metric)
    return int(match[1]) if match else 0


def model_detail(model_id: int) -> CodeModel:
    return CodeModel.objects.get(id=model_id)


def model_runs(model: CodeModel) -> list[Run]:
    """All runs of a model with their overall figures (two queries)."""
    return list(
        Run.objects.filter(model=model)
        .select_related("benchmark")
        .prefetch_related(
            Prefetch(
                "results", queryset=Result.objects.filter(subset="all", variant="raw"), to_attr="overall"
            )
        )
        .order_by("benchmark__name", F("temperature").asc(nulls_first=True), "id")
    )


def problem_counts(run_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    """(n executed, c passed) per problem for each run: the input of every pass@k curve (one query)."""
    rows = (
        Sample.objects.filter(EXECUTED, run_id__in=run_ids)
        .values("run_id", "problem_id")
        .annotate(n=Count("id"), c=Count("id", filter=PASSED))
        .order_by()
    )
    counts: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        counts[row["run_id"]].append((row["n"], row["c"]))
    return counts


def stored_ranking(results: Iterable[Result]) -> dict[str, list[tuple[int, float]]]:
    """Figure 7 as `evaluation.figures.ranking_figures` makes it: variant "ranking:<name>", metric "k=<n>"."""
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for result in results:
        if result.variant.startswith(RANKING) and result.subset == "all" and metric_k(result.metric):
            curves[result.variant.removeprefix(RANKING)].append((metric_k(result.metric), result.value))
    return {name: sorted(points) for name, points in curves.items()}


def ranking_curves(run_ids: list[int]) -> dict[int, dict[str, list[tuple[int, float]]]]:
    """Figure 7's stored curves of each run that has them (one query)."""
    results = defaultdict(list)
    for result in Result.objects.filter(run_id__in=run_ids, variant__startswith=RANKING, subset="all"):
        results[result.run_id].append(result)
    return {run_id: stored_ranking(rows) for run_id, rows in results.items()}


def run_detail(run_id: int) -> Run:
    return Run.objects.select_related("model", "benchmark").prefetch_related("results").get(id=run_id)


def outcome_counts(run_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many samples of each run ended in each outcome class (failure anatomy, one query)."""
    rows = (
        Sample.objects.filter(EXECUTED, run_id__in=run_ids)
        .exclude(outcome="")
        .values_list("run_id", "outcome")
        .annotate(count=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for run_id, outcome, count in rows:
        counts[run_id][outcome] = count
    return counts


def problem_grid(run: Run) -> list[Problem]:
    """Every problem of the run's benchmark with its sample, passed and executed counts (two queries).

    The counts come from the run's own samples through its index, never from a join of the problems
    with every run's samples.
    """
    counts = {
        row["problem_id"]: row
        for row in Sample.objects.filter(run=run)
        .values("problem_id")
        .annotate(total=Count("id"), passed=Count("id", filter=PASSED), executed=Count("id", filter=EXECUTED))
        .order_by()
    }
    problems = list(
        Problem.objects.filter(benchmark_id=run.benchmark_id)
        .order_by("position")
        .only("id", "task_id", "position")
    )
    for problem in problems:
        row = counts.get(problem.id, {})
        problem.total, problem.passed, problem.executed = (
            row.get(key, 0) for key in ("total", "passed", "executed")
        )
    return problems


def exported_samples(run: Run) -> Iterable[tuple[str, int, str, str, str, str]]:
    """(task_id, index, completion, verdict, detail, outcome) of every sample, problem by problem,
    streamed in chunks so a run of any size is exported in bounded memory."""
    return (
        Sample.objects.filter(run=run)
        .order_by("problem__position", "index")
        .values_list("problem__task_id", "index", "completion", "verdict", "detail", "outcome")
        .iterator(chunk_size=2000)
    )


def problem_samples(run: Run, task_id: str) -> tuple[Problem | None, QuerySet[Sample]]:
    problem = Problem.objects.filter(benchmark=run.benchmark, task_id=task_id).first()
    return problem, Sample.objects.filter(run=run, problem=problem).order_by("index")


def sample_verdicts(run: Run, problem: Problem, completions: bool) -> list[tuple]:
    """(index, verdict) of each of the run's samples of the problem, with its completion if asked
    (one query)."""
    fields = ("index", "verdict", "completion") if completions else ("index", "verdict")
    return list(Sample.objects.filter(run=run, problem=problem).order_by("index").values_list(*fields))


def run_in_progress(run_id: int) -> bool:
    """Whether the run's pages show progress that moves without a new public version (never cached)."""
    return Run.objects.filter(id=run_id, status__in=ACTIVE).exists()


def model_in_progress(model_id: int) -> bool:
    return Run.objects.filter(model_id=model_id, status__in=ACTIVE).exists()


def problem_in_progress(problem_id: int) -> bool:
    """A run in progress on the problem's benchmark may be writing samples of it."""
    return Run.objects.filter(benchmark__problems=problem_id, status__in=ACTIVE).exists()


def docstrings_in_progress() -> bool:
    """Table 3 counts grades as they come while a docstring run is in progress."""
    return Run.objects.filter(benchmark__name=docstrings.NAME, status__in=ACTIVE).exists()


def texts_hidden(run: Run) -> bool:
    """A graded run's samples are shown once settled: before, a grader could meet them beside the model."""
    return not run.executed and run.status != Run.Status.FINISHED


def progress_line(run: Run, generated: int) -> str:
    """The run page's one status line, the same whether rendered or polled."""
    done = run.samples_executed
    if run.status in (Run.Status.PENDING, Run.Status.GENERATING):
        return f"Generating: {generated:,} of {run.samples_total:,} samples"
    if run.status == Run.Status.GRADING:
        return f"Grading: {done:,} of {run.samples_total:,} docstrings settled"
    if run.status == Run.Status.EXECUTING:
        return f"Executing: {done:,} of {run.samples_total:,} samples"
    verb = "executed" if run.executed else "settled"
    line = f"{run.get_status_display()}: {done:,} of {run.samples_total:,} samples {verb}"
    return f"{line} ({run.coverage})" if run.status == Run.Status.FINISHED and run.coverage else line


def run_progress(run_id: int) -> dict:
    """What the run page polls; samples are counted (through the run's index) only while generating."""
    run = Run.objects.select_related("benchmark").get(id=run_id)
    generating = run.status in (Run.Status.PENDING, Run.Status.GENERATING)
    generated = run.samples.count() if generating else run.samples_total
    return {
        "status": run.status,
        "line": progress_line(run, generated),
        "generated": generated,
        "executed": run.samples_executed,
        "total": run.samples_total,
        "reason": run.reason,
    }


def problem_detail(problem_id: int) -> Problem:
    return Problem.objects.select_related("benchmark").get(id=problem_id)


@dataclass(frozen=True)
class ProblemRun:
    run_id: int
    model_id: int
    model_name: str
    temperature: float | None
    status: str
    samples: int
    executed: int
    passed: int

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.executed if self.executed else None


def problem_runs(problem: Problem) -> list[ProblemRun]:
    """How every run did on one problem, best pass rate first (one query)."""
    rows = (
        Sample.objects.filter(problem=problem)
        .values("run_id", "run__model_id", "run__model__name", "run__temperature", "run__status")
        .annotate(
            samples=Count("id"), executed=Count("id", filter=EXECUTED), passed=Count("id", filter=PASSED)
        )
        .order_by()
    )
    runs = [ProblemRun(*row.values()) for row in rows]
    return sorted(runs, key=lambda r: (-(r.pass_rate or 0), r.model_name.lower(), r.run_id))


@dataclass(frozen=True)
class VerdictDifference:
    """A sample whose published verdict differs from the one a second comparison rule gives it."""

    run_id: int
    model_name: str
    index: int
    verdict: str
    other_verdict: str
    reason: str


def verdict_differences(problem: Problem, limit: int = 200) -> list[VerdictDifference]:
    """Samples of a problem whose verdict under the benchmark's diagnostic rule (APPS: strict
    comparison) differs from the published one, with the reason the benchmark gave (one query)."""
    rows = (
        Sample.objects.filter(problem=problem, extra__has_key="strict_reason")
        .order_by("run_id", "index")
        .values_list("run_id", "run__model__name", "index", "verdict", "extra")[:limit]
    )
    return [
        VerdictDifference(
            run_id, name, index, verdict, extra.get("strict_verdict") or "", extra["strict_reason"]
        )
        for run_id, name, index, verdict, extra in rows
    ]


def comparable_models() -> list[tuple[int, str]]:
    finished = Run.objects.filter(model=OuterRef("pk"), status=Run.Status.FINISHED)
    return list(CodeModel.objects.filter(Exists(finished)).order_by(Lower("name")).values_list("id", "name"))


def best_run(model_id: int, benchmark: str) -> Run | None:
    """A model's finished run with the highest pass@1 on a benchmark: the one a comparison uses."""
    pass_at_1 = Result.objects.filter(run=OuterRef("pk"), metric="pass@1", subset="all", variant="raw")
    return (
        Run.objects.filter(model_id=model_id, benchmark__name=benchmark, status=Run.Status.FINISHED)
        .select_related("model", "benchmark")
        .annotate(score=Subquery(pass_at_1.values("value")[:1]))
        .order_by(F("score").desc(nulls_last=True), "-id")
        .first()
    )


@dataclass(frozen=True)
class ComparisonRow:
    task_id: str
    problem_id: int
    a: tuple[int, int] | None
    b: tuple[int, int] | None

    @staticmethod
    def rate(counts: tuple[int, int] | None) -> float | None:
        return counts[1] / counts[0] if counts and counts[0] else None

    @property
    def rate_a(self) -> float | None:
        return self.rate(self.a)

    @property
    def rate_b(self) -> float | None:
        return self.rate(self.b)


def task_counts(run_ids: list[int]) -> dict[int, dict[str, tuple[int, int]]]:
    """(n executed, c passed) per task id of each run: runs of different versions of a benchmark
    are compared by task id (one query)."""
    rows = (
        Sample.objects.filter(EXECUTED, run_id__in=run_ids)
        .values_list("run_id", "problem__task_id")
        .annotate(n=Count("id"), c=Count("id", filter=PASSED))
        .order_by()
    )
    counts: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for run_id, task_id, n, c in rows:
        counts[run_id][task_id] = (n, c)
    return counts


def compare_runs(run_a: Run, run_b: Run) -> list[ComparisonRow]:
    """Problem by problem (matched by task id), the (n, c) of each run (two queries)."""
    counts = task_counts([run_a.id, run_b.id])
    return [
        ComparisonRow(task_id, problem_id, counts[run_a.id].get(task_id), counts[run_b.id].get(task_id))
        for problem_id, task_id in run_a.benchmark.problems.order_by("position").values_list("id", "task_id")
    ]


def paired_differences(rows: list[ComparisonRow]) -> list[PairedDifference]:
    """A minus B in pass@k over the problems both runs have, with a paired interval and p-value."""
    both = [(row.a, row.b) for row in rows if row.a and row.b]
    if not both:
        return []
    counts_a, counts_b = [a for a, _ in both], [b for _, b in both]
    ks = usable_ks(DEFAULT_KS, [n for pair in both for n, _ in pair])
    return [paired_difference(counts_a, counts_b, k) for k in ks]


@dataclass
class QueueEntry:
    """A submission with the state read from its runs and its progress in samples."""

    submission: Submission
    state: str
    reason: str = ""
    generated: int = 0
    executed: int = 0
    total: int = 0


def submission_state(submission: Submission, runs: list[Run]) -> tuple[str, str]:
    """Pending, approved, generating, executing, grading, finished or failed (with its reason)."""
    if submission.status != Submission.Status.APPROVED:
        return submission.status, submission.reason
    statuses = {run.status for run in runs}
    failed = [run for run in runs if run.status == Run.Status.FAILED]
    if failed:
        reason = "; ".join(
            f"{run.benchmark.name} at T={run.temperature}: {run.reason or 'failed; staff were told'}"
            for run in failed
        )
        return "failed", reason[:1000]
    if Run.Status.CANCELLED in statuses:
        return "cancelled", "A run was cancelled by staff."
    if not statuses or statuses == {Run.Status.PENDING}:
        return "approved", ""
    if statuses == {Run.Status.FINISHED}:
        return "finished", ""
    if statuses & {Run.Status.GENERATING, Run.Status.PENDING}:
        return "generating", ""
    if statuses & {Run.Status.EXECUTING}:
        return "executing", ""
    return "grading", ""


def submission_queue(ids: Iterable[int] | None = None, limit: int = 200) -> list[QueueEntry]:
    """The newest submissions with their state and progress (four queries)."""
    submissions = Submission.objects.select_related("author").prefetch_related(
        Prefetch("runs", queryset=Run.objects.select_related("benchmark").order_by("id"))
    )
    if ids is not None:
        submissions = submissions.filter(id__in=list(ids))
    submissions = list(submissions[:limit])
    written = {Run.Status.EXECUTING, Run.Status.GRADING, Run.Status.FINISHED}
    counted = [run.id for s in submissions for run in s.runs.all() if run.status not in written]
    counts = dict(
        Sample.objects.filter(run_id__in=counted).order_by().values_list("run_id").annotate(count=Count("id"))
        if counted
        else []
    )
    entries = []
    for submission in submissions:
        runs = list(submission.runs.all())
        state, reason = submission_state(submission, runs)
        entries.append(
            QueueEntry(
                submission,
                state,
                reason,
                generated=sum(
                    run.samples_total if run.status in written else counts.get(run.id, 0) for run in runs
                ),
                executed=sum(run.samples_executed for run in runs),
                total=sum(run.samples_total for run in runs),
            )
        )
    return entries


def submissions_since(author, since: datetime) -> QuerySet[Submission]:
    """An author's submissions that count towards the weekly limit: all but those they cancelled."""
    return Submission.objects.filter(author=author, created_at__gte=since).exclude(
        status=Submission.Status.CANCELLED
    )


def week_ago() -> datetime:
    return timezone.now() - timedelta(days=7)


def open_duplicate(fingerprint: str) -> Submission | None:
    """A submission of the same model, revision and settings that is queued, running or finished."""
    return (
        Submission.objects.filter(
            fingerprint=fingerprint, status__in=[Submission.Status.PENDING, Submission.Status.APPROVED]
        )
        .exclude(runs__status__in=[Run.Status.FAILED, Run.Status.CANCELLED])
        .order_by("created_at")
        .first()
    )
