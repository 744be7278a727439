"""Writes: load benchmarks, import samples into runs, record verdicts, compute results."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from evaluation import benchmarks as core
from evaluation.execution import SampleResult, benchmark_module, evaluate
from evaluation.metrics import DEFAULT_KS, bootstrap_interval, mean_pass_at_k
from evaluation.models import Benchmark, CodeModel, Problem, Result, Run, Sample
from evaluation.samples import SampleRecord, parse_samples


@transaction.atomic
def load_benchmark(benchmark: core.Benchmark) -> tuple[Benchmark, bool]:
    """Store a benchmark version once: the same content is found again, a changed one is new."""
    row, created = Benchmark.objects.get_or_create(name=benchmark.name, content_hash=benchmark.content_hash)
    if created:
        Problem.objects.bulk_create(
            Problem(
                benchmark=row,
                position=position,
                task_id=p.task_id,
                prompt=p.prompt,
                test=p.test,
                entry_point=p.entry_point,
                canonical_solution=p.canonical_solution,
                metadata=p.metadata,
            )
            for position, p in enumerate(benchmark.problems)
        )
    return row, created


def core_benchmark(row: Benchmark) -> core.Benchmark:
    """The stored version as the core's plain data, checked against its hash."""
    problems = tuple(core_problem(p) for p in row.problems.order_by("position"))
    return core.Benchmark(name=row.name, content_hash=row.content_hash, problems=problems)


def environment() -> dict:
    """Software and hardware a run's verdicts came from."""
    import django

    return {
        "python": sys.version.split()[0],
        "django": django.get_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }


@transaction.atomic
def get_or_create_model(name: str, **fields) -> CodeModel:
    model, _ = CodeModel.objects.get_or_create(name=name, defaults=fields)
    return model


@transaction.atomic
def create_run_from_records(
    model: CodeModel,
    benchmark: Benchmark,
    records: list[SampleRecord],
    **settings_: object,
) -> Run:
    """A run holding the given samples, all pending execution; nothing is written if any fails."""
    problems = {p.task_id: p for p in benchmark.problems.all()}
    per_problem: dict[str, int] = {}
    for record in records:
        per_problem[record.task_id] = per_problem.get(record.task_id, 0) + 1
    run = Run.objects.create(
        model=model,
        benchmark=benchmark,
        n=max(per_problem.values()),
        samples_total=len(records),
        status=Run.Status.EXECUTING,
        timeout=settings_.pop("timeout", settings.EXECUTION_TIMEOUT),
        environment=environment(),
        **settings_,
    )
    Sample.objects.bulk_create(
        (
            Sample(
                run=run,
                problem=problems[r.task_id],
                index=r.index,
                completion=r.completion,
                mean_logprob=r.mean_logprob,
                sum_logprob=r.sum_logprob,
            )
            for r in records
        ),
        batch_size=1000,
    )
    return run


@transaction.atomic
def import_samples(
    model_name: str,
    benchmark: Benchmark,
    data: bytes,
    *,
    model_fields: dict | None = None,
    truncate: bool = False,
    allow_missing: bool = False,
    **settings_: object,
) -> Run:
    """Parse a sample file and store it as a new run of the named model, or raise and write nothing."""
    stops = core.CODEX_STOP_SEQUENCES if truncate else None
    records = parse_samples(
        data,
        core_benchmark(benchmark),
        stop_sequences=stops,
        allow_missing=allow_missing,
    )
    model = get_or_create_model(model_name, **(model_fields or {}))
    settings_.setdefault("stop_sequences", list(stops or []))
    return create_run_from_records(model, benchmark, records, **settings_)


def reference_run(benchmark: Benchmark) -> Run:
    """The canonical solutions as a run of their own: the board's sanity row."""
    model = get_or_create_model(
        "Canonical solutions",
        family="reference",
        source=CodeModel.Source.REFERENCE,
        open_weights=True,
    )
    records = [
        SampleRecord(p.task_id, 0, p.canonical_solution)
        for p in benchmark.problems.all()
        if p.canonical_solution
    ]
    return create_run_from_records(model, benchmark, records, note="reference solutions")


def pending_batches(run: Run, size: int | None = None) -> list[list[int]]:
    """Ids of samples still without a verdict, in batches for the execution queue."""
    size = size or settings.EXECUTION_BATCH_SIZE
    ids = list(
        run.samples.filter(verdict="").order_by("problem__position", "index").values_list("id", flat=True)
    )
    return [ids[start : start + size] for start in range(0, len(ids), size)]


def record_results(run_id: int, results: Iterable[tuple[int, SampleResult]]) -> int:
    """Store verdicts of (sample id, result); a verdict already stored is kept, so re-delivery is harmless."""
    written = 0
    with transaction.atomic():
        for sample_id, result in results:
            judgement = result.judgement
            if judgement.verdict is None:
                continue
            written += Sample.objects.filter(id=sample_id, verdict="").update(
                verdict=judgement.verdict,
                status=judgement.status,
                detail=judgement.detail,
                run_time=judgement.run_time,
                tests=judgement.tests,
                extra=judgement.extra,
                execution=result.execution,
            )
        if written:
            Run.objects.filter(id=run_id).update(samples_executed=F("samples_executed") + written)
    return written


def finish_if_complete(run_id: int) -> bool:
    """When every sample has its verdict, compute and store the run's results, once."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(id=run_id)
        if (
            run.status in (Run.Status.FINISHED, Run.Status.CANCELLED, Run.Status.FAILED)
            or run.samples.count() < run.samples_total
            or run.samples.filter(verdict="").exists()
        ):
            return False
        compute_results(run)
        run.samples_executed = run.samples.exclude(verdict="").count()
        run.status = Run.Status.FINISHED
        run.finished_at = timezone.now()
        run.save(update_fields=["samples_executed", "status", "finished_at"])
    return True


APPS_VARIANTS = {
    "raw": "raw",
    "filtered": "filtered",
    "raw_with_timeouts": "raw+timeouts",
    "filtered_with_timeouts": "filtered+timeouts",
}


def compute_results(run: Run, ks: tuple[int, ...] = DEFAULT_KS) -> None:
    """pass@k for each k within the smallest n, with a 95% bootstrap interval over problems."""
    if run.benchmark.name == "apps":
        compute_apps_results(run)
        return
    per_task = [
        (row["n"], row["c"])
        for row in run.samples.exclude(verdict="")
        .values("problem")
        .annotate(n=Count("id"), c=Count("id", filter=Q(verdict=Sample.Verdict.PASSED)))
    ]
    run.results.all().delete()
    if not per_task:
        return
    smallest_n = min(n for n, _ in per_task)
    for k in ks:
        if k > smallest_n:
            continue
        low, high = bootstrap_interval(per_task, k)
        Result.objects.create(
            run=run,
            metric=f"pass@{k}",
            value=mean_pass_at_k(per_task, k),
            ci_low=low,
            ci_high=high,
        )
    store_ranking(run)


def compute_apps_results(run: Run) -> None:
    """Table 2's figures: raw and filtered pass@k per difficulty, each also counting timeouts."""
    from evaluation.benchmarks import apps

    rows = [
        {"task_id": task_id, "verdict": verdict, **extra}
        for task_id, verdict, extra in run.samples.exclude(verdict="").values_list(
            "problem__task_id", "verdict", "extra"
        )
    ]
    run.results.all().delete()
    figures = apps.summarize(rows)["figures"]
    Result.objects.bulk_create(
        Result(
            run=run,
            metric=metric,
            subset="all" if group == "overall" else group,
            variant=APPS_VARIANTS[variant],
            value=value,
        )
        for group, values in figures.items()
        for variant in APPS_VARIANTS
        for metric, value in values[variant].items()
    )


def store_ranking(run: Run) -> None:
    """Figure 7's curves for a run whose samples carry log-probabilities (generated, not imported)."""
    from evaluation.generation.ranking import ScoredSample, ranking_curves

    per_problem: dict[int, list[ScoredSample]] = {}
    rows = run.samples.exclude(verdict="").filter(mean_logprob__isnull=False, sum_logprob__isnull=False)
    for problem_id, verdict, mean, total in rows.values_list(
        "problem_id", "verdict", "mean_logprob", "sum_logprob"
    ):
        per_problem.setdefault(problem_id, []).append(
            ScoredSample(verdict == Sample.Verdict.PASSED, mean, total)
        )
    if not per_problem or len(per_problem) < run.benchmark.problems.count():
        return
    Result.objects.bulk_create(
        Result(
            run=run, metric=f"k={point.k}", variant=f"ranking:{heuristic}", value=getattr(point, heuristic)
        )
        for point in ranking_curves(list(per_problem.values()))
        for heuristic in ("random", "mean_logprob", "sum_logprob", "oracle")
    )


def execute_samples(run_id: int, sample_ids: list[int], sandbox: object, flush_every: int = 25) -> int:
    """Execute the given samples still without a verdict, storing verdicts as they arrive."""
    run = Run.objects.select_related("benchmark").get(id=run_id)
    if run.status == Run.Status.CANCELLED:
        return 0
    samples = list(
        Sample.objects.filter(id__in=sample_ids, run_id=run_id, verdict="").select_related("problem")
    )
    if not samples:
        finish_if_complete(run_id)
        return 0
    problems = {s.problem.task_id: core_problem(s.problem) for s in samples}
    ids = {(s.problem.task_id, s.index): s.id for s in samples}
    module = benchmark_module(run.benchmark.name)
    pending: list[tuple[int, SampleResult]] = []
    written = 0
    work = [(s.problem.task_id, s.index, s.completion) for s in samples]
    for result in evaluate(module, problems, work, sandbox, run.timeout, run.prompt_template or None):
        pending.append((ids[result.task_id, result.sample], result))
        if len(pending) >= flush_every:
            written += record_results(run_id, pending)
            pending = []
    written += record_results(run_id, pending)
    finish_if_complete(run_id)
    return written


def start_execution(run: Run) -> int:
    """Queue every pending sample of a run on the execution queue, once the run is committed."""
    from evaluation.tasks import execute_batch

    batches = pending_batches(run)
    for batch in batches:
        transaction.on_commit(lambda batch=batch: execute_batch.delay(run.id, batch))
    if not batches:
        transaction.on_commit(lambda: finish_if_complete(run.id))
    return len(batches)


@transaction.atomic
def create_generation_run(
    model: CodeModel,
    benchmark: Benchmark,
    *,
    temperature: float,
    n: int,
    top_p: float = 0.95,
    max_new_tokens: int = 300,
    stop_sequences: list[str] | None = None,
    prompt_template: str = "",
    seed: int = 0,
    precision: str = "auto",
) -> Run:
    """A run whose samples the generation workers will write: n per problem, pending."""
    return Run.objects.create(
        model=model,
        benchmark=benchmark,
        temperature=temperature,
        top_p=top_p,
        n=n,
        max_new_tokens=max_new_tokens,
        stop_sequences=list(
            getattr(benchmark_module(benchmark.name), "STOP_SEQUENCES", core.CODEX_STOP_SEQUENCES)
            if stop_sequences is None
            else stop_sequences
        ),
        prompt_template=prompt_template,
        seed=seed,
        precision=precision,
        samples_total=n * benchmark.problems.count(),
        timeout=settings.EXECUTION_TIMEOUT,
        status=Run.Status.PENDING,
    )


def generation_chunks(run: Run, chunk_size: int | None = None) -> list[tuple[int, list[int]]]:
    """(problem id, sample indices) still missing from the run, at most chunk_size indices each."""
    chunk_size = chunk_size or settings.GENERATION_CHUNK_SIZE
    done: dict[int, set[int]] = {}
    for problem_id, index in run.samples.values_list("problem_id", "index"):
        done.setdefault(problem_id, set()).add(index)
    chunks = []
    for problem_id in run.benchmark.problems.order_by("position").values_list("id", flat=True):
        missing = [i for i in range(run.n) if i not in done.get(problem_id, set())]
        chunks += [(problem_id, missing[s : s + chunk_size]) for s in range(0, len(missing), chunk_size)]
    return chunks


def start_generation(run: Run) -> int:
    """Queue every missing (problem, sample indices) chunk of a run on the generation queue."""
    from evaluation.tasks import generate_chunk

    chunks = generation_chunks(run)
    Run.objects.filter(id=run.id).update(status=Run.Status.GENERATING)
    for problem_id, indices in chunks:
        transaction.on_commit(lambda p=problem_id, i=indices: generate_chunk.delay(run.id, p, i))
    return len(chunks)


def is_executed(run: Run) -> bool:
    """Whether the run's samples are judged by tests (HumanEval, APPS) rather than by people."""
    return getattr(benchmark_module(run.benchmark.name), "EXECUTED", True)


def backend_spec(model: CodeModel) -> str:
    """Where a worker loads the model from: a shared OpenAI-compatible endpoint, a local folder or the hub."""
    if settings.GENERATION_ENDPOINT:
        return f"openai:{settings.GENERATION_ENDPOINT}#{model.hub_id or model.local_path or model.name}"
    return model.local_path or model.hub_id


def generate_samples(run_id: int, problem_id: int, indices: list[int], backend: object) -> list[int]:
    """Sample the missing indices of one problem, store them, and hand them to the execution queue.

    Seeds come from (run, problem, index), so a retried or re-delivered chunk writes the same
    samples, and the unique (run, problem, index) constraint keeps a second copy out.
    """
    from evaluation.generation import SamplingSettings, sample_seed

    run = Run.objects.select_related("benchmark", "model").get(id=run_id)
    if run.status in (Run.Status.CANCELLED, Run.Status.FAILED, Run.Status.FINISHED):
        return []
    problem = Problem.objects.get(id=problem_id, benchmark=run.benchmark)
    existing = set(run.samples.filter(problem=problem, index__in=indices).values_list("index", flat=True))
    missing = [index for index in indices if index not in existing]
    if missing:
        sampling = SamplingSettings(
            temperature=run.temperature or 0.0,
            top_p=run.top_p or 1.0,
            max_new_tokens=run.max_new_tokens or 300,
            stop=tuple(run.stop_sequences),
        )
        module = benchmark_module(run.benchmark.name)
        prompt = module.prompt(core_problem(problem), run.prompt_template)
        seeds = [sample_seed(str(run.seed), problem.task_id, index) for index in missing]
        completions = backend.sample(prompt, sampling, seeds)
        Sample.objects.bulk_create(
            [
                Sample(
                    run=run,
                    problem=problem,
                    index=index,
                    completion=completion.text,
                    mean_logprob=completion.mean_logprob,
                    sum_logprob=completion.sum_logprob,
                )
                for index, completion in zip(missing, completions, strict=True)
            ],
            ignore_conflicts=True,
        )
    Run.objects.filter(id=run_id, status=Run.Status.PENDING).update(status=Run.Status.GENERATING)
    new_ids = list(
        run.samples.filter(problem=problem, index__in=indices, verdict="").values_list("id", flat=True)
    )
    if run.samples.count() >= run.samples_total:
        Run.objects.filter(id=run_id, status=Run.Status.GENERATING).update(status=Run.Status.EXECUTING)
    return new_ids


def core_problem(problem: Problem) -> core.Problem:
    return core.Problem(
        problem.task_id,
        problem.prompt,
        problem.test,
        problem.entry_point,
        problem.canonical_solution,
        problem.metadata,
    )


def record_task_failure(run_id: int, reason: str) -> None:
    """Keep why a task of a run gave up, for the status page; the run keeps its state for the sweep."""
    Run.objects.filter(id=run_id).update(error=reason[:5000])


def requeue_stuck_runs(observed: Iterable[Iterable[int]]) -> dict[int, int]:
    """Send again the missing work of runs whose (samples, verdicts) are still as `observed` earlier.

    Messages can be lost: a broker restarted without persistence, a publish that failed while it
    was down, a task that gave up. A run is stuck when it has made no progress since it was
    observed and the queues its work goes to are empty; while they hold messages its own may
    still be among them, waiting their turn. Safe beside live workers: every task is idempotent
    (chunks are seeded and unique per index, a verdict is written only where none is stored), so
    a message sent twice costs time, never a second sample or verdict.
    Returns {run id: messages sent} for the runs whose work was sent again.
    """
    from evaluation.operations import active_run_progress, queue_lengths
    from evaluation.tasks import execute_batch, generate_chunk

    now = {run_id: (generated, executed) for run_id, generated, executed in active_run_progress()}
    stuck = [run_id for run_id, generated, executed in observed if now.get(run_id) == (generated, executed)]
    if not stuck:
        return {}
    waiting = queue_lengths()
    sent: dict[int, int] = {}
    for run in Run.objects.filter(id__in=stuck).select_related("benchmark"):
        by_tests = is_executed(run)  # docstring runs wait for people once generated, not for a queue
        chunks = generation_chunks(run) if now[run.id][0] < run.samples_total else []
        queues = [queue for queue, used in (("generation", chunks), ("execution", by_tests)) if used]
        if any(waiting[queue] != 0 for queue in queues):  # None: the broker did not answer
            continue
        batches = pending_batches(run) if by_tests else []
        for problem_id, indices in chunks:
            generate_chunk.delay(run.id, problem_id, indices)
        for batch in batches:
            execute_batch.delay(run.id, batch)
        if by_tests and not chunks and not batches:
            finish_if_complete(run.id)
        if chunks or batches:
            sent[run.id] = len(chunks) + len(batches)
    return sent
