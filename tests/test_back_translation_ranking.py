"""Figure 7's back-translation curve: a docstring model ranks a finished run's samples."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from evaluation.benchmarks import Benchmark, content_hash, humaneval
from evaluation.samples import SampleRecord
from leaderboard.celery import app
from leaderboard.runs import services
from leaderboard.runs.models import Run

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_tasks():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def finished_run(count: int = 2) -> Run:
    problems = humaneval.load().problems[:count]
    benchmark = services.load_benchmark(Benchmark("humaneval", content_hash(problems), problems))[0]
    model = services.get_or_create_model("Ranked", family="tiny")
    wrong = "    return None\n"
    records = [SampleRecord(p.task_id, 0, p.canonical_solution) for p in problems]
    records += [SampleRecord(p.task_id, 1, wrong) for p in problems]
    records += [SampleRecord(p.task_id, 2, "    return (\n") for p in problems]  # does not parse
    run = services.create_run_from_records(model, benchmark, records, temperature=0.8)
    run.samples.update(verdict="failed", mean_logprob=-1.0, sum_logprob=-10.0)
    run.samples.filter(index=0).update(verdict="passed")
    services.update_results(run.id)
    run.refresh_from_db()
    return run


def test_the_command_scores_every_sample_and_the_curve_is_stored(
    tiny_model_dir, eager_tasks, django_capture_on_commit_callbacks, client
):
    run = finished_run()
    assert not run.results.filter(variant="ranking:back_translation").exists()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rank_by_back_translation", run=run.id, model=str(tiny_model_dir))
    run.refresh_from_db()
    assert run.ranked_by == str(tiny_model_dir)
    scores = dict(
        run.samples.values_list("problem__task_id", "index")
        .annotate()
        .values_list("index", "back_translation")
    )
    assert all(score is not None for score in run.samples.values_list("back_translation", flat=True))
    assert scores[2] == float("-inf")  # a sample that does not parse explains no docstring
    curve = run.results.filter(variant="ranking:back_translation").order_by("metric")
    assert curve.exists() and all(0.0 <= r.value <= 1.0 for r in curve)
    assert "Back-translation" in client.get(f"/models/{run.model_id}/").content.decode()


def test_only_staff_start_it_from_the_run_page_and_only_on_finished_function_runs(tiny_model_dir):
    run = finished_run(1)
    anonymous, staff = Client(), Client()
    staff.force_login(User.objects.create_user("staff", password="a long enough password", is_staff=True))
    assert 'id="rank-run"' in staff.get(f"/runs/{run.id}/").content.decode()
    assert 'id="rank-run"' not in anonymous.get(f"/runs/{run.id}/").content.decode()
    assert anonymous.post(f"/runs/{run.id}/rank/", {"model": "x"}).status_code == 302
    assert Run.objects.get(id=run.id).ranked_by == ""
    Run.objects.filter(id=run.id).update(status=Run.Status.EXECUTING)
    with pytest.raises(ValueError, match="finished run"):
        services.mark_ranked_by(Run.objects.get(id=run.id), str(tiny_model_dir))
