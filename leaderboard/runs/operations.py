"""Reads behind the staff status page and the sweep: the broker's queues, the workers that
answer, the runs in progress and the failures recorded on runs.

Every broker read is bounded by a short timeout and answers None (unknown) when the broker does
not answer, so the page still shows what the database knows while Redis is down.
"""

from __future__ import annotations

from django.db.models import Count
from kombu.exceptions import OperationalError as BrokerUnreachable

from leaderboard.runs.logs import run_id_from_repr, run_id_of
from leaderboard.runs.models import Run

QUEUES = ("generation", "execution")
IN_PROGRESS = (Run.Status.PENDING, Run.Status.GENERATING, Run.Status.EXECUTING)
# The states in which a run has work out on the queues that the sweep may have to send again.
SWEPT = (Run.Status.GENERATING, Run.Status.EXECUTING)


def _app():
    """The project's Celery app (leaderboard.celery), without importing the layer above."""
    from celery import current_app

    return current_app._get_current_object()


def queue_lengths(queues: tuple[str, ...] = QUEUES, timeout: float = 2.0, app=None) -> dict[str, int | None]:
    """Messages waiting in each queue, not counting those a worker holds; None when the broker is down."""
    connection = (app or _app()).connection_for_read(connect_timeout=timeout)
    try:
        with connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            channel = connection.default_channel
            return {queue: _waiting(connection, channel, queue) for queue in queues}
    except (OSError, BrokerUnreachable, *connection.connection_errors, *connection.channel_errors):
        return dict.fromkeys(queues)


def _waiting(connection, channel, queue: str) -> int:
    if hasattr(channel, "_size"):
        # kombu's virtual transports (Redis, the file system) count a queue directly; a passive
        # declare would miss queues under a `global_keyprefix`.
        return channel._size(queue)
    try:
        return channel.queue_declare(queue=queue, passive=True).message_count
    except connection.channel_errors:
        return 0  # a queue that is not there holds nothing


def workers(timeout: float = 1.0, app=None) -> list[dict] | None:
    """The workers that answer within the timeout: name, queues, and the tasks each is running.

    None when the broker cannot be reached (which says nothing about the workers)."""
    app = app or _app()
    connection = app.connection_for_read(connect_timeout=timeout)
    try:
        with connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
            inspect = app.control.inspect(timeout=timeout / 2, connection=connection)
            queues = inspect.active_queues() or {}
            running = inspect.active() or {}
    except (OSError, BrokerUnreachable, *connection.connection_errors, *connection.channel_errors):
        return None
    found = []
    for name in sorted(set(queues) | set(running)):
        tasks = [
            {
                "id": task.get("id", ""),
                "name": task.get("name", "").rsplit(".", 1)[-1],
                "run_id": run_id_of(task.get("args"), task.get("kwargs"))
                or run_id_from_repr(task.get("args")),
            }
            for task in running.get(name, [])
        ]
        found.append(
            {"name": name, "queues": sorted(q["name"] for q in queues.get(name, [])), "tasks": tasks}
        )
    return found


def runs_in_progress() -> list[Run]:
    """Runs not yet finished, failed or cancelled, each with `generated`: the samples it holds."""
    return list(
        Run.objects.filter(status__in=IN_PROGRESS)
        .select_related("model", "benchmark")
        .annotate(generated=Count("samples"))
        .order_by("created_at", "id")
    )


def recent_failures(limit: int = 20) -> list[Run]:
    """Runs that failed, and runs whose tasks failed on the way (the reason is in `error`)."""
    return list(
        Run.objects.exclude(error="")
        .select_related("model", "benchmark")
        .order_by("-created_at", "-id")[:limit]
    )


def active_run_progress() -> list[tuple[int, int, int]]:
    """(run id, samples generated, samples executed) of every run with work out on the queues."""
    return [
        (run.id, run.generated, run.samples_executed)
        for run in Run.objects.filter(status__in=SWEPT).annotate(generated=Count("samples")).order_by("id")
    ]


def status_overview() -> dict:
    """Everything the status page shows, read once."""
    runs = runs_in_progress()
    return {
        "queues": queue_lengths(),
        "workers": workers(),
        "runs": runs,
        "failures": recent_failures(),
        "samples_waiting": sum(max(run.samples_total - run.samples_executed, 0) for run in runs),
    }
