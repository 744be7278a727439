"""Structured logs: one JSON object per line, carrying the run, task and worker of each line.

`JsonFormatter` is the formatter of settings.LOGGING when LOG_FORMAT=json. The Celery signal
handlers below bind the id and name of the task a worker process is running, its run's id and the
worker's name to every line logged meanwhile (Celery's own "succeeded" and "failed" lines too),
so one `grep '"run_id": 12'` over all machines' logs tells a run's story. Logging only formats
and routes records: it writes nothing to the database.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

from celery import signals

_task: ContextVar[dict | None] = ContextVar("structured_log_task", default=None)
_worker: dict[str, str] = {}
_LEADING_INT = re.compile(r"^[\[(]\s*(\d+)\s*[,)\]]")
FIELDS = ("run_id", "task_id", "task", "worker", "result")


class JsonFormatter(logging.Formatter):
    """A line of JSON per record: time, level, logger, message, and the bound ids where known."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(context_of(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def context_of(record: logging.LogRecord) -> dict[str, object]:
    """Ids from, in order: the record's own extra fields, Celery's `data` extra, the task bound now."""
    context: dict[str, object] = dict(_worker)
    context.update(_task.get() or {})
    data = getattr(record, "data", None)
    if isinstance(data, dict):  # Celery's received/succeeded/failed lines, also in the parent process
        if data.get("id"):
            context["task_id"] = data["id"]
        if data.get("name"):
            context["task"] = data["name"]
        run_id = run_id_from_repr(data.get("args"))
        if run_id is not None:
            context.setdefault("run_id", run_id)
        if "return_value" in data:
            context["result"] = data["return_value"]
    for field in FIELDS:
        value = getattr(record, field, None)
        if value is not None:
            context[field] = value
    return context


def run_id_of(args, kwargs) -> int | None:
    """Every task of a run takes the run's id first (execute_batch, generate_chunk)."""
    if isinstance(kwargs, dict) and isinstance(kwargs.get("run_id"), int):
        return kwargs["run_id"]
    if isinstance(args, list | tuple) and args and type(args[0]) is int:
        return args[0]
    return None


def run_id_from_repr(args: object) -> int | None:
    """The leading run id in Celery's repr of a task's arguments, e.g. '(12, [3, 4])'."""
    if isinstance(args, list | tuple):
        return run_id_of(args, None)
    match = _LEADING_INT.match(args) if isinstance(args, str) else None
    return int(match.group(1)) if match else None


@signals.celeryd_after_setup.connect
def bind_worker(sender: str, **_: object) -> None:
    """The worker's node name (e.g. exec-1@host), on every line of the worker and its children."""
    _worker["worker"] = str(sender)


@signals.task_prerun.connect
def bind_task(task_id: str, task, args=None, kwargs=None, **_: object) -> None:
    bound = {"task_id": task_id, "task": task.name}
    run_id = run_id_of(args, kwargs)
    if run_id is not None:
        bound["run_id"] = run_id
    if getattr(task.request, "hostname", None):
        bound["worker"] = task.request.hostname
    _task.set(bound)


@signals.task_postrun.connect
def unbind_task(**_: object) -> None:
    _task.set(None)
