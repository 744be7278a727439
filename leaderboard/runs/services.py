"""Writes: load benchmarks, import samples into runs, record verdicts, compute results."""

from __future__ import annotations

import logging
import platform
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from evaluation import benchmarks as core
from evaluation import receipt
from evaluation.benchmarks import registry
from evaluation.benchmarks.contract import Contract, JudgedSample, Judging, SampleResult
from evaluation.generation.backends import OPENAI_PREFIX
from evaluation.outcomes import classify
from evaluation.samples import SampleRecord, parse_samples
from leaderboard.runs.models import Benchmark, CodeModel, Problem, PublicVersion, Result, Run, Sample

log = logging.getLogger(__name__)


def benchmark_of(run: Run) -> Contract:
    """The registered benchmark a run's stored benchmark version belongs to."""
    return registry.get(run.benchmark.name)


@transaction.atomic
def load_benchmark(benchmark: core.Benchmark, *, split: str = "", source: str = "") -> tuple[Benchmark, bool]:
    """Store a benchmark version once: the same content is found again, a changed one is new.

    `split` and `source` label a new version (e.g. APPS train problems from a paper's repository)."""
    row, created = Benchmark.objects.get_or_create(
        name=benchmark.name,
        content_hash=benchmark.content_hash,
        defaults={"split": split, "source": source},
    )
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
        PublicVersion.bump()  # the board shows a loaded benchmark's columns
    return row, created


def core_benchmark(row: Benchmark) -> core.Benchmark:
    """The stored version as the core's plain data, checked against its hash."""
    problems = tuple(core_problem(p) for p in row.problems.order_by("position"))
    return core.Benchmark(name=row.name, content_hash=row.content_hash, problems=problems)


def environment() -> dict:
    """Software and hardware of the process that made a run (an import: the site's own)."""
    return {**receipt.environment(), "machine": platform.machine()}


def note_environment(run_id: int, stage: str, facts: dict) -> None:
    """Record once where a stage of a run (generation, execution) happened: the first worker tells."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(id=run_id)
        if stage not in run.environment:
            run.environment = {**run.environment, stage: facts}
            run.save(update_fields=["environment"])


@transaction.atomic
def get_or_create_model(name: str, **fields) -> CodeModel:
    model, created = CodeModel.objects.get_or_create(name=name, defaults=fields)
    if created:
        PublicVersion.bump()
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
    PublicVersion.bump()
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
                outcome=classify(judgement.verdict, judgement.status, judgement.detail),
                run_time=judgement.run_time,
                tests=judgement.tests,
                extra=judgement.extra,
                execution=result.execution,
            )
        if written:
            Run.objects.filter(id=run_id).update(samples_executed=F("samples_executed") + written)
    return written


def update_results(run_id: int) -> bool:
    """Store the run's figures from its judged samples; returns True when this call finished the run.

    An executed run publishes once, when its last verdict lands. A graded run publishes as its
    grades settle (a provisional table, marked as such by its coverage) and finishes with its last
    settled item; a later adjudication publishes again."""
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("benchmark").get(id=run_id)
        graded = not run.executed
        if run.status in (Run.Status.CANCELLED, Run.Status.FAILED) or (
            run.status == Run.Status.FINISHED and not graded
        ):
            return False
        stored = run.samples.count()
        judged = run.samples.exclude(verdict="").count()
        complete = stored >= run.samples_total and judged == stored
        if not (complete or graded):
            return False
        compute_results(run)
        run.samples_executed = judged
        run.problems_total = run.benchmark.problems.count()
        run.problems_covered = run.samples.exclude(verdict="").values("problem").distinct().count()
        finished_now = complete and run.status != Run.Status.FINISHED
        if finished_now:
            run.status = Run.Status.FINISHED
            run.finished_at = timezone.now()
        run.complete = complete and run.problems_covered == run.problems_total
        run.save(
            update_fields=[
                "samples_executed",
                "problems_covered",
                "problems_total",
                "complete",
                "status",
                "finished_at",
            ]
        )
        PublicVersion.bump()
    return finished_now


def compute_results(run: Run) -> None:
    """Replace the run's stored figures by those its benchmark computes from the judged samples."""
    samples = [
        JudgedSample(*row)
        for row in run.samples.exclude(verdict="").values_list(
            "problem__task_id", "verdict", "extra", "mean_logprob", "sum_logprob", "back_translation"
        )
    ]
    run.results.all().delete()
    if not samples:
        return
    Result.objects.bulk_create(
        Result(
            run=run,
            metric=figure.metric,
            subset=figure.subset,
            variant=figure.variant,
            value=figure.value,
            ci_low=figure.ci_low,
            ci_high=figure.ci_high,
        )
        for figure in benchmark_of(run).figures(samples)
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
        update_results(run_id)
        return 0
    ids = {(s.problem.task_id, s.index): s.id for s in samples}
    pending: list[tuple[int, SampleResult]] = []
    written = 0
    for result in judge_samples(run, samples, sandbox):
        if not written and not pending and "execution" not in run.environment:
            note_environment(run_id, "execution", {"sandbox": result.execution, **receipt.environment()})
        pending.append((ids[result.task_id, result.sample], result))
        if len(pending) >= flush_every:
            written += record_results(run_id, pending)
            pending = []
    written += record_results(run_id, pending)
    update_results(run_id)
    return written


def judge_samples(run: Run, samples: list[Sample], sandbox: object) -> Iterator[SampleResult]:
    """The run's benchmark judging stored samples (their problems loaded) in the sandbox, with the
    run's timeout and template; results come as samples are decided."""
    problems = {s.problem.task_id: core_problem(s.problem) for s in samples}
    work = [(s.problem.task_id, s.index, s.completion) for s in samples]
    return benchmark_of(run).evaluate(problems, work, sandbox, run.timeout, run.prompt_template or None)


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
    run = Run.objects.create(
        model=model,
        benchmark=benchmark,
        temperature=temperature,
        top_p=top_p,
        n=n,
        max_new_tokens=max_new_tokens,
        stop_sequences=list(
            registry.get(benchmark.name).STOP_SEQUENCES if stop_sequences is None else stop_sequences
        ),
        prompt_template=prompt_template,
        seed=seed,
        precision=precision,
        samples_total=n * benchmark.problems.count(),
        timeout=settings.EXECUTION_TIMEOUT,
        status=Run.Status.PENDING,
    )
    PublicVersion.bump()
    return run


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


def mark_generating(run: Run) -> None:
    Run.objects.filter(id=run.id).update(status=Run.Status.GENERATING)


def backend_spec(model: CodeModel) -> str:
    """Where a worker loads the model from: a shared OpenAI-compatible endpoint, a local folder or the hub."""
    if settings.GENERATION_ENDPOINT:
        return (
            f"{OPENAI_PREFIX}{settings.GENERATION_ENDPOINT}#{model.hub_id or model.local_path or model.name}"
        )
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
        prompt = benchmark_of(run).prompt(core_problem(problem), run.prompt_template)
        seeds = [sample_seed(str(run.seed), problem.task_id, index) for index in missing]
        completions = backend.sample(prompt, sampling, seeds)
        if "generation" not in run.environment:
            note_environment(run_id, "generation", {**backend.describe(), **receipt.environment()})
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
        judging = Run.Status.EXECUTING if run.executed else Run.Status.GRADING
        Run.objects.filter(id=run_id, status=Run.Status.GENERATING).update(status=judging)
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


def can_rank_by_back_translation(run: Run) -> bool:
    """A finished run of an executed benchmark whose problems are functions (back-translation reads
    the function a sample defines)."""
    return (
        run.status == Run.Status.FINISHED
        and run.executed
        and not run.benchmark.problems.filter(entry_point="").exists()
    )


def mark_ranked_by(run: Run, spec: str) -> list[int]:
    """Ask for a run's back-translation scores by a docstring model: earlier scores are dropped.

    Returns the ids of the problems to score."""
    if not can_rank_by_back_translation(run):
        raise ValueError("back-translation ranks the samples of a finished run whose problems are functions")
    with transaction.atomic():
        Run.objects.filter(id=run.id).update(ranked_by=spec)
        run.samples.update(back_translation=None)
    return list(run.benchmark.problems.order_by("position").values_list("id", flat=True))


def score_back_translations(run_id: int, problem_id: int, backend: object) -> int:
    """Score a problem's samples by log P(reference docstring | sample) (Figure 7, back-translation).

    A sample that does not parse cannot explain any docstring: it scores -inf and ranks last. When
    the run's last sample is scored, its figures are computed again with the new curve."""
    from evaluation.benchmarks import humaneval_docstrings as docstrings

    run = Run.objects.select_related("benchmark").get(id=run_id)
    problem = Problem.objects.get(id=problem_id, benchmark=run.benchmark)
    samples = list(run.samples.filter(problem=problem, back_translation__isnull=True).order_by("index"))
    pairs = {s.id: docstrings.scoring_pair(core_problem(problem), s.completion) for s in samples}
    scorable = [sample_id for sample_id, pair in pairs.items() if pair is not None]
    scores = dict(zip(scorable, backend.score([pairs[i] for i in scorable]), strict=True))
    with transaction.atomic():
        for sample in samples:
            Sample.objects.filter(id=sample.id).update(back_translation=scores.get(sample.id, float("-inf")))
    if not run.samples.filter(back_translation__isnull=True).exists():
        with transaction.atomic():
            compute_results(Run.objects.select_for_update().select_related("benchmark").get(id=run_id))
            PublicVersion.bump()
    return len(samples)


def derive_runs(run_id: int) -> list[Run]:
    """When an executed run has finished, the same samples as runs of every loaded benchmark that
    extends its own (HumanEval+ re-judges HumanEval's samples with far more tests); made once."""
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("benchmark", "model").get(id=run_id)
        if run.status != Run.Status.FINISHED or run.derived_from_id or run.derived.exists():
            return []
        made = []
        for module in registry.benchmarks(Judging.EXECUTED):
            if run.benchmark.name != module.EXTENDS:
                continue
            target = Benchmark.objects.filter(name=module.NAME).order_by("-loaded_at", "-id").first()
            if target is None:
                continue
            problems = set(target.problems.values_list("task_id", flat=True))
            records = [
                SampleRecord(task_id, index, completion, mean, total)
                for task_id, index, completion, mean, total in run.samples.filter(
                    problem__task_id__in=problems
                ).values_list("problem__task_id", "index", "completion", "mean_logprob", "sum_logprob")
            ]
            if not records:
                continue
            made.append(
                create_run_from_records(
                    run.model,
                    target,
                    records,
                    derived_from=run,
                    temperature=run.temperature,
                    top_p=run.top_p,
                    max_new_tokens=run.max_new_tokens,
                    stop_sequences=run.stop_sequences,
                    prompt_template=run.prompt_template,
                    precision=run.precision,
                    seed=run.seed,
                    timeout=run.timeout,
                    note=f"{module.TITLE}: the samples of run {run.id} judged again",
                )
            )
        return made


def recheck(run_id: int, *, share: float, sandbox: object, seed: int = 0) -> dict:
    """Judge a random share of a finished run's samples again and record how many verdicts agree.

    The run's stored verdicts are not touched: the agreement is the run's flakiness, shown on its
    receipt. The share is drawn by `seed`, so a recheck can be repeated exactly."""
    import random

    run = Run.objects.select_related("benchmark").get(id=run_id)
    if run.status != Run.Status.FINISHED or not run.executed:
        raise ValueError("only a finished run of an executed benchmark can be checked again")
    if not 0 < share <= 1:
        raise ValueError("the share is above 0 and at most 1")
    judged = list(run.samples.exclude(verdict="").select_related("problem").order_by("id"))
    chosen = random.Random(seed).sample(judged, max(1, round(share * len(judged))))
    stored = {(s.problem.task_id, s.index): s.verdict for s in chosen}
    checked = [r for r in judge_samples(run, chosen, sandbox) if r.judgement.verdict is not None]
    facts = {
        "share": share,
        "seed": seed,
        "checked": len(checked),
        "agreeing": sum(r.judgement.verdict == stored[r.task_id, r.sample] for r in checked),
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(id=run_id)
        locked.environment = {**locked.environment, "recheck": facts}
        locked.save(update_fields=["environment"])
        PublicVersion.bump()  # a finished run's receipt shows the agreement
    return facts


def record_task_failure(run_id: int, reason: str) -> None:
    """Keep why a task of a run gave up, for staff; the run keeps its state for the sweep."""
    Run.objects.filter(id=run_id).update(error=reason[:5000])


STOPPED = (Run.Status.FAILED, Run.Status.CANCELLED)


@transaction.atomic
def stop_run(run_id: int, *, status: Run.Status, reason: str) -> bool:
    """Fail or cancel a run that is not over, with a reason shown on its pages; its queued work is skipped.

    Returns False for a run already finished, failed or cancelled (nothing changes)."""
    if status not in STOPPED:
        raise ValueError(f"a run is stopped as failed or cancelled, not {status}")
    run = Run.objects.select_for_update().get(id=run_id)
    if run.status in (Run.Status.FINISHED, *STOPPED):
        return False
    run.status = status
    run.reason = reason.strip()[:500]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "reason", "finished_at"])
    PublicVersion.bump()
    return True


@transaction.atomic
def give_up_if_failing(run: Run, *, attempts: int) -> bool:
    """Count one more resend of a run whose tasks failed; after `attempts` of them, fail it instead.

    A run without a recorded failure lost its messages (a broker restart): it is always resent."""
    locked = Run.objects.select_for_update().get(id=run.id)
    if not locked.error:
        return False
    if locked.requeues < attempts:
        Run.objects.filter(id=run.id).update(requeues=F("requeues") + 1)
        return False
    return stop_run(
        run.id,
        status=Run.Status.FAILED,
        reason=f"Its tasks kept failing after {attempts} attempts; staff can see why on the status page.",
    )


@dataclass(frozen=True)
class MissingWork:
    """What a stuck run still needs sent: generation chunks, execution batches, or only its closing."""

    run: Run
    chunks: list[tuple[int, list[int]]]
    batches: list[list[int]]


def stuck_runs(
    observed: Iterable[Iterable[int]],
    now: dict[int, tuple[int, int]],
    waiting: dict[str, int | None],
) -> list[MissingWork]:
    """The runs whose (samples, verdicts) are still as `observed` earlier, and the work they miss.

    Messages can be lost: a broker restarted without persistence, a publish that failed while it
    was down, a task that gave up. A run is stuck when it has made no progress since it was
    observed and the queues its work goes to are empty; while they hold messages its own may
    still be among them, waiting their turn. `now` is each active run's progress, `waiting` each
    queue's length (None: the broker did not answer). A run whose missing work cannot be computed
    is logged and passed over, so that one broken run never stops the sweep of the others.
    """
    stuck = [run_id for run_id, generated, executed in observed if now.get(run_id) == (generated, executed)]
    found = []
    for run in Run.objects.filter(id__in=stuck).select_related("benchmark").order_by("id"):
        try:
            by_tests = run.executed  # graded runs wait for people once generated, not for a queue
            chunks = generation_chunks(run) if now[run.id][0] < run.samples_total else []
            queues = [queue for queue, used in (("generation", chunks), ("execution", by_tests)) if used]
            if any(waiting.get(queue) != 0 for queue in queues):
                continue
            batches = pending_batches(run) if by_tests else []
        except Exception:  # noqa: BLE001 - one broken run must not stop the sweep
            log.exception("the sweep could not examine run %s", run.id, extra={"run_id": run.id})
            continue
        found.append(MissingWork(run, chunks, batches))
    return found
