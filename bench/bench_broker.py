"""What a task costs to hand out: the embedded file-system broker against Redis, in the same run.

For each broker a real `celery worker` of the site's app (its settings: acks late, prefetch 1, one
process as `make run` starts it) takes `--tasks` trivial tasks queued at once on a queue of the
bench's own; each task only creates a file, so the time from the first publish to the last file,
divided by the number of tasks, is the hand-off cost. Then the worker sits idle for a few seconds
and its CPU time is read from /proc: the price of polling a folder instead of waiting on a socket.

Redis is the one on 127.0.0.1:6379 (database 0, keys under a prefix of the bench's own, deleted
by the worker's purge); the file-system broker lives in a temporary folder. Every wait is bounded
and the workers are stopped however the bench ends.

    .venv/bin/python bench/bench_broker.py [--tasks 300] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUEUE = "bench-broker"
TASK = "bench.bench_broker.touch"
READY_WITHIN = 60.0
IDLE_SECONDS = 5.0

try:
    from celery import shared_task
except ImportError:  # only the worker needs the task; the parent needs nothing but the stdlib
    shared_task = None


if shared_task is not None:

    @shared_task(name=TASK, ignore_result=True)
    def touch(folder: str, index: int) -> None:
        """The trivial task: one empty file, so that the bench sees it done."""
        Path(folder, str(index)).touch()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children (the pool), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout:.0f} s")
        time.sleep(0.001)


def measure(broker: str, tasks: int, folder: Path) -> dict[str, float]:
    """One broker: a worker started, warmed up, timed on `tasks` tasks, then watched idle."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "leaderboard.settings",
        "CELERY_BROKER_URL": broker,
        "CELERY_BROKER_PREFIX": f"bench-broker-{os.getpid()}:",
        "VAR_DIR": str(folder / "var"),
        "DATABASE_URL": f"sqlite:///{folder / 'unused.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    log = folder / "worker.log"
    argv = [sys.executable, "-m", "celery", "-A", "leaderboard", "worker", "-Q", QUEUE, "-c", "1"]
    argv += ["--include", "bench.bench_broker", "--without-gossip", "--without-mingle", "-l", "info"]
    argv += ["-n", f"bench-{os.getpid()}-{folder.name}@%h", "--purge"]
    with open(log, "ab") as output:
        worker = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    with contextlib.ExitStack() as stack:
        stack.callback(stop, worker)
        wait_for(
            lambda: b" ready." in log.read_bytes() or worker.poll() is not None, READY_WITHIN, "no worker"
        )
        if worker.poll() is not None:
            raise RuntimeError(f"the worker on {broker} exited:\n{log.read_text()[-2000:]}")
        publish = publisher(broker, env, stack)
        done = folder / "done"
        done.mkdir()
        count = lambda: len(os.listdir(done))  # noqa: E731
        publish(done, range(5))  # connections and the pool warm
        wait_for(lambda: count() == 5, 30, "warm-up tasks not done")
        started = time.monotonic()
        publish(done, range(5, 5 + tasks))
        wait_for(lambda: count() == 5 + tasks, max(60.0, tasks * 0.2), f"{tasks} tasks not done on {broker}")
        seconds = time.monotonic() - started
        before = cpu_seconds(worker.pid)
        time.sleep(IDLE_SECONDS)
        idle = (cpu_seconds(worker.pid) - before) / IDLE_SECONDS
        return {"per_task_ms": 1000 * seconds / tasks, "seconds": seconds, "idle_cpu": idle}


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


def publisher(broker: str, env: dict[str, str], stack: contextlib.ExitStack):
    """A function sending `touch` tasks through the site's app configured for `broker` (a subprocess,
    since one process's Celery app has one broker); it ends when `stack` closes."""
    script = (
        "import json, sys, django; django.setup()\n"
        "from leaderboard.celery import app\n"
        "with app.producer_or_acquire() as producer:\n"
        "    for line in sys.stdin:\n"
        "        folder, first, last = json.loads(line)\n"
        "        for i in range(first, last):\n"
        f"            app.send_task({TASK!r}, args=(folder, i), queue={QUEUE!r}, producer=producer)\n"
        "        print('sent', flush=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    stack.callback(process.wait, 20)
    stack.callback(process.stdin.close)

    def publish(folder: Path, indices: range) -> None:
        process.stdin.write(json.dumps([str(folder), indices.start, indices.stop]) + "\n")
        process.stdin.flush()
        for line in process.stdout:  # logging may print ahead of the answer
            if line.strip() == "sent":
                return
        raise RuntimeError(f"the publisher for {broker} exited")

    return publish


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    try:
        import redis

        redis.Redis.from_url(args.redis, socket_connect_timeout=3).ping()
    except Exception as error:  # noqa: BLE001 - any failure means there is no baseline to measure
        sys.exit(
            f"the baseline needs Redis at {args.redis} ({error}): start redis-server or give --redis URL"
        )
    results = {}
    for name, broker in (("redis", args.redis), ("filesystem", "filesystem://")):
        with tempfile.TemporaryDirectory(prefix=f"bench-broker-{name}-") as folder:
            results[name] = measure(broker, args.tasks, Path(folder))
        r = results[name]
        print(
            f"{name:>10}: {args.tasks} tasks in {r['seconds']:.2f} s, {r['per_task_ms']:.1f} ms per task; "
            f"idle worker {100 * r['idle_cpu']:.1f}% of a core"
        )
    ratio = results["filesystem"]["per_task_ms"] / results["redis"]["per_task_ms"]
    print(f"file-system broker / Redis, per task: {ratio:.2f}x (target: within 3x)")


if __name__ == "__main__":
    main()
