"""APPS through the site: loading, importing samples, executing them, Table 2's figures."""

import json

import pytest
from django.core.management import call_command

from evaluation.sandbox import Sandbox
from leaderboard.runs.models import Benchmark, Result, Run
from leaderboard.runs.services import execute_samples, import_samples, pending_batches

pytestmark = pytest.mark.django_db


@pytest.fixture
def apps_benchmark(shared_data):
    call_command("load_apps", str(shared_data / "apps" / "codechain_train150.jsonl"))
    return Benchmark.objects.get(name="apps")


def test_loading_twice_keeps_one_version(apps_benchmark, shared_data):
    call_command("load_apps", str(shared_data / "apps" / "codechain_train150.jsonl"))
    assert Benchmark.objects.filter(name="apps").count() == 1
    assert apps_benchmark.problems.count() == 150
    difficulties = set(apps_benchmark.problems.values_list("metadata__difficulty", flat=True))
    assert difficulties == {"introductory", "interview", "competition"}


def test_a_bad_source_is_a_clear_error(tmp_path, db):
    from django.core.management import CommandError

    bad = tmp_path / "apps.jsonl"
    bad.write_text('{"problem_id": 1}\n')
    with pytest.raises(CommandError, match="cannot load APPS"):
        call_command("load_apps", str(bad))
    assert not Benchmark.objects.exists()


def test_reference_solutions_and_wrong_programs_give_table_2_figures(apps_benchmark, shared_data, client):
    rows = {}
    for line in (shared_data / "apps" / "codechain_train150.jsonl").read_text().splitlines():
        row = json.loads(line)
        rows[str(row["problem_id"])] = row
    chosen = {}
    for problem in apps_benchmark.problems.all():
        difficulty = problem.metadata["difficulty"]
        if sum(d == difficulty for d in chosen.values()) < 2:
            chosen[problem.task_id] = difficulty
    samples = []
    for task_id in chosen:
        samples.append({"task_id": task_id, "completion": json.loads(rows[task_id]["solutions"])[0]})
        samples.append({"task_id": task_id, "completion": "print('surely not the answer')\n"})
    data = "\n".join(json.dumps(sample) for sample in samples).encode()
    run = import_samples("Reference and wrong", apps_benchmark, data, allow_missing=True)
    with Sandbox(workers=2) as sandbox:
        for batch in pending_batches(run):
            execute_samples(run.id, batch, sandbox)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED and run.samples_executed == 12
    wrong = run.samples.filter(index=1)
    assert set(wrong.values_list("verdict", flat=True)) == {"failed"}
    assert all(s.tests and s.tests[0]["verdict"] in ("wrong_answer", "passed") for s in wrong)
    right = run.samples.filter(index=0)
    assert right.filter(verdict="passed").count() >= 5
    raw = Result.objects.get(run=run, metric="pass@1", subset="all", variant="raw")
    assert raw.value == pytest.approx(right.filter(verdict="passed").count() / 12)
    subsets = set(run.results.filter(variant="filtered").values_list("subset", flat=True))
    assert subsets == {"all", "introductory", "interview", "competition"}
    assert run.results.filter(variant="raw+timeouts").exists()
    # The strict comparison's verdicts, kept beside the published ones, give a figure of their own.
    strict_passed = sum(s.extra["strict_verdict"] == "passed" for s in run.samples.all())
    strict = Result.objects.get(run=run, metric="pass@1", subset="all", variant="strict")
    assert strict.value == pytest.approx(strict_passed / 12) and strict.value <= raw.value
    assert set(run.results.filter(variant="strict").values_list("subset", flat=True)) == subsets
    table = client.get("/tables/apps/").content.decode()
    assert "<td>strict</td><td>pass@1</td>" in table
    sample = wrong.first()
    page = client.get(f"/runs/{run.id}/?problem={sample.problem.task_id}").content.decode()
    assert "surely not the answer" in page
    assert '<table class="tests">' in page and '<tr class="test wronganswer' not in page
    assert '<tr class="test wrong_answer">' in page and sample.tests[0]["expected"][:20] in page
