"""Surviving failures with real worker processes on PostgreSQL and Redis.

A worker killed with SIGKILL in the middle of a batch or a chunk, a broker restarted without
persistence, two workers on one queue: every run still ends with exactly n samples per problem
and one verdict per sample, the first one stored.

These tests run their own redis-server on a free loopback port: they restart it, and other test
sessions' workers on the shared Redis cannot take their messages. The workers get short broker
timeouts (and the sweep a short period) through the Celery configuration they start with.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from celery import Celery
from conftest import WorkerProcess, wait_for, worker_environment
from django.db import connection
from django.db.models import Count

from evaluation.benchmarks import Benchmark, content_hash, humaneval
from evaluation.samples import SampleRecord
from leaderboard.runs import services
from leaderboard.runs.models import CodeModel, Run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# A real `celery worker`, with configuration on top of the project's and JSON log lines.
BOOT = """
import json, os, sys
from celery import signals
from leaderboard.celery import app
from leaderboard.runs.logs import JsonFormatter

@signals.after_setup_logger.connect
def json_lines(logger, **_):
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())

app.conf.update(json.loads(os.environ["TEST_CELERY_CONF"]))
app.worker_main(sys.argv[1:])
"""

VISIBILITY = 12  # seconds: longer than any task here, short enough to wait for a killed worker's task


def broker_options() -> dict:
    """The project's Redis transport options, with a visibility timeout the tests can wait out."""
    from django.conf import settings

    return {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "visibility_timeout": VISIBILITY,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }


class RedisServer:
    """A redis-server of the test's own on loopback, without persistence, like the shared one."""

    def __init__(self, folder: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = self.client()
        wait_for(lambda: _answers(client), timeout=20, interval=0.05, message="redis-server to answer")

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def stop(self) -> None:
        """What `redis-cli shutdown nosave` does: everything queued is lost."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(redis.ConnectionError):
                self.client().shutdown(nosave=True)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _answers(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


class Worker(WorkerProcess):
    """conftest's worker process, started through BOOT with its own Celery configuration."""

    def __init__(self, env: dict[str, str], queues: str, log: Path, name: str, beat: bool = False):
        self.name = name
        self.beat = beat
        super().__init__(env, queues, log, name=name)

    def command(self, argv: list[str], log: Path) -> list[str]:
        if self.beat:
            argv = [*argv, "-B", "-s", str(log.with_suffix(".beat"))]
        return [sys.executable, "-c", BOOT, *argv]

    def lines(self) -> list[dict]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return found

    def tasks(self, run_id: int, outcome: str) -> dict[str, object]:
        """{task id: result} of this worker's tasks of a run that were `received` or `succeeded`."""
        return {
            line["task_id"]: line.get("result")
            for line in self.lines()
            if line.get("run_id") == run_id and f" {outcome}" in line["message"] and "task_id" in line
        }


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: `make test` needs Redis on this machine")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sender(broker):
    """A Celery app of the project's configuration that publishes to the test's own broker."""
    app = Celery("resilience-tests", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    # The write and read urls, since CELERY_BROKER_URL in the environment wins over broker_url.
    app.conf.update(broker_write_url=broker.url, broker_read_url=broker.url)
    app.conf.broker_transport_options = broker_options()
    yield app
    app.close()


@pytest.fixture
def start(broker, django_db_setup, tmp_path):
    """Start workers on the test database and broker; all of them are stopped at the end."""
    workers: list[Worker] = []

    def start_worker(queues: str, slots: int = 1, beat: bool = False, conf: dict | None = None) -> Worker:
        name = f"{queues.replace(',', '-')}-{len(workers)}"
        env = worker_environment(connection.settings_dict["NAME"])
        env.update(
            CELERY_BROKER_URL=broker.url,
            EXECUTION_WORKERS=str(slots),
            TEST_CELERY_CONF=json.dumps({"broker_transport_options": broker_options(), **(conf or {})}),
        )
        worker = Worker(env, queues, tmp_path / f"{name}.log", name, beat)
        workers.append(worker)
        return worker

    yield start_worker
    for worker in workers:
        worker.stop()


def send_execution(sender: Celery, run: Run, size: int) -> int:
    """What start_execution sends, through the test's broker."""
    batches = services.pending_batches(run, size)
    for batch in batches:
        sender.send_task("leaderboard.runs.tasks.execute_batch", args=(run.id, batch))
    return len(batches)


def send_generation(sender: Celery, run: Run, chunk_size: int) -> int:
    """What start_generation sends, through the test's broker."""
    Run.objects.filter(id=run.id).update(status=Run.Status.GENERATING)
    chunks = services.generation_chunks(run, chunk_size)
    for problem_id, indices in chunks:
        sender.send_task("leaderboard.runs.tasks.generate_chunk", args=(run.id, problem_id, indices))
    return len(chunks)


def small_benchmark(count: int):
    """The first HumanEval problems as a benchmark version of their own."""
    problems = humaneval.load().problems[:count]
    return services.load_benchmark(Benchmark("humaneval", content_hash(problems), problems))[0]


SLOW = "\n\nimport time\ntime.sleep(0.3)\n"  # runs once, when the sample's module is loaded
WRONG = "    raise ValueError('wrong on purpose')\n"
LOOP = "    while True:\n        pass\n"


def mixed_run(problems: int, timeouts: int = 0) -> tuple[Run, dict[tuple[str, int], str]]:
    """A run of 4 samples per problem (right, wrong, right but slow, right or an endless loop),
    with the verdict each must get."""
    benchmark = small_benchmark(problems)
    records, expected = [], {}
    for position, problem in enumerate(benchmark.problems.order_by("position")):
        right = problem.canonical_solution
        last = (LOOP, "timeout") if position < timeouts else (right, "passed")
        for index, (completion, verdict) in enumerate(
            [(right, "passed"), (WRONG, "failed"), (right + SLOW, "passed"), last]
        ):
            records.append(SampleRecord(problem.task_id, index, completion))
            expected[problem.task_id, index] = verdict
    model = services.get_or_create_model("resilience", source=CodeModel.Source.IMPORTED)
    return services.create_run_from_records(model, benchmark, records, timeout=2.0), expected


def finished(run: Run, timeout: float = 150) -> Run:
    wait_for(
        lambda: Run.objects.get(id=run.id).status == Run.Status.FINISHED,
        timeout=timeout,
        interval=0.2,
        message=f"run {run.id} to finish",
    )
    run.refresh_from_db()
    return run


def assert_complete(run: Run, n: int) -> None:
    """Exactly n samples per problem, indices 0..n-1, each with one verdict, counted once."""
    problems = run.benchmark.problems.count()
    assert run.samples.count() == run.samples_total == n * problems
    per_problem = run.samples.values("problem").annotate(count=Count("id"))
    assert sorted(row["count"] for row in per_problem) == [n] * problems
    assert sorted(set(run.samples.values_list("index", flat=True))) == list(range(n))
    assert not run.samples.filter(verdict="").exists()
    assert run.samples_executed == run.samples.exclude(verdict="").count() == run.samples_total
    assert run.results.filter(metric="pass@1").exists()


def verdicts(run: Run) -> dict[tuple[str, int], str]:
    return {(t, i): v for t, i, v in run.samples.values_list("problem__task_id", "index", "verdict")}


def stored(run: Run) -> dict[int, tuple]:
    """Each stored verdict with its run time and detail: a second execution would change them."""
    return {
        row[0]: row[1:]
        for row in run.samples.exclude(verdict="").values_list(
            "id", "verdict", "run_time", "detail", "status"
        )
    }


def test_execution_worker_killed_mid_batch_loses_and_repeats_nothing(start, sender):
    run, expected = mixed_run(problems=50, timeouts=3)
    first = start("execution", slots=2)
    assert send_execution(sender, run, size=50) == 4
    # Verdicts are stored 25 at a time: 25, 75 or 125 means the kill lands inside a half-stored batch.
    wait_for(
        lambda: Run.objects.get(id=run.id).samples_executed % 50 == 25,
        timeout=120,
        interval=0.05,
        message="a half-stored batch",
    )
    first.kill(signal.SIGKILL)
    before = stored(run)
    assert 0 < len(before) < run.samples_total
    in_flight = set(first.tasks(run.id, "received")) - set(first.tasks(run.id, "succeeded"))
    assert len(in_flight) == 1  # prefetch 1 with late acks: the batch it was running, no other

    second = start("execution", slots=2)
    run = finished(run)
    assert_complete(run, n=4)
    assert verdicts(run) == expected
    after = stored(run)
    assert {key: after[key] for key in before} == before  # the first verdict stays, nothing ran twice
    done = second.tasks(run.id, "succeeded")
    (lost,) = in_flight
    assert lost in done  # the killed worker's batch came back to the other worker after the timeout
    assert sum(map(int, done.values())) == run.samples_total - len(
        before
    )  # each missing verdict written once


def test_generation_worker_killed_mid_run_leaves_exactly_n_samples(start, sender, tiny_model_dir):
    model = CodeModel.objects.create(
        name="tiny-gpt2", source=CodeModel.Source.LOCAL, local_path=str(tiny_model_dir)
    )
    run = services.create_generation_run(model, small_benchmark(3), temperature=0.8, n=8, max_new_tokens=64)
    executor = start("execution", slots=1)
    first = start("generation")
    assert send_generation(sender, run, chunk_size=2) == 12
    wait_for(lambda: run.samples.count() >= 4, timeout=120, interval=0.05, message="some samples")
    first.kill(signal.SIGKILL)
    assert run.samples.count() < run.samples_total
    # While no generation worker runs, execution catches up with every sample the finished chunks
    # handed over. A chunk killed between storing its samples and queueing them is not among these:
    # its redelivery queues them.
    handed = sum(map(int, first.tasks(run.id, "succeeded").values()))
    wait_for(
        lambda: Run.objects.get(id=run.id).samples_executed >= handed,
        timeout=120,
        interval=0.1,
        message="the samples handed over to be executed",
    )

    start("generation")
    run = finished(run)
    assert_complete(run, n=8)
    assert executor.process.poll() is None


def test_broker_restart_mid_run_loses_no_work(start, sender, broker):
    run, expected = mixed_run(problems=30)
    conf = {
        "beat_schedule": {
            "sweep": {
                "task": "leaderboard.runs.tasks.sweep_stuck_runs",
                "schedule": 1.0,
                "kwargs": {"stuck_after": 3.0},
                "options": {"expires": 5.0},
            }
        }
    }
    worker = start("execution", slots=2, beat=True, conf=conf)
    send_execution(sender, run, size=20)
    wait_for(
        lambda: Run.objects.get(id=run.id).samples_executed >= 20, timeout=120, interval=0.1, message="work"
    )
    assert broker.client().llen("execution") > 0
    try:
        broker.stop()  # the queued batches and the unacknowledged one are gone with it
    finally:
        broker.start()
    assert Run.objects.get(id=run.id).status == Run.Status.EXECUTING
    run = finished(run)
    assert_complete(run, n=4)
    assert verdicts(run) == expected
    requeued = [
        int(line["result"])
        for line in worker.lines()
        if line.get("task") == "leaderboard.runs.tasks.requeue_if_stuck" and " succeeded" in line["message"]
    ]
    assert sum(requeued) > 0  # the sweep sent the lost batches again


def test_two_execution_workers_share_a_run_without_duplicates(start, sender):
    run, expected = mixed_run(problems=40)
    workers = [start("execution"), start("execution")]
    assert send_execution(sender, run, size=10) == 16
    run = finished(run)
    assert_complete(run, n=4)
    assert verdicts(run) == expected
    done = [worker.tasks(run.id, "succeeded") for worker in workers]
    assert all(done), "both workers executed batches of the run"
    assert not set(done[0]) & set(done[1])
    assert len(done[0]) + len(done[1]) == 16
    assert sum(int(result) for each in done for result in each.values()) == run.samples_total
