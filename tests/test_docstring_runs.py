"""Codex-D from a model to Table 3: the command line, the staff command, the run pages, the sweep."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from evaluation.benchmarks import Benchmark, content_hash
from evaluation.benchmarks import humaneval_docstrings as docstrings
from evaluation.samples import SampleRecord
from leaderboard.celery import app
from leaderboard.runs import services, tasks
from leaderboard.runs.models import CodeModel, Run


def small_docstrings(count: int = 2):
    """The first docstring problems as a benchmark version of their own."""
    problems = docstrings.load().problems[:count]
    return services.load_benchmark(Benchmark(docstrings.NAME, content_hash(problems), problems))[0]


def test_the_command_line_writes_docstrings_cut_at_the_closing_quotes(tiny_model_dir, tmp_path):
    out = tmp_path / "docstrings.jsonl"
    command = [sys.executable, "-m", "evaluation", "generate", "--model", str(tiny_model_dir)]
    command += ["--benchmark", "humaneval-docstrings", "--n", "10", "--limit", "2", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 20
    assert [row["task_id"] for row in rows] == ["HumanEval/0"] * 10 + ["HumanEval/1"] * 10
    assert all('"""' not in row["completion"] for row in rows)
    assert all(row["sum_logprob"] <= 0 for row in rows)


@pytest.mark.django_db
def test_staff_start_a_docstring_run_with_the_papers_setting(tiny_model_dir):
    small_docstrings()
    call_command("start_run", model="tiny", location=str(tiny_model_dir), benchmark=docstrings.NAME)
    run = Run.objects.get()
    assert (run.n, run.temperature, run.top_p, run.prompt_template) == (10, 0.8, 0.95, "codex-d-v1")
    assert run.stop_sequences == ['"""'] and run.status == Run.Status.GENERATING
    assert run.samples_total == 20


@pytest.mark.django_db
def test_a_graded_run_hides_its_texts_until_settled_and_staff_stop_runs(client):
    benchmark = small_docstrings()
    model = services.get_or_create_model("Docstring model", source=CodeModel.Source.LOCAL, local_path="/m")
    records = [SampleRecord(p.task_id, 0, "Secret docstring text.") for p in benchmark.problems.all()]
    run = services.create_run_from_records(model, benchmark, records, temperature=0.8)
    Run.objects.filter(id=run.id).update(status=Run.Status.GRADING)
    page = client.get(f"/runs/{run.id}/?problem=HumanEval/0").content.decode()
    assert "Secret docstring text." not in page and 'id="texts-hidden"' in page
    assert "Grading: 0 of 2 docstrings settled" in page and "Timeout" not in page
    assert client.get(f"/api/runs/{run.id}/samples/?problem=HumanEval/0").status_code == 403
    assert 'class="status executing">evaluating' in client.get("/").content.decode()
    assert "stop-run" not in page

    staff = Client()
    staff.force_login(User.objects.create_user("staff", password="a long enough password", is_staff=True))
    assert 'id="stop-run"' in staff.get(f"/runs/{run.id}/").content.decode()
    assert client.post(f"/runs/{run.id}/stop/", {"action": "failed", "reason": "x"}).status_code == 302
    assert Run.objects.get(id=run.id).status == Run.Status.GRADING  # anonymous: sent to sign in
    staff.post(f"/runs/{run.id}/stop/", {"action": "cancelled", "reason": "Withdrawn by its authors."})
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.reason == "Withdrawn by its authors."
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert "Withdrawn by its authors." in page
    assert "evaluating" not in client.get("/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_passes_over_a_broken_run_and_still_requeues_a_stuck_one(benchmark, settings):
    app.control.purge()
    model = services.get_or_create_model("Sweep", source=CodeModel.Source.IMPORTED)
    retired = services.load_benchmark(Benchmark("retired-benchmark", "0" * 64, ()))[0]
    broken = Run.objects.create(model=model, benchmark=retired, n=1, status=Run.Status.EXECUTING)
    problems = list(benchmark.problems.all()[:2])
    records = [SampleRecord(p.task_id, 0, "    return 1\n") for p in problems]
    stuck = services.create_run_from_records(model, benchmark, records)
    failing = services.create_run_from_records(model, benchmark, records)
    settings.SWEEP_ATTEMPTS = 1
    failure = "execute_batch failed on w1: SandboxUnavailable"
    Run.objects.filter(id=failing.id).update(error=failure, requeues=1)
    observed = [[broken.id, 0, 0], [stuck.id, 2, 0], [failing.id, 2, 0]]
    try:
        assert tasks.requeue_if_stuck(observed) == 1  # the stuck run's one batch
    finally:
        app.control.purge()
    failing.refresh_from_db()
    assert failing.status == Run.Status.FAILED and "kept failing" in failing.reason
    assert Run.objects.get(id=broken.id).status == Run.Status.EXECUTING
