import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.samples import SampleRecord
from leaderboard.runs.models import Result, Run, Sample
from leaderboard.runs.services import (
    create_run_from_records,
    get_or_create_model,
    update_results,
)

pytestmark = pytest.mark.django_db

HOSTILE = 'x = "</script><script>alert(1)</script>"\n'


def finished_run(benchmark, name, passed_every, n=10):
    """A run whose sample i of every problem passed when i % passed_every == 0."""
    problems = list(benchmark.problems.all())
    records = [SampleRecord(p.task_id, i, HOSTILE) for p in problems for i in range(n)]
    run = create_run_from_records(get_or_create_model(name), benchmark, records, temperature=0.8)
    for sample in run.samples.all():
        sample.verdict = "passed" if sample.index % passed_every == 0 else "failed"
        sample.detail = "AssertionError: <b>bold</b>" if sample.verdict == "failed" else ""
        sample.save()
    update_results(run.id)
    return run


def test_finished_run_stores_pass_at_k_within_n(benchmark):
    run = finished_run(benchmark, "Half", passed_every=2)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED and run.samples_executed == 1640
    figures = {r.metric: r for r in run.results.all()}
    assert set(figures) == {"pass@1", "pass@10"}
    assert figures["pass@1"].value == pytest.approx(0.5)
    assert figures["pass@10"].value == pytest.approx(1.0)
    assert figures["pass@1"].ci_low == pytest.approx(0.5)


def test_leaderboard_sorts_by_each_metric(client, benchmark):
    finished_run(benchmark, "Strong", passed_every=1)
    finished_run(benchmark, "Weak", passed_every=5)
    page = client.get("/?sort=pass@1").content.decode()
    assert page.index("Strong") < page.index("Weak")
    page = client.get("/?sort=pass@1&order=asc").content.decode()
    assert page.index("Weak") < page.index("Strong")
    assert client.get("/?sort=nonsense").status_code == 200


def test_leaderboard_queries_do_not_grow_with_runs(client, benchmark):
    finished_run(benchmark, "One", passed_every=2, n=2)
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for name in ("Two", "Three", "Four"):
        finished_run(benchmark, name, passed_every=2, n=2)
    with CaptureQueriesContext(connection) as many:
        client.get("/")
    assert len(many) == len(few)


def test_run_page_shows_samples_escaped(client, benchmark):
    run = finished_run(benchmark, "<i>Hostile</i> model", passed_every=3, n=3)
    page = client.get(f"/runs/{run.id}/?problem=HumanEval/0").content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<i>Hostile</i>" not in page and "&lt;i&gt;Hostile&lt;/i&gt;" in page
    assert page.count('class="sample ') == 3


def test_run_page_grid_and_progress(client, benchmark):
    run = finished_run(benchmark, "Grid", passed_every=2, n=2)
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert page.count('class="cell all') == 0 and page.count('class="cell some') == 164
    progress = client.get(f"/runs/{run.id}/progress.json").json()
    assert progress == {
        "status": "finished",
        "line": "Finished: 328 of 328 samples executed",
        "generated": 328,
        "executed": 328,
        "total": 328,
        "reason": "",
    }


def test_unknown_run_or_problem_is_a_404(client, benchmark):
    run = finished_run(benchmark, "Few", passed_every=2, n=1)
    assert client.get("/runs/999999/").status_code == 404
    assert client.get("/runs/999999/progress.json").status_code == 404
    assert client.get(f"/runs/{run.id}/?problem=HumanEval/9999").status_code == 404


def test_pending_run_shows_live_progress(client, benchmark):
    records = [SampleRecord("HumanEval/0", i, "    pass\n") for i in range(4)]
    run = create_run_from_records(get_or_create_model("Live"), benchmark, records)
    Sample.objects.filter(run=run, index__lt=1).update(verdict="failed")
    Run.objects.filter(id=run.id).update(samples_executed=1)
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert 'data-status="executing"' in page and "Executing: 1 of 4 samples" in page
    assert not Result.objects.filter(run=run).exists()
