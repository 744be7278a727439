"""Accounts and secrets: failed sign-ins are throttled per account and per address, weak passwords
are refused, only the account pages the site uses exist, and production needs a key of its own."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys

import pytest
from conftest import PASSWORD, ROOT
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

EXAMPLE = ROOT / "deploy/production.env.example"
ENTRYPOINT = ROOT / "deploy/entrypoint.sh"


def sign_in(client: Client, username: str, password: str, address: str, path: str = "/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_failed_sign_ins_lock_the_account_and_the_address():
    User.objects.create_user("ada", password=PASSWORD)
    User.objects.create_user("bob", password=PASSWORD)
    attacker = Client()
    for _ in range(4):
        assert sign_in(attacker, "ada", "wrong guess", "203.0.113.7").status_code == 200
    assert sign_in(attacker, "ada", "wrong guess", "203.0.113.7").status_code == 429  # the fifth
    locked = sign_in(attacker, "ada", PASSWORD, "203.0.113.7")
    assert locked.status_code == 429 and "_auth_user_id" not in attacker.session
    assert "Too many failed sign-ins" in locked.content.decode()
    # The account is paused from any address, and the address for any account.
    assert sign_in(Client(), "ada", PASSWORD, "198.51.100.1").status_code == 429
    assert sign_in(Client(), "bob", PASSWORD, "203.0.113.7").status_code == 429
    # Another account from another address is untouched.
    visitor = Client()
    assert sign_in(visitor, "bob", PASSWORD, "198.51.100.2").status_code == 302
    assert visitor.session["_auth_user_id"] == str(User.objects.get(username="bob").pk)


def test_the_admin_sign_in_is_throttled_too():
    User.objects.create_superuser("root", password=PASSWORD)
    client = Client()
    for _ in range(5):
        sign_in(client, "root", "guess", "203.0.113.9", "/admin/login/")
    assert sign_in(client, "root", PASSWORD, "203.0.113.9", "/admin/login/").status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_address_behind_the_proxy_is_the_visitors(settings):
    """Behind deploy/nginx.conf every request comes from the proxy: its X-Real-IP is counted."""
    settings.BEHIND_TLS_PROXY = True
    User.objects.create_user("ada", password=PASSWORD)
    User.objects.create_user("bob", password=PASSWORD)
    for _ in range(5):
        Client().post(
            "/accounts/login/",
            {"username": "ada", "password": "guess"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_REAL_IP="203.0.113.7",
        )
    other = Client().post(
        "/accounts/login/",
        {"username": "bob", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_REAL_IP="198.51.100.3",
    )
    assert other.status_code == 302, "another visitor behind the same proxy is not locked out"


def test_test_client_sign_in_still_works(client):
    User.objects.create_user("ada", password=PASSWORD)
    assert client.login(username="ada", password=PASSWORD)
    assert not Client().login(username="ada", password="wrong")


@pytest.mark.parametrize(
    "username, password, message",
    [
        ("ada", "84736251", "This password is entirely numeric."),
        ("alice1987x", "alice1987x", "The password is too similar to the username."),
        ("ada", "short1x", "This password is too short."),
        ("ada", "password123", "This password is too common."),
    ],
)
def test_weak_passwords_are_refused(client, username, password, message):
    response = client.post(
        "/accounts/signup/", {"username": username, "password1": password, "password2": password}
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert not User.objects.exists()


def test_only_the_account_pages_the_site_uses_exist(client):
    for path in (
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ):
        assert client.get(path).status_code == 404
        assert client.post(path, {"email": "ada@example.org"}).status_code == 404
    assert client.get("/accounts/login/").status_code == 200
    user = User.objects.create_user("ada", password=PASSWORD)
    client.force_login(user)
    assert client.get("/accounts/password_change/").status_code == 200
    new = "another long passphrase"
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/done/"
    user.refresh_from_db()
    assert user.check_password(new)
    assert client.post("/accounts/logout/").status_code == 302


def example_env() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in EXAMPLE.read_text().splitlines() if re.match(r"^[A-Z_]+=", line))
    return dict(pairs)


def clean_env(**changes: str) -> dict[str, str]:
    """This process's environment without any Django setting, plus the changes."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO", "DEBUG", "SECRET", "ALLOWED", "SECURE", "DATABASE", "CELERY"))
    }
    return {**kept, "PYTHON": sys.executable, **changes}


def settings_load(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SECRET_KEY)"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "leaderboard.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_a_missing_or_placeholder_key(tmp_path):
    static = str(tmp_path / "static")
    for key in ("", "change-me-to-a-long-random-string", "x" * 60, "short-but-random-Q3v9"):
        refused = settings_load(clean_env(DJANGO_ENV="production", SECRET_KEY=key, STATIC_ROOT=static))
        assert refused.returncode != 0 and "SECRET_KEY must be set in production" in refused.stderr, key
    real = secrets.token_urlsafe(50)
    loaded = settings_load(clean_env(DJANGO_ENV="production", SECRET_KEY=real, STATIC_ROOT=static))
    assert loaded.returncode == 0 and loaded.stdout.strip() == real
    # A checkout outside the entrypoint (make run, the tests, a management command) needs nothing.
    development = settings_load(clean_env(DEBUG="0", STATIC_ROOT=static))
    assert development.returncode == 0 and development.stdout.strip().startswith("insecure-development-key")


@pytest.mark.parametrize("role", ["release", "web", "execution-worker", "generation-worker", "beat"])
@pytest.mark.parametrize("key", ["", "change-me-to-a-long-random-string"])
def test_every_production_role_refuses_to_start_without_a_key_of_its_own(role, key, tmp_path):
    """The Procfile route: the entrypoint with DEBUG=0 and no DJANGO_ENV in the environment."""
    env = clean_env(
        DEBUG="0",
        SECRET_KEY=key,
        STATIC_ROOT=str(tmp_path / "static"),
        VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    started = subprocess.run(
        [str(ENTRYPOINT), role], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 78, started.stdout + started.stderr
    assert started.stderr.startswith(f"deploy/entrypoint.sh {role}: refusing to start: ")
    assert "SECRET_KEY must be set in production" in started.stderr and "Traceback" not in started.stderr
    assert not (tmp_path / "db.sqlite3").exists(), "nothing ran"


def test_check_deploy_with_the_example_environment_prints_no_warning(tmp_path):
    env = clean_env(
        **{**example_env(), "SECRET_KEY": secrets.token_urlsafe(50), "STATIC_ROOT": str(tmp_path / "static")}
    )
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = check.stdout + check.stderr
    assert check.returncode == 0, output
    assert "WARNING" not in output.upper() and "System check identified no issues" in output


def test_the_release_stops_on_any_deploy_warning(tmp_path):
    """DEBUG on in production is a warning of `check --deploy`: the release stops before migrating."""
    env = clean_env(
        **{
            **example_env(),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "1",
            "STATIC_ROOT": str(tmp_path / "static"),
            "VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
    )
    release = subprocess.run(
        [str(ENTRYPOINT), "release"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert release.returncode != 0 and "security.W018" in release.stdout + release.stderr
    assert not (tmp_path / "db.sqlite3").exists(), "migrate did not run"
