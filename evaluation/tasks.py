"""Celery tasks: thin wrappers that call services with this worker process's sandbox."""

from __future__ import annotations

import atexit

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from evaluation import services
from evaluation.models import Run
from evaluation.signals import samples_generated

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


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=8,
)
def execute_batch(run_id: int, sample_ids: list[int]) -> int:
    return services.execute_samples(run_id, sample_ids, worker_sandbox())


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=8,
)
def generate_chunk(run_id: int, problem_id: int, indices: list[int]) -> int:
    """Sample one chunk, then send what it wrote to the execution queue at once."""
    run = Run.objects.select_related("model", "benchmark").get(id=run_id)
    sample_ids = services.generate_samples(run_id, problem_id, indices, worker_backend(run))
    if sample_ids and services.is_executed(run):
        execute_batch.delay(run_id, sample_ids)
    elif sample_ids:
        samples_generated.send(sender=Run, run=run, sample_ids=sample_ids)
    return len(sample_ids)


_backends: dict[tuple[str, str], object] = {}


def worker_backend(run: Run):
    """One loaded model per worker process: a GPU worker keeps its weights between chunks."""
    from evaluation.generation import load_backend

    spec = services.backend_spec(run.model)
    key = (spec, run.model.revision, run.precision)
    if key not in _backends:
        _backends.clear()
        options = {}
        if not spec.startswith("openai:"):
            options = {"revision": run.model.revision or None, "dtype": run.precision}
        _backends[key] = load_backend(spec, **options)
    return _backends[key]


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=8,
)
def sweep_stuck_runs(stuck_after: float = 900.0) -> int:
    """Periodic (beat): note where each active run stands, and look again after `stuck_after` seconds.

    The observation travels in the delayed message, so the sweep keeps no state of its own and
    any worker may run either half."""
    from evaluation.operations import active_run_progress

    observed = active_run_progress()
    if observed:
        requeue_if_stuck.apply_async((observed,), countdown=stuck_after)
    return len(observed)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=8,
)
def requeue_if_stuck(observed: list[list[int]]) -> int:
    return sum(services.requeue_stuck_runs(observed).values())
