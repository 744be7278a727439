"""Operations: the status page's reads, structured logs with run and task ids, and the sweep's
decisions that send nothing, against PostgreSQL and the Redis broker of the test settings.

The shared Redis may hold other sessions' messages and workers, so these tests use queue names of
their own and look for their own worker among those that answer.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket

import pytest
from celery import Celery, shared_task
from conftest import WorkerProcess, worker_environment
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.urls import path

from evaluation.benchmarks import Benchmark, content_hash, humaneval
from evaluation.samples import SampleRecord
from leaderboard.celery import app
from leaderboard.runs import operations, services
from leaderboard.runs import views as run_views
from leaderboard.runs.logs import JsonFormatter, run_id_from_repr
from leaderboard.runs.models import CodeModel, Run
from leaderboard.urls import urlpatterns as site_urlpatterns

# The site's routes plus the status page, until leaderboard/urls.py routes staff/status/ itself.
urlpatterns = [path("staff/status/", run_views.status, name="status"), *site_urlpatterns]
QUEUE = f"operations-test-{os.getpid()}"


@shared_task(name="tests.operations.probe")
def probe(run_id: int, fail: bool = False) -> int:
    logging.getLogger("leaderboard.runs.tasks").info("probing")
    if fail:
        raise ValueError("the probe failed on purpose")
    return run_id


def small_run(status: str = Run.Status.EXECUTING, **fields) -> Run:
    problems = humaneval.load().problems[:2]
    benchmark = services.load_benchmark(Benchmark("humaneval", content_hash(problems), problems))[0]
    model = services.get_or_create_model("operations", source=CodeModel.Source.IMPORTED)
    records = [SampleRecord(p.task_id, i, p.canonical_solution) for p in problems for i in range(3)]
    run = services.create_run_from_records(model, benchmark, records)
    Run.objects.filter(id=run.id).update(status=status, **fields)
    run.refresh_from_db()
    return run


@pytest.fixture
def json_lines():
    """Lines the root logger writes through JsonFormatter while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_ids_given_and_the_exception(json_lines):
    log = logging.getLogger("leaderboard.runs.tasks")
    log.info("stored %d verdicts", 25, extra={"run_id": 7})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("gave up")
    first, second = json_lines()
    assert first["message"] == "stored 25 verdicts" and first["run_id"] == 7 and first["level"] == "INFO"
    assert first["time"].endswith("+00:00")
    assert second["level"] == "ERROR" and "RuntimeError: boom" in second["exception"]


def test_celery_lines_get_task_and_run_ids_from_their_data(json_lines):
    """The received and succeeded lines Celery writes, in the worker's parent process too."""
    data = {
        "id": "abc",
        "name": "leaderboard.runs.tasks.execute_batch",
        "args": "(12, [3, 4])",
        "return_value": "2",
    }
    logging.getLogger("celery.app.trace").info("Task %(name)s[%(id)s] succeeded", data, extra={"data": data})
    (line,) = json_lines()
    assert line["message"] == "Task leaderboard.runs.tasks.execute_batch[abc] succeeded"
    assert (line["task_id"], line["task"], line["run_id"], line["result"]) == ("abc", data["name"], 12, "2")
    assert [run_id_from_repr(a) for a in ("(12, [1])", "[5]", "('x',)", None, (9, [1]))] == [
        12,
        5,
        None,
        None,
        9,
    ]


@pytest.mark.django_db
def test_a_task_binds_its_ids_to_every_line_and_a_failure_is_kept_on_its_run(json_lines):
    run = small_run()
    assert probe.apply(args=(run.id,)).get() == run.id
    lines = [line for line in json_lines() if line["message"] == "probing"]
    assert lines[0]["run_id"] == run.id and lines[0]["task"] == "tests.operations.probe"
    assert lines[0]["task_id"]
    logging.getLogger("leaderboard.runs.tasks").info("after the task")
    assert "task_id" not in json_lines()[-1]  # unbound once the task ended

    probe.apply(args=(run.id, True))
    run.refresh_from_db()
    assert run.status == Run.Status.EXECUTING  # the sweep will send its work again
    assert "probe failed on" in run.error and "ValueError: the probe failed on purpose" in run.error
    assert [r.id for r in operations.recent_failures()] == [run.id]


@pytest.mark.django_db
def test_runs_in_progress_and_the_sweeps_observation():
    executing = small_run(samples_executed=2)
    generating = small_run(status=Run.Status.GENERATING)
    small_run(status=Run.Status.FINISHED)
    failed = small_run(status=Run.Status.FAILED, error="sandbox unavailable: seccomp")
    pending = small_run(status=Run.Status.PENDING)
    runs = operations.runs_in_progress()
    assert [r.id for r in runs] == [executing.id, generating.id, pending.id]
    assert runs[0].generated == 6 and runs[0].samples_executed == 2
    assert operations.active_run_progress() == [(executing.id, 6, 2), (generating.id, 6, 0)]
    assert [r.id for r in operations.recent_failures()] == [failed.id]


@pytest.mark.django_db
def test_the_sweep_sends_nothing_for_runs_that_moved_or_wait_for_people():
    run = small_run(samples_executed=2)
    finished = small_run(status=Run.Status.FINISHED)
    now = {run.id: (6, 2)}
    idle = {"generation": 0, "execution": 0}
    assert services.stuck_runs([(run.id, 6, 1)], now, idle) == []  # a verdict arrived since: not stuck
    assert services.stuck_runs([(run.id + 1000, 6, 0)], now, idle) == []  # no such run in progress
    assert services.stuck_runs([(finished.id, 6, 0)], now, idle) == []
    assert services.stuck_runs([(run.id, 6, 2)], now, {"generation": 0, "execution": 3}) == []  # queued
    (stuck,) = services.stuck_runs([(run.id, 6, 2)], now, idle)
    assert stuck.run.id == run.id and stuck.chunks == [] and sum(map(len, stuck.batches)) == 6


def test_queue_lengths_count_waiting_messages_and_say_when_the_broker_is_down():
    with app.connection_for_write() as conn:
        for _ in range(3):
            app.send_task("tests.operations.never-consumed", queue=QUEUE, connection=conn)
        try:
            assert operations.queue_lengths((QUEUE, f"{QUEUE}-empty")) == {QUEUE: 3, f"{QUEUE}-empty": 0}
        finally:
            conn.default_channel.queue_purge(QUEUE)
    down = Celery("down", set_as_current=False)
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]  # closed again: nothing listens there
    down.conf.update(
        broker_read_url=f"redis://127.0.0.1:{port}/0", broker_write_url=f"redis://127.0.0.1:{port}/0"
    )
    assert operations.queue_lengths(app=down) == {"generation": None, "execution": None}
    assert operations.workers(app=down) is None


@pytest.fixture
def worker(django_db_setup, tmp_path):
    """A real worker on a queue of this test's own, so it takes no other session's messages."""
    process = WorkerProcess(worker_environment(connection.settings_dict["NAME"]), QUEUE, tmp_path / "w.log")
    yield process
    process.stop()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_status_page_shows_queues_workers_runs_and_failures(worker, client):
    mine = [w for w in operations.workers() or [] if w["queues"] == [QUEUE]]
    assert len(mine) == 1 and mine[0]["tasks"] == []
    run = small_run(samples_executed=4)
    small_run(status=Run.Status.FAILED, error="generate_chunk failed on gpu-1@host: OSError: no such model")
    page_url = "/staff/status/"
    with override_settings(ROOT_URLCONF=__name__):
        assert client.get(page_url).status_code == 302  # staff only: to the site's sign-in
        user = get_user_model().objects.create_user("member", password="pw-member-1")
        client.force_login(user)
        assert client.get(page_url).status_code == 403  # signed in, not staff: a clear refusal
        user.is_staff = True
        user.save()
        page = client.get(page_url).content.decode()
    assert mine[0]["name"] in page
    assert "execution" in page and "generation" in page
    assert f'id="run-{run.id}"' in page and "6 generated, 4 executed of 6" in page
    assert "OSError: no such model" in page
