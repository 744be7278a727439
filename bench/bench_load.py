"""The board under many concurrent clients while a run executes, against a trivial page, on loopback.

Loads a fresh database (SQLite in a temporary folder, or the PostgreSQL database named by
BENCH_DATABASE_URL, which it empties) with a board of `--models` models (bench_pages' loader),
imports a run of `--samples` HumanEval samples (right and wrong completions), starts the site with
the production web role (`deploy/entrypoint.sh web`: gunicorn and deploy/gunicorn.conf.py) on
127.0.0.1, and measures for `--seconds` each, with `--clients` threads on keep-alive connections:

  1. the trivial page (the run's progress.json, what a run page polls) and the board, idle, after
     a short warm-up of each;
  2. an execution worker (`deploy/entrypoint.sh execution-worker`, on a broker in the bench's
     folder) executing the run alone, without clients: verdicts per second;
  3. the trivial page and the board again while the worker executes.

It prints throughput and latency percentiles of each phase and the ratios between them: the
board against the trivial page, each page under execution against idle, and the worker's rate
under the web load against alone. Every phase is bounded in time and the whole bench stops by
itself (`--deadline`), stopping the server and the worker.

    .venv/bin/python bench/bench_load.py [--models 20] [--samples 8200] [--clients 32] [--seconds 8]
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_pages import free_port, load, percentile  # noqa: E402

ENTRYPOINT = str(ROOT / "deploy/entrypoint.sh")


def configure(folder: Path) -> dict[str, str]:
    """The bench's own database and broker, set before anything imports the settings."""
    env = {
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'bench.sqlite3'}",
        "VAR_DIR": str(folder / "var"),
        "DJANGO_SETTINGS_MODULE": "leaderboard.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),  # the production roles refuse to start without one
        "CELERY_BROKER_URL": "filesystem://",
        "PYTHON": sys.executable,
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    import django

    django.setup()
    return {**os.environ, **env}


def import_run(samples: int):
    """A run of right and wrong completions over every HumanEval problem, pending execution."""
    from evaluation.benchmarks import humaneval
    from evaluation.samples import SampleRecord
    from leaderboard.runs.models import CodeModel
    from leaderboard.runs.services import create_run_from_records, get_or_create_model, load_benchmark

    benchmark, _ = load_benchmark(humaneval.load())
    problems = list(benchmark.problems.order_by("position"))
    per_problem = max(1, samples // len(problems))
    records = [
        SampleRecord(p.task_id, i, p.canonical_solution if i % 2 == 0 else "    return None\n")
        for p in problems
        for i in range(per_problem)
    ]
    model = get_or_create_model("bench-load", source=CodeModel.Source.IMPORTED)
    return create_run_from_records(model, benchmark, records, note="bench_load")


@dataclass
class Phase:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def row(self) -> str:
        if not self.latencies:
            return f"{self.name:40} {'no answer':>8} {'':>8} {'':>8} {'':>8} {self.errors:7}"
        ms = [1000 * value for value in self.latencies]
        return (
            f"{self.name:40} {self.throughput:8.1f} {statistics.median(ms):8.1f} "
            f"{percentile(ms, 0.95):8.1f} {percentile(ms, 0.99):8.1f} {self.errors:7}"
        )


def hammer(port: int, path: str, clients: int, phase: Phase) -> Phase:
    """`clients` threads, each on its own keep-alive connection, GET `path` until the phase ends."""
    lock = threading.Lock()
    end = time.monotonic() + phase.seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < end:
            start = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Host": "127.0.0.1"})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            elapsed = time.perf_counter() - start
            with lock:
                if ok:
                    phase.latencies.append(elapsed)
                else:
                    phase.errors += 1
        connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(phase.seconds + 60)
    return phase


def start(role: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [ENTRYPOINT, role],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.2)


def answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20, help="models on the board (3 runs each)")
    parser.add_argument("--samples", type=int, default=8200, help="samples of the run that executes")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--web-workers", type=int, default=0, help="gunicorn processes (0: the config's)")
    parser.add_argument("--slots", type=int, default=1, help="sandbox slots of the execution worker")
    parser.add_argument(
        "--deadline", type=float, default=600.0, help="stop everything after this many seconds"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    timer = threading.Timer(args.deadline, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"bench_load: stopped after {args.deadline:.0f} s"))
    web = worker = None
    try:
        env = configure(folder)
        from leaderboard.runs.models import Run
        from leaderboard.runs.tasks import start_execution

        started = time.perf_counter()
        load(args.models)
        run = import_run(args.samples)
        print(
            f"loaded {args.models} models and a run of {run.samples_total} samples "
            f"in {time.perf_counter() - started:.0f} s ({env['DATABASE_URL'].split(':')[0]})"
        )
        port = free_port()
        web_env = {**env, "BIND": f"127.0.0.1:{port}", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"}
        if args.web_workers:
            web_env["WEB_CONCURRENCY"] = str(args.web_workers)
        web = start("web", web_env, folder / "web.log")
        trivial, board = f"/runs/{run.id}/progress.json", "/"
        wait_until(lambda: answers(port, trivial) and answers(port, board), 90, "the web process")

        for path in (trivial, board):  # every gunicorn process imports, connects and compiles first
            hammer(port, path, args.clients, Phase("warm-up", 2.0))
        phases = [
            hammer(port, trivial, args.clients, Phase("trivial page, idle", args.seconds)),
            hammer(port, board, args.clients, Phase("board, idle", args.seconds)),
        ]
        start_execution(run)
        worker_env = {**env, "EXECUTION_WORKERS": str(args.slots), "LOG_LEVEL": "WARNING"}
        worker = start("execution-worker", worker_env, folder / "worker.log")

        def executed() -> int:
            return Run.objects.values_list("samples_executed", flat=True).get(id=run.id)

        wait_until(lambda: executed() > 0, 120, "the worker's first verdicts")
        before, t0 = executed(), time.monotonic()
        time.sleep(args.seconds)
        alone = (executed() - before) / (time.monotonic() - t0)
        before, t0 = executed(), time.monotonic()
        phases += [
            hammer(port, trivial, args.clients, Phase("trivial page, while a run executes", args.seconds)),
            hammer(port, board, args.clients, Phase("board, while a run executes", args.seconds)),
        ]
        loaded = (executed() - before) / (time.monotonic() - t0)
        if executed() >= run.samples_total:
            print("note: the run finished during the measurement; give it more --samples")

        processes = web_env.get("WEB_CONCURRENCY", "as configured")
        print(f"{args.clients} clients, {args.seconds:.0f} s a phase, gunicorn processes: {processes}")
        print(f"{'phase':40} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for phase in phases:
            print(phase.row())
        idle_trivial, idle_board, run_trivial, run_board = phases
        print("ratios (throughput; median latency):")
        for name, a, b in (
            ("board / trivial page, idle", idle_board, idle_trivial),
            ("board / trivial page, while a run executes", run_board, run_trivial),
            ("trivial page while a run executes / idle", run_trivial, idle_trivial),
            ("board while a run executes / idle", run_board, idle_board),
        ):
            if a.latencies and b.latencies:
                latency = statistics.median(a.latencies) / statistics.median(b.latencies)
                print(f"  {name:50} {a.throughput / b.throughput:6.2f}x; {latency:6.2f}x")
        ratio = loaded / max(alone, 1e-9)
        print(f"execution: {alone:.1f} verdicts/s alone, {loaded:.1f} under the web load ({ratio:.2f}x)")
        return 0
    finally:
        stop(worker)
        stop(web)
        timer.cancel()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
