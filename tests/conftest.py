"""Shared fixtures: real data beside the repository, and real Celery worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Only a host where the sandbox cannot work at all is skipped: as root, a failing layer makes the
# tests fail (Sandbox() refuses to start), it never hides them.
SANDBOX_NEEDS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0, reason="the sandbox needs root (namespaces, mounts, cgroups); CI runs as root"
)
# A password the site's validators accept, for the users the tests make.
PASSWORD = "a long enough password"
CHROMIUM = "/usr/bin/chromium"
# Flags for a closed network: without them chromium keeps calling Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database of this session's own on PostgreSQL, so concurrent runs never share one."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def broker_namespace():
    """Queues of this session's own on a shared Redis: its workers never take another session's tasks."""
    from leaderboard.celery import app

    prefix = f"test-{os.getpid()}:"
    os.environ["CELERY_BROKER_PREFIX"] = prefix  # inherited by the workers the tests start
    if app.conf.broker_url.startswith("redis"):
        app.conf.broker_transport_options = {**app.conf.broker_transport_options, "global_keyprefix": prefix}


@pytest.fixture(scope="session", autouse=True)
def stray_connections_closed(django_db_setup, django_db_blocker):
    """Set up first, torn down last: connections that Playwright's greenlets left open would keep the
    test database from being dropped, so they are ended before it is."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: present for developers and CI, absent for users."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: these tests need the shared development data")
    return SHARED_DATA


@pytest.fixture
def benchmark():
    """HumanEval stored in the test database: the benchmark most site tests work on."""
    from evaluation.benchmarks import humaneval
    from leaderboard.runs.services import load_benchmark

    return load_benchmark(humaneval.load())[0]


@pytest.fixture
def author(client, benchmark):
    """A signed-in model author: `client` is theirs."""
    from django.contrib.auth.models import User

    user = User.objects.create_user("author", password=PASSWORD)
    client.force_login(user)
    return user


@pytest.fixture
def staff():
    """A client signed in as staff."""
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_user("staff", password=PASSWORD, is_staff=True))
    return client


@pytest.fixture
def json_server() -> Iterator[Callable]:
    """Starts HTTP servers on loopback that answer GET with JSON, as the model hub does:
    `json_server(answer)` gives (url, paths asked), where `answer(path)` is the body or None (404)."""
    servers: list[HTTPServer] = []

    def start(answer: Callable[[str], object]) -> tuple[str, list[str]]:
        asked: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                asked.append(self.path)
                body = answer(self.path)
                if body is None:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", asked

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny GPT-2 trained here and saved with save_pretrained, built once for the whole session."""
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture
def browser():
    """Debian's chromium driven by Playwright; screenshots go to test-artifacts/screenshots."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make browser-deps)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made here are still sync.
    # Only for this test: processes started later must not inherit it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        # The test ran in a greenlet with a database connection of its own: close it so the test
        # database can be dropped at the end of the session.
        connections.close_all()


def worker_environment(database_name: str) -> dict[str, str]:
    """The worker sees the test database and the same broker as the tests."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError(
            "worker tests need PostgreSQL: run them through `make test`, which sets DATABASE_URL and "
            "CELERY_BROKER_URL to the loopback PostgreSQL and Redis"
        )
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT'] or 5432}/{database_name}"
    # One torch thread per worker: two cores are shared by the test process and every worker.
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


class LoggedProcess:
    """A real process in a session of its own, its output in a log file; stopped like a service."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.handle = open(log, "ab")  # noqa: SIM115 - kept open for the process's lifetime
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole process group, as a crashed machine would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.handle.close()


class WorkerProcess(LoggedProcess):
    """A real `celery worker` process, started and stopped by the tests."""

    def __init__(self, env: dict[str, str], queues: str, log: Path, concurrency: int = 1, name: str = ""):
        name = name or f"test-{queues}-{time.monotonic_ns()}"
        argv = ["worker", "-Q", queues, "-c", str(concurrency), "-l", "info"]
        argv += ["--without-gossip", "--without-mingle", "-n", f"{name}@%h"]
        super().__init__(self.command(argv, log), env, log)
        self.wait_ready()

    def command(self, argv: list[str], log: Path) -> list[str]:
        return [sys.executable, "-m", "celery", "-A", "leaderboard", *argv]

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()[-3000:]}")
            if b" ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.output()[-3000:]}")


@pytest.fixture(scope="session")
def start_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A factory of worker processes on the test database, all stopped at the end of the session."""
    from django.db import connection

    from leaderboard.celery import app

    app.control.purge()
    workers: list[WorkerProcess] = []
    logs = tmp_path_factory.mktemp("workers")

    def start(queues: str = "execution,generation", concurrency: int = 1) -> WorkerProcess:
        env = worker_environment(connection.settings_dict["NAME"])
        worker = WorkerProcess(env, queues, logs / f"worker-{len(workers)}.log", concurrency)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(predicate, timeout: float = 300, interval: float = 0.5, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
