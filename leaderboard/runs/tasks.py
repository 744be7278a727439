"""Celery tasks, and the only code that puts messages on the queues.

Tasks are thin: each calls a service with this worker process's sandbox or model. The `start_*`
functions queue a run's work once the transaction that made it commits; the sweep sends again
the work of runs that stopped making progress.
"""

from __future__ import annotations

import atexit
import logging

from celery import shared_task, signals
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from leaderboard.runs import services
from leaderboard.runs.logs import run_id_of
from leaderboard.runs.models import Run
from leaderboard.runs.signals import samples_generated

log = logging.getLogger(__name__)
RETRIED = {
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "max_retries": 8,
}

_sandbox = None


def worker_sandbox():
    """One sandbox per worker process, started on first use: its warm parents are reused by every task."""
    global _sandbox
    if _sandbox is None:
        from evaluation.sandbox import Sandbox

        _sandbox = Sandbox(workers=settings.EXECUTION_WORKERS)
        _sandbox.__enter__()
        atexit.register(_sandbox.__exit__, None, None, None)
    return _sandbox


# Runs derived from a finished one (HumanEval+) wait behind every other run's work (Redis: 0 first).
DERIVED_PRIORITY = 9


@shared_task(**RETRIED)
def execute_batch(run_id: int, sample_ids: list[int]) -> int:
    written = services.execute_samples(run_id, sample_ids, worker_sandbox())
    start_derived_runs(run_id)
    return written


def start_derived_runs(run_id: int) -> None:
    """Once a run has finished, queue the runs made from its samples (HumanEval+), behind other work.

    Called wherever a run may finish: its last batch, the sweep, a run with nothing to execute."""
    with transaction.atomic():
        for derived in services.derive_runs(run_id):
            start_execution(derived, priority=DERIVED_PRIORITY)


def finish(run_id: int) -> None:
    """Store a run's figures from the verdicts it has and, if that finished it, start its derived runs."""
    services.update_results(run_id)
    start_derived_runs(run_id)


@shared_task(**RETRIED)
def execute_recheck(run_id: int, share: float, seed: int = 0) -> dict:
    """Judge a share of a finished run's samples again in this worker's sandbox (its flakiness)."""
    return services.recheck(run_id, share=share, sandbox=worker_sandbox(), seed=seed)


@shared_task(**RETRIED)
def generate_chunk(run_id: int, problem_id: int, indices: list[int]) -> int:
    """Sample one chunk, then send what it wrote on at once: to the execution queue, or to people."""
    run = Run.objects.select_related("model", "benchmark").get(id=run_id)
    sample_ids = services.generate_samples(run_id, problem_id, indices, worker_backend(run))
    if sample_ids and run.executed:
        execute_batch.delay(run_id, sample_ids)
    elif sample_ids:
        samples_generated.send(sender=Run, run=run, sample_ids=sample_ids)
    return len(sample_ids)


_backends: dict[tuple[str, str, str], object] = {}


def worker_backend(run: Run):
    """The run's model, loaded once per worker process."""
    return loaded_backend(services.backend_spec(run.model), run.model.revision, run.precision)


def loaded_backend(spec: str, revision: str = "", precision: str = "auto"):
    """One loaded model per worker process: a GPU worker keeps its weights between chunks."""
    from evaluation.generation.backends import OPENAI_PREFIX, load_backend

    key = (spec, revision, precision)
    if key not in _backends:
        _backends.clear()
        options = {}
        if not spec.startswith(OPENAI_PREFIX):
            options = {"revision": revision or None, "dtype": precision}
        _backends[key] = load_backend(spec, **options)
    return _backends[key]


@shared_task(**RETRIED)
def generate_back_translation_scores(run_id: int, problem_id: int) -> int:
    """Score one problem's samples with the run's docstring model (on the generation queue: it needs one)."""
    run = Run.objects.get(id=run_id)
    return services.score_back_translations(run_id, problem_id, loaded_backend(run.ranked_by))


def start_back_translation(run: Run, spec: str) -> int:
    """Queue the back-translation scoring of a finished run's samples by a docstring model."""
    problems = services.mark_ranked_by(run, spec)
    for problem_id in problems:
        transaction.on_commit(lambda p=problem_id: generate_back_translation_scores.delay(run.id, p))
    return len(problems)


def start_execution(run: Run, priority: int | None = None) -> int:
    """Queue every pending sample of a run on the execution queue, once the run is committed."""
    batches = services.pending_batches(run)
    for batch in batches:
        transaction.on_commit(
            lambda batch=batch: execute_batch.apply_async((run.id, batch), priority=priority)
        )
    if not batches:
        transaction.on_commit(lambda: finish(run.id))
    return len(batches)


def start_generation(run: Run) -> int:
    """Queue every missing (problem, sample indices) chunk of a run on the generation queue."""
    chunks = services.generation_chunks(run)
    services.mark_generating(run)
    for problem_id, indices in chunks:
        transaction.on_commit(lambda p=problem_id, i=indices: generate_chunk.delay(run.id, p, i))
    return len(chunks)


@shared_task(**RETRIED)
def sweep_stuck_runs(stuck_after: float = 900.0) -> int:
    """Periodic (beat): note where each active run stands, and look again after `stuck_after` seconds.

    The observation travels in the delayed message, so the sweep keeps no state of its own and
    any worker may run either half."""
    from leaderboard.runs.operations import active_run_progress

    observed = active_run_progress()
    if observed:
        requeue_if_stuck.apply_async((observed,), countdown=stuck_after)
    return len(observed)


@shared_task(**RETRIED)
def requeue_if_stuck(observed: list[list[int]]) -> int:
    """Send again the missing work of the runs without progress since `observed` (see services.stuck_runs).

    Safe beside live workers: every task is idempotent (chunks are seeded and unique per index, a
    verdict is written only where none is stored), so a message sent twice costs time, never a
    second sample or verdict. A run whose tasks failed and that was already sent again
    `settings.SWEEP_ATTEMPTS` times is failed with its recorded reason instead."""
    from leaderboard.runs.operations import active_run_progress, queue_lengths

    now = {run_id: (generated, executed) for run_id, generated, executed in active_run_progress()}
    sent = 0
    for work in services.stuck_runs(observed, now, queue_lengths()):
        run = work.run
        if not (work.chunks or work.batches):
            finish(run.id)
            continue
        if services.give_up_if_failing(run, attempts=settings.SWEEP_ATTEMPTS):
            continue
        for problem_id, indices in work.chunks:
            generate_chunk.delay(run.id, problem_id, indices)
        for batch in work.batches:
            execute_batch.delay(run.id, batch)
        sent += len(work.chunks) + len(work.batches)
    return sent


@signals.task_failure.connect
def note_failure(sender=None, exception: BaseException | None = None, args=None, kwargs=None, **_):
    """A task that gave up (retries spent, or an error no retry helps) leaves its reason on its run."""
    run_id = run_id_of(args, kwargs)
    if run_id is None or sender is None:
        return
    worker = getattr(sender.request, "hostname", None) or "a worker"
    reason = f"{sender.name.rsplit('.', 1)[-1]} failed on {worker}: {type(exception).__name__}: {exception}"
    try:
        services.record_task_failure(run_id, reason)
    except Exception:  # the database may be what failed; the log line below still tells
        log.exception("could not record the failure on run %s", run_id, extra={"run_id": run_id})
