"""Reads: an annotator's progress and history, quality control, the adjudication queue, Table 3, exports."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, QuerySet, Sum

from evaluation.benchmarks import humaneval
from evaluation.benchmarks import humaneval_docstrings as docstrings
from grading.agreement import Agreement, agreement
from grading.models import DISPUTED, BackTranslation, Grade, Item, Label
from leaderboard.runs.models import Result, Run

CORRECT = Q(label=Label.CORRECT)


# The annotator's side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    mine: int
    grades_done: int
    grades_wanted: int

    @property
    def percent(self) -> int:
        return int(100 * self.grades_done / self.grades_wanted) if self.grades_wanted else 100


def progress(annotator) -> Progress:
    """Grades given by everyone against those wanted (regular items), and the annotator's own count."""
    return Progress(
        mine=Grade.objects.filter(annotator=annotator).count(),
        grades_done=Grade.objects.filter(item__is_gold=False).count(),
        grades_wanted=Item.objects.filter(is_gold=False).aggregate(wanted=Sum("target"))["wanted"] or 0,
    )


def own_grade(annotator, item: Item) -> Grade | None:
    return Grade.objects.filter(annotator=annotator, item=item).first()


def grade_before(annotator, item: Item | None) -> Grade | None:
    """The annotator's grade given just before the one on `item` (the latest one when `item` is new)."""
    grades = Grade.objects.filter(annotator=annotator).order_by("-created_at", "-id")
    current = own_grade(annotator, item) if item else None
    if current:
        grades = grades.filter(
            Q(created_at__lt=current.created_at) | Q(created_at=current.created_at, id__lt=current.id)
        )
    return grades.select_related("item").first()


def grade_after(annotator, item: Item) -> Grade | None:
    current = own_grade(annotator, item)
    if current is None:
        return None
    return (
        Grade.objects.filter(annotator=annotator)
        .filter(Q(created_at__gt=current.created_at) | Q(created_at=current.created_at, id__gt=current.id))
        .order_by("created_at", "id")
        .first()
    )


def history(annotator, limit: int = 200) -> QuerySet[Grade]:
    return (
        Grade.objects.filter(annotator=annotator)
        .select_related("item__problem")
        .order_by("-created_at")[:limit]
    )


# Quality control ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldAccuracy:
    annotator: str
    graded: int
    right: int
    false_correct: int
    false_incorrect: int

    @property
    def accuracy(self) -> float | None:
        return self.right / self.graded if self.graded else None


def gold_accuracy() -> list[GoldAccuracy]:
    """Each annotator's record on the hidden gold items, worst first."""
    rows = (
        Grade.objects.filter(item__is_gold=True)
        .values(name=F("annotator__username"))
        .annotate(
            graded=Count("id"),
            right=Count("id", filter=Q(label=F("item__gold_label"))),
            false_correct=Count("id", filter=Q(label=Label.CORRECT, item__gold_label=Label.INCORRECT)),
            false_incorrect=Count("id", filter=Q(label=Label.INCORRECT, item__gold_label=Label.CORRECT)),
        )
    )
    table = [
        GoldAccuracy(r["name"], r["graded"], r["right"], r["false_correct"], r["false_incorrect"])
        for r in rows
    ]
    return sorted(table, key=lambda r: (r.accuracy if r.accuracy is not None else 1.0, r.annotator))


def vote_counts(items: QuerySet[Item]) -> list[tuple[int, int]]:
    """(correct, incorrect) grades per item with at least two grades."""
    rows = (
        items.annotate(
            n_correct=Count("grades", filter=Q(grades__label=Label.CORRECT)),
            n_incorrect=Count("grades", filter=Q(grades__label=Label.INCORRECT)),
        )
        .filter(grade_count__gte=2)
        .values_list("n_correct", "n_incorrect")
    )
    return [(c, i) for c, i in rows if c + i >= 2]


def run_agreement(run: Run | None = None) -> Agreement:
    """Agreement on the multiply-graded regular items, of one run or of all."""
    items = Item.objects.filter(is_gold=False)
    if run is not None:
        items = items.filter(run=run)
    return agreement(vote_counts(items))


@dataclass
class Dispute:
    item: Item
    correct: int
    incorrect: int
    others_correct: int

    @property
    def pivotal(self) -> bool:
        """No other sample of the problem is correct: this label decides whether the problem has one."""
        return self.others_correct == 0

    @property
    def margin(self) -> float:
        return abs(self.correct - self.incorrect) / (self.correct + self.incorrect)


def open_to_adjudicate(reviewer) -> QuerySet[Item]:
    """Items a reviewer may see with their grades and decide: disputed, and not graded by them.

    Every other item could still be handed to them to grade, or was: its grades stay hidden."""
    return Item.objects.filter(is_gold=False, label_status__in=DISPUTED).exclude(grades__annotator=reviewer)


def adjudication_queue(reviewer) -> list[Dispute]:
    """Complete, non-unanimous items for a reviewer: pivotal first, then ties, then the narrowest vote."""
    disputed = list(
        open_to_adjudicate(reviewer)
        .filter(label_status__in=[Item.Status.MAJORITY, Item.Status.UNRESOLVED])
        .select_related("problem", "run")
        .annotate(
            n_correct=Count("grades", filter=Q(grades__label=Label.CORRECT)),
            n_incorrect=Count("grades", filter=Q(grades__label=Label.INCORRECT)),
        )
    )
    keys = {(i.run_id, i.problem_id) for i in disputed}
    correct_per_problem: dict[tuple[int | None, int], list[int]] = defaultdict(list)
    rows = Item.objects.filter(is_gold=False, label=Label.CORRECT, problem_id__in={k[1] for k in keys})
    for item_id, run_id, problem_id in rows.values_list("id", "run_id", "problem_id"):
        correct_per_problem[run_id, problem_id].append(item_id)
    queue = [
        Dispute(
            item,
            item.n_correct,
            item.n_incorrect,
            len([i for i in correct_per_problem[item.run_id, item.problem_id] if i != item.id]),
        )
        for item in disputed
    ]
    queue.sort(
        key=lambda d: (
            not d.pivotal,
            d.item.label_status != Item.Status.UNRESOLVED,
            d.margin,
            d.item.id,
        )
    )
    return queue


# Table 3 -----------------------------------------------------------------------------------------


@dataclass
class TableRow:
    run: Run
    items: int
    labelled: int
    graded_items: int
    unresolved: int
    figures: dict[str, Result] = field(default_factory=dict)
    code_figures: dict[str, Result] = field(default_factory=dict)
    code_run: Run | None = None
    agreement: Agreement | None = None
    back_translation: BackTranslationSummary | None = None

    @property
    def provisional(self) -> bool:
        """Some of its docstrings are not settled yet: its figures may still move, it is not ranked."""
        return self.labelled < self.items

    @property
    def pass_1(self) -> Result | None:
        return self.figures.get("pass@1")

    @property
    def pass_10(self) -> Result | None:
        return self.figures.get("pass@10")

    @property
    def code_pass_1(self) -> Result | None:
        return self.code_figures.get("pass@1")

    @property
    def code_pass_10(self) -> Result | None:
        return self.code_figures.get("pass@10")


def docstring_table() -> list[TableRow]:
    """Table 3: each docstring run's pass@k from the grades beside code generation at the same temperature.

    A run with unsettled docstrings is provisional: listed after the complete ones, marked, unranked."""
    runs = list(
        Run.objects.filter(benchmark__name=docstrings.NAME)
        .select_related("model")
        .annotate(
            n_items=Count("docstring_items", distinct=True),
            n_labelled=Count("docstring_items", filter=~Q(docstring_items__label=""), distinct=True),
            n_graded=Count("docstring_items", filter=Q(docstring_items__grade_count__gt=0), distinct=True),
            n_unresolved=Count(
                "docstring_items",
                filter=Q(docstring_items__label_status=Item.Status.UNRESOLVED),
                distinct=True,
            ),
        )
        .order_by("model__name", "-created_at")
    )
    results = defaultdict(dict)
    for result in Result.objects.filter(run__in=runs, subset="all", variant="raw"):
        results[result.run_id][result.metric] = result
    code = _code_generation_results(runs)
    rows = []
    for run in runs:
        code_run, code_figures = code.get((run.model_id, run.temperature), (None, {}))
        rows.append(
            TableRow(
                run=run,
                items=run.n_items,
                labelled=run.n_labelled,
                graded_items=run.n_graded,
                unresolved=run.n_unresolved,
                figures=results[run.id],
                code_figures=code_figures,
                code_run=code_run,
                agreement=run_agreement(run),
                back_translation=back_translation_summary(run),
            )
        )
    # Complete tables ranked by pass@1; provisional ones after them, apart.
    rows.sort(key=lambda row: (row.provisional, -(row.pass_1.value if row.pass_1 else -1.0)))
    return rows


def _code_generation_results(
    runs: list[Run],
) -> dict[tuple[int, float | None], tuple[Run, dict[str, Result]]]:
    """The newest finished HumanEval run of each (model, temperature) that has a docstring run."""
    wanted = {(r.model_id, r.temperature) for r in runs}
    found: dict[tuple[int, float | None], tuple[Run, dict[str, Result]]] = {}
    code_runs = (
        Run.objects.filter(
            benchmark__name=humaneval.NAME,
            model_id__in={m for m, _ in wanted},
            status=Run.Status.FINISHED,
        )
        .order_by("-finished_at", "-id")
        .prefetch_related("results")
    )
    for run in code_runs:
        key = (run.model_id, run.temperature)
        if key in wanted and key not in found:
            found[key] = (
                run,
                {r.metric: r for r in run.results.all() if r.subset == "all" and r.variant == "raw"},
            )
    return found


# Back-translation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackTranslationSummary:
    checked: int
    passed: int
    compared: int
    agreeing: int

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.checked if self.checked else None

    @property
    def agreement(self) -> float | None:
        """Share of labelled items where the tests' verdict matches the human label."""
        return self.agreeing / self.compared if self.compared else None


def back_translation_summary(run: Run) -> BackTranslationSummary | None:
    checks = list(BackTranslation.objects.filter(item__run=run).values_list("passed", "item__label"))
    if not checks:
        return None
    compared = [(passed, label) for passed, label in checks if label]
    return BackTranslationSummary(
        checked=len(checks),
        passed=sum(passed for passed, _ in checks),
        compared=len(compared),
        agreeing=sum(passed == (label == Label.CORRECT) for passed, label in compared),
    )


# Export ------------------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "grade_id",
    "item_id",
    "task_id",
    "model",
    "run_id",
    "sample_index",
    "gold",
    "gold_label",
    "grader",
    "label",
    "reasons",
    "note",
    "time_spent",
    "revisions",
    "created_at",
    "updated_at",
    "final_label",
    "final_status",
)


def export_rows() -> list[dict]:
    """Every raw grade with what it was given on (for staff: not blind)."""
    grades = Grade.objects.select_related("item__problem", "item__run__model", "annotator").order_by("id")
    return [
        {
            "grade_id": g.id,
            "item_id": g.item_id,
            "task_id": g.item.problem.task_id,
            "model": g.item.run.model.name if g.item.run else "",
            "run_id": g.item.run_id,
            "sample_index": g.item.index,
            "gold": g.item.is_gold,
            "gold_label": g.item.gold_label,
            "grader": g.annotator.get_username(),
            "label": g.label,
            "reasons": list(g.reasons),
            "note": g.note,
            "time_spent": round(g.time_spent, 3),
            "revisions": g.revisions,
            "created_at": g.created_at.isoformat(),
            "updated_at": g.updated_at.isoformat(),
            "final_label": g.item.label,
            "final_status": g.item.label_status,
        }
        for g in grades
    ]
