"""The production deployment: the compose file and Procfile start the roles deploy/entrypoint.sh
knows, with settings from the environment; the roles themselves start for real here (the web
process behind gunicorn on loopback, workers and beat on a broker of their own).

Docker is not run here: the compose file is checked as data.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, LoggedProcess, wait_for, worker_environment
from django.db import connection

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENTRYPOINT = ROOT / "deploy/entrypoint.sh"
ROLES = set(re.findall(r"^  ([a-z-]+)\)$", ENTRYPOINT.read_text(), re.MULTILINE))
EXAMPLE = ROOT / "deploy/production.env.example"
SETTINGS = os.environ.get("DJANGO_SETTINGS_MODULE", "leaderboard.settings")  # the module under test
APPLICATION = {"release", "web", "beat", "execution", "generation-gpu0", "generation-gpu1"}


def example_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line))
    return {**dict(pairs), "SECRET_KEY": REAL_KEY}


REAL_KEY = secrets.token_urlsafe(50)


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {
        name: shlex.split(command) for name, command in (line.split(":", 1) for line in lines if line.strip())
    }


def test_entrypoint_knows_every_role():
    assert sorted(ROLES) == ["beat", "execution-worker", "generation-worker", "release", "web"]
    assert os.access(ENTRYPOINT, os.X_OK)


def test_compose_runs_every_role_from_one_image_with_settings_from_the_environment():
    assert set(SERVICES) == {"postgres", "redis", "proxy", *APPLICATION}
    images = {SERVICES[name]["image"] for name in APPLICATION}
    assert images == {"code-llm-leaderboard:latest"}
    assert all(SERVICES[name]["build"]["dockerfile"] == "deploy/Dockerfile" for name in APPLICATION)
    assert (ROOT / "deploy/Dockerfile").is_file()
    for name in APPLICATION | {"postgres", "redis"}:
        assert SERVICES[name]["env_file"] == "deploy/production.env"
    assert EXAMPLE.is_file()
    roles = {name: SERVICES[name]["command"][0] for name in APPLICATION}
    assert set(roles.values()) == ROLES
    assert [name for name, role in roles.items() if role == "beat"] == ["beat"]  # one schedule, one sweep


def test_compose_starts_the_application_after_healthy_backing_services_and_migrations():
    for name in APPLICATION - {"release"}:
        depends = SERVICES[name]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy"
        assert depends["release"]["condition"] == "service_completed_successfully"
    assert SERVICES["release"]["restart"] == "no"
    for name in ("postgres", "redis"):
        assert SERVICES[name]["healthcheck"]["test"]
        assert SERVICES[name]["ports"][0].startswith("${PRIVATE_ADDRESS:-127.0.0.1}:")
    redis_command = " ".join(SERVICES["redis"]["command"])
    assert "--appendonly yes" in redis_command and "--requirepass" in redis_command
    assert SERVICES["web"]["healthcheck"]["test"] == ["CMD", "python", "deploy/healthcheck.py"]


def test_compose_gives_each_generation_worker_one_gpu_and_the_execution_worker_its_sandbox():
    generation = [name for name in SERVICES if name.startswith("generation-")]
    devices = [SERVICES[name]["deploy"]["resources"]["reservations"]["devices"][0] for name in generation]
    assert [d["device_ids"] for d in devices] == [["0"], ["1"]]
    assert all(d["capabilities"] == ["gpu"] and d["driver"] == "nvidia" for d in devices)
    names = [SERVICES[name]["environment"]["WORKER_NAME"] for name in generation]
    assert names == generation
    assert all(SERVICES[name]["profiles"] == ["gpu"] for name in generation)
    assert "privileged" not in SERVICES["execution"] and "SYS_ADMIN" in SERVICES["execution"]["cap_add"]


def test_procfile_starts_the_same_roles():
    processes = procfile()
    roles = {name: command[command.index("deploy/entrypoint.sh") + 1] for name, command in processes.items()}
    assert set(roles.values()) == ROLES
    assert list(roles.values()).count("beat") == 1
    gpus = [c for c in processes.values() if "generation-worker" in c]
    assert [next(a for a in c if a.startswith("CUDA_VISIBLE_DEVICES=")) for c in gpus] == [
        "CUDA_VISIBLE_DEVICES=0",
        "CUDA_VISIBLE_DEVICES=1",
    ]


def settings_under(env: dict[str, str]) -> dict:
    """The settings a process started with this environment gets (a fresh interpreter each time)."""
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        "names = ('DEBUG', 'ALLOWED_HOSTS', 'CSRF_TRUSTED_ORIGINS', 'SESSION_COOKIE_SECURE', "
        "'CSRF_COOKIE_SECURE', 'CELERY_BROKER_URL', 'STORAGES', 'DATABASES', 'MIDDLEWARE', "
        "'CELERY_BROKER_TRANSPORT_OPTIONS', 'CELERY_BROKER_CONNECTION_MAX_RETRIES', 'CELERY_BEAT_SCHEDULE', "
        "'CELERY_WORKER_HIJACK_ROOT_LOGGER', 'CELERY_TASK_PUBLISH_RETRY_POLICY', 'LOGGING', "
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'WHITENOISE_USE_FINDERS'); "
        "print(json.dumps({n: getattr(settings, n, 'unset') for n in names}, default=str))"
    )
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DEBUG", "SECRET", "ALLOWED"))
    }
    process = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": SETTINGS, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout.strip().splitlines()[-1])


def test_production_settings_come_from_the_environment():
    env = example_env()
    values = settings_under(env)
    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["leaderboard.example.org"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://leaderboard.example.org"]
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["CELERY_BROKER_URL"] == env["CELERY_BROKER_URL"]
    assert values["DATABASES"]["default"]["HOST"] == "postgres"
    assert values["DATABASES"]["default"]["CONN_MAX_AGE"] == 60
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in values["MIDDLEWARE"]
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedStaticFilesStorage"
    refused = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "DJANGO_ENV": "production",
            "SECRET_KEY": "",
            "DEBUG": "0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "SECRET_KEY must be set in production" in refused.stderr


def test_task_logging_and_security_settings_come_from_the_environment():
    env = {
        **example_env(),
        "CELERY_VISIBILITY_TIMEOUT": "5400",
        "SWEEP_INTERVAL": "120",
        "STUCK_AFTER": "600",
    }
    values = settings_under(env)
    options = values["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options["visibility_timeout"] == 5400 and options["socket_timeout"] > 0
    assert values["CELERY_BROKER_CONNECTION_MAX_RETRIES"] is None  # a worker waits out a broker restart
    assert values["CELERY_TASK_PUBLISH_RETRY_POLICY"]["max_retries"] > 3
    (sweep,) = values["CELERY_BEAT_SCHEDULE"].values()
    assert sweep["task"] == "leaderboard.runs.tasks.sweep_stuck_runs" and sweep["schedule"] == 120
    assert sweep["kwargs"] == {"stuck_after": 600.0} and options["visibility_timeout"] > 600
    assert values["CELERY_WORKER_HIJACK_ROOT_LOGGER"] is False
    assert values["LOGGING"]["handlers"]["console"]["formatter"] == "json"
    assert values["SECURE_SSL_REDIRECT"] is True and values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["WHITENOISE_USE_FINDERS"] is False  # the compressed files of collectstatic, not the sources
    # With a real key and the two HSTS choices each domain makes for itself, Django finds nothing to warn of.
    chosen = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
    }
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **env, **chosen, "DJANGO_SETTINGS_MODULE": SETTINGS},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Role(LoggedProcess):
    """One role of deploy/entrypoint.sh as a real process of its own session."""

    def __init__(self, role: str, env: dict[str, str], log: Path):
        super().__init__([str(ENTRYPOINT), role], env, log)


@pytest.fixture
def role_env(django_db_setup, tmp_path):
    """The example's production settings, pointed at this session's test database on loopback."""
    env = worker_environment(connection.settings_dict["NAME"])
    env.update({**example_env(), "DATABASE_URL": env["DATABASE_URL"]})
    env.update(
        PYTHON=sys.executable,
        ALLOWED_HOSTS="leaderboard.example.org,127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=str(tmp_path / "static"),
        VAR_DIR=str(tmp_path / "var"),
        WEB_CONCURRENCY="2",
        LOG_LEVEL="INFO",
    )
    return env


def fetch(url: str, host: str = "leaderboard.example.org") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Host": host, "Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.django_db(transaction=True)
def test_web_role_serves_pages_and_static_files_with_debug_off(role_env, tmp_path):
    release = subprocess.run(
        [str(ENTRYPOINT), "release"],
        cwd=ROOT,
        env={**role_env, "SECURE_SSL_REDIRECT": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert release.returncode == 0, release.stdout + release.stderr
    port = free_port()
    web = Role("web", {**role_env, "BIND": f"127.0.0.1:{port}", "PORT": str(port)}, tmp_path / "web.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(
            lambda: _answers(base), timeout=60, interval=0.2, message=f"gunicorn:\n{web.output()[-2000:]}"
        )
        status, headers, body = fetch(f"{base}/static/css/site.css")
        css = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
        assert status == 200 and b"body" in css
        assert "max-age" in headers.get("Cache-Control", "")  # WhiteNoise, in the web process itself
        status, _, body = fetch(f"{base}/")
        assert status == 200 and b"Code LLM leaderboard" in body
        status, _, body = fetch(f"{base}/no-such-page/")
        assert status == 404 and b"Traceback" not in body and b"URLconf" not in body  # no debug page
        assert fetch(f"{base}/", host="evil.example")[0] == 400  # ALLOWED_HOSTS from the environment
        healthy = subprocess.run(
            [sys.executable, "deploy/healthcheck.py"],
            cwd=ROOT,
            env={**role_env, "PORT": str(port)},
            timeout=30,
        )
        assert healthy.returncode == 0
    finally:
        web.stop()
    access = [json.loads(line) for line in web.output().splitlines() if line.startswith("{")]
    assert any("GET /static/css/site.css" in line["message"] for line in access)  # JSON lines (LOG_FORMAT)


def _answers(base: str) -> bool:
    try:
        return fetch(f"{base}/static/css/site.css")[0] == 200
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_roles_start_on_their_queues(role_env, tmp_path):
    """On a broker of their own (the file system), so that they take no other test's messages."""
    env = {**role_env, "CELERY_BROKER_URL": "filesystem://", "EXECUTION_WORKERS": "1"}
    roles = {
        "execution-worker": Role("execution-worker", env, tmp_path / "execution.log"),
        "generation-worker": Role(
            "generation-worker", {**env, "CUDA_VISIBLE_DEVICES": "3"}, tmp_path / "generation.log"
        ),
        "beat": Role("beat", env, tmp_path / "beat.log"),
    }
    try:
        for name, role in roles.items():
            ready = " ready." if name != "beat" else "beat: Starting..."
            wait_for(
                lambda role=role, ready=ready: ready in role.output(), timeout=90, message=f"{name} to start"
            )
        execution, generation = roles["execution-worker"].output(), roles["generation-worker"].output()
        assert ".> execution " in execution and ".> generation " not in execution
        assert ".> generation " in generation and ".> execution " not in generation
        assert "concurrency: 1 (prefork)" in execution and "concurrency: 1 (prefork)" in generation
        assert "execution@" in execution and "generation-gpu3@" in generation
    finally:
        for role in roles.values():
            role.stop()
