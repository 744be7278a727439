"""What the public sees: a run's short reason, never its error (hosts, paths, exceptions), nor the
platform and kernel it ran on, nor local model paths; a Content-Security-Policy without inline
script on every page; bodies too large refused before anything reads them."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, ROOT
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from test_leaderboard_pages import sampled_run

from evaluation.benchmarks import humaneval
from leaderboard.models import Submission
from leaderboard.runs.models import CodeModel, Run
from leaderboard.runs.services import load_benchmark

pytestmark = pytest.mark.django_db

ERROR = "execute_batch failed on worker-7.internal: OSError: [Errno 28] /srv/models/secret-weights"
PLATFORM = "Linux-6.1.0-18-cloud-amd64-x86_64-with-glibc2.36"
LOCAL = "/srv/models/secret-weights"


@pytest.fixture
def failed_run(benchmark):
    model = CodeModel.objects.create(name="Local", source=CodeModel.Source.LOCAL, local_path=LOCAL)
    return Run.objects.create(
        model=model,
        benchmark=benchmark,
        n=1,
        temperature=0.2,
        status=Run.Status.FAILED,
        error=ERROR,
        environment={
            "project": "0123abc",
            "libraries": {"python": "3.11.9", "django": "5.2"},
            "hardware": {"cpu": "AMD EPYC", "cpus": 2, "gpus": 0},
            "platform": PLATFORM,
            "machine": "x86_64",
        },
    )


def hidden(text: str) -> bool:
    return all(secret not in text for secret in ("worker-7.internal", "OSError", LOCAL, PLATFORM, "6.1.0-18"))


def test_a_failed_run_shows_the_public_a_short_reason_and_staff_the_error(client, staff, failed_run):
    page = client.get(f"/runs/{failed_run.id}/").content.decode()
    assert hidden(page) and "Failed; staff were told." in page and "3.11.9" in page
    api = client.get(f"/api/runs/{failed_run.id}/").json()
    assert hidden(str(api)) and "error" not in api
    assert (
        api["reason"] == "Failed; staff were told." and api["environment"]["libraries"]["python"] == "3.11.9"
    )
    assert api["receipt"]["libraries"] == {"site": {"python": "3.11.9", "django": "5.2"}}
    assert hidden(client.get(f"/runs/{failed_run.id}/progress.json").content.decode())
    staff_page = staff.get(f"/runs/{failed_run.id}/").content.decode()
    assert "worker-7.internal" in staff_page and PLATFORM in staff_page
    Run.objects.filter(id=failed_run.id).update(reason="The model could not be loaded.")
    page = client.get(f"/runs/{failed_run.id}/").content.decode()
    assert "The model could not be loaded." in page and "staff were told" not in page and hidden(page)
    assert client.get(f"/api/runs/{failed_run.id}/").json()["reason"] == "The model could not be loaded."


def test_the_queue_shows_the_reason_not_the_error_nor_local_paths(client, staff, benchmark, failed_run):
    author = User.objects.create_user("author", password=PASSWORD)
    submission = Submission.objects.create(
        author=author,
        display_name="Local",
        local_path=LOCAL,
        benchmarks=["humaneval"],
        temperatures=[0.2],
        ks=[1],
        n=1,
        fingerprint="f" * 64,
        status=Submission.Status.APPROVED,
    )
    submission.runs.set([failed_run])
    for path in ("/queue/", "/api/submissions/", "/queue/?format=csv"):
        text = client.get(path).content.decode()
        assert hidden(text) and "failed; staff were told" in text, path
    row = client.get("/api/submissions/").json()["rows"][0]
    assert row["state"] == "failed" and row["reason"] == "humaneval at T=0.2: failed; staff were told"
    assert LOCAL in staff.get("/queue/").content.decode()


def test_the_submit_form_does_not_name_the_servers_model_folders(client, benchmark, tmp_path):
    client.force_login(User.objects.create_user("author", password=PASSWORD))
    roots = [str(tmp_path / "private-models")]
    with override_settings(SUBMISSION_MODEL_ROOTS=roots):
        page = client.post("/submit/", {"location": "/etc", "display_name": "x"}).content.decode()
    assert "Local models must lie in a folder the workers share" in page and "private-models" not in page


def test_every_page_has_a_policy_without_inline_script(client, failed_run):
    for path in ("/", f"/runs/{failed_run.id}/", "/accounts/login/", "/admin/login/", "/api/"):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'" and "unsafe" not in directives["default-src"]


def test_templates_hold_no_inline_script():
    """Data for scripts goes through json_script (type application/json), which CSP does not run."""
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag, f"{template}: inline {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template}: an inline event handler"
        assert "javascript:" not in text, template


def test_a_large_body_is_refused_before_it_is_read_unless_staff_send_it(client, staff, benchmark):
    body = b"x" * (3 * 2**20)
    anonymous = client.post("/staff/import/", data=body, content_type="application/octet-stream")
    assert anonymous.status_code == 413
    member = Client()
    member.force_login(User.objects.create_user("member", password=PASSWORD))
    assert member.post("/submit/", data=body, content_type="application/octet-stream").status_code == 413
    assert client.post("/accounts/login/", data=body, content_type="text/plain").status_code == 413
    upload = SimpleUploadedFile("s.jsonl", b'{"task_id": "HumanEval/0", "completion": "x"}\n' + b" " * 2**22)
    response = staff.post(
        "/staff/import/",
        {"file": upload, "model_name": "Big", "benchmark": benchmark.id, "allow_missing": "on"},
    )
    assert response.status_code == 302, "staff may send the import's larger files"


def test_upload_limits_are_set(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES <= 5


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_with_plots_and_live_updates_run_under_the_policy(browser, live_server):
    benchmark = load_benchmark(humaneval.load())[0]
    run = sampled_run(benchmark, "Plotted", n=4, passes=lambda p, i: i < 2, parameters=10**9)
    page = browser.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/models/{run.model_id}/")
    page.wait_for_selector("#pass-figure-plot .main-svg", timeout=15_000)
    page.goto(f"{live_server.url}/runs/{run.id}/")
    page.wait_for_selector("#pass-figure-plot .main-svg", timeout=15_000)
    page.goto(f"{live_server.url}/queue/")
    page.wait_for_load_state("networkidle")
    assert violations == []
    # A script injected into the page is refused: the policy is in force.
    page.goto(f"{live_server.url}/")
    ran = page.evaluate(
        """() => new Promise(done => {
            document.addEventListener('securitypolicyviolation', () => done('blocked'));
            const s = document.createElement('script'); s.textContent = 'window.injected = 1';
            document.body.appendChild(s); setTimeout(() => done(window.injected ? 'ran' : 'blocked'), 500);
        })"""
    )
    assert ran == "blocked"
