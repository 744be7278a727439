"""The deployment's exposure, read as data (Docker does not run here): gunicorn's port on loopback
behind a reverse proxy that terminates TLS and caps bodies and timeouts, no root but the execution
worker's and no privileged container, and secrets kept out of git and out of the image."""

from __future__ import annotations

import re
import subprocess

import yaml
from conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
NGINX = (ROOT / "deploy/nginx.conf").read_text()
DOCKERFILE = (ROOT / "deploy/Dockerfile").read_text()


def directive(name: str, text: str = NGINX) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", text, re.MULTILINE)


def location(prefix: str) -> str:
    match = re.search(rf"location\s+{re.escape(prefix)}\s*\{{([^}}]*)\}}", NGINX)
    assert match, prefix
    return match[1]


def test_gunicorn_is_published_on_loopback_only_behind_the_proxy():
    assert SERVICES["web"]["ports"] == ["127.0.0.1:8000:8000"]
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            published = str(port).rsplit(":", 1)[0]
            assert name == "proxy" or published.startswith(
                ("127.0.0.1:", "${PRIVATE_ADDRESS:-127.0.0.1}:")
            ), (
                name,
                port,
            )
    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("nginx:") and proxy["ports"] == ["80:80", "443:443"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_proxy_terminates_tls_and_caps_bodies_and_slow_clients():
    assert directive("listen") == ["80 default_server", "443 ssl default_server"]
    assert directive("ssl_certificate") == ["/etc/nginx/tls/fullchain.pem"]
    assert directive("ssl_protocols") == ["TLSv1.2 TLSv1.3"]
    assert "return 301 https://$host$request_uri" in NGINX
    assert directive("client_max_body_size") == ["3m", "201m"]  # everywhere, then /staff/import/ only
    assert "201m" in location("/staff/import/")
    for name in ("client_body_timeout", "client_header_timeout", "send_timeout", "proxy_read_timeout"):
        (value,) = directive(name)
        assert int(value.rstrip("s")) <= 60, name
    assert directive("proxy_pass") == ["http://web"] * 3 and "server web:8000" in NGINX
    assert "X-Real-IP $remote_addr" in NGINX and "X-Forwarded-Proto https" in NGINX
    assert directive("server_tokens") == ["off"]


def test_only_the_execution_worker_runs_as_root_and_none_is_privileged():
    assert re.search(r"^USER app$", DOCKERFILE, re.MULTILINE)
    assert "useradd --system --uid 10001" in DOCKERFILE
    for name, service in SERVICES.items():
        assert not service.get("privileged"), name
        if service.get("image", "").startswith("code-llm-leaderboard"):
            assert service.get("user", "app") == ("root" if name == "execution" else "app"), name
    execution = SERVICES["execution"]
    assert execution["cap_drop"] == ["ALL"]
    assert "SYS_ADMIN" in execution["cap_add"] and "ALL" not in execution["cap_add"]
    assert not {"SYS_PTRACE", "SYS_MODULE", "NET_ADMIN", "SYS_RAWIO", "SYS_TIME"} & set(execution["cap_add"])
    assert "no-new-privileges:true" in execution["security_opt"]
    deployment = (ROOT / "docs/deployment.md").read_text()
    assert "runtime: runsc" in deployment and "privileged: true" not in deployment


def test_secrets_stay_out_of_git_and_the_image():
    secret = ["deploy/production.env", "deploy/tls/privkey.pem"]
    ignored = subprocess.run(["git", "check-ignore", *secret], cwd=ROOT, capture_output=True, text=True)
    assert ignored.stdout.split() == secret
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".git", ".venv", "var", "deploy/production.env", "deploy/tls", "*.sqlite3"):
        assert entry in dockerignore, entry
    assert not (ROOT / "deploy/Dockerfile.dockerignore").exists(), "one ignore file, read by every builder"
