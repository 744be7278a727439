"""Public pages from the cache: served again with one query, 304s to repeat visits, never stale after a
finished run, a stopped run, a settled grade or an edited model, never another user's page; a run's
samples a page at a time, with Figure 8 over all of them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils.http import http_date

from evaluation.samples import SampleRecord
from grading import services as grading
from leaderboard import caching, plots
from leaderboard.runs.models import Benchmark, CodeModel, PublicVersion, Result, Run, Sample
from leaderboard.runs.services import (
    create_run_from_records,
    get_or_create_model,
    record_results,
    stop_run,
    update_results,
)

# Committed for real, as a server's writes are: a new version is drawn once a write commits.
pytestmark = pytest.mark.django_db(transaction=True)


def started_run(benchmark, name: str, *, n: int = 2, completion: str = "    return 1\n", **fields) -> Run:
    """A run of n samples of every problem, as an import leaves it: executing, nothing judged yet."""
    records = [SampleRecord(p.task_id, i, completion) for p in benchmark.problems.all() for i in range(n)]
    return create_run_from_records(get_or_create_model(name, **fields), benchmark, records, temperature=0.8)


def finish(run: Run, passes) -> Run:
    """Judge every sample (`passes(index)` says which pass) and close the run through the real service."""
    passed = [s.id for s in run.samples.only("id", "index") if passes(s.index)]
    run.samples.filter(id__in=passed).update(verdict=Sample.Verdict.PASSED, status="passed")
    run.samples.filter(verdict="").update(verdict=Sample.Verdict.FAILED, status="failed")
    assert update_results(run.id)
    run.refresh_from_db()
    return run


def queries(client, url: str, **headers) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    return len(captured), response


def text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def pass_at_1(run: Run) -> str:
    """The run's pass@1 as the pages print it."""
    return f"{100 * run.results.get(metric='pass@1', subset='all', variant='raw').value:.1f}"


@pytest.fixture
def board(benchmark):
    """Two finished runs: the pages have something to show and a public version to be keyed by."""
    first = finish(started_run(benchmark, "First", family="F", parameters=10**9), lambda i: i == 0)
    second = finish(started_run(benchmark, "Second", family="G", parameters=2 * 10**9), lambda i: True)
    return first, second


def public_urls(run: Run, benchmark) -> list[str]:
    problem = benchmark.problems.get(position=0)
    return [
        "/",
        "/?sort=pass@1&order=asc&family=F",
        "/?format=csv",
        "/tables/humaneval/",
        "/tables/apps/",
        "/tables/docstrings/",
        "/grading/table/",
        "/charts/",
        f"/models/{run.model_id}/",
        f"/runs/{run.id}/",
        f"/runs/{run.id}/?problem=HumanEval/0",
        f"/problems/{problem.id}/",
        f"/compare/?a={run.model_id}&b={run.model_id}&benchmark=humaneval",
        "/api/board/",
        "/api/models/",
        f"/api/models/{run.model_id}/",
        f"/api/runs/{run.id}/",
        f"/api/runs/{run.id}/problems/",
        f"/api/runs/{run.id}/samples/?problem=HumanEval/0",
        f"/api/problems/{problem.id}/",
    ]


def test_every_public_page_is_served_again_with_the_one_query_of_the_version(client, benchmark, board):
    first, _ = board
    for url in public_urls(first, benchmark):
        rendered, response = queries(client, url)
        assert response.status_code == 200, url
        served, again = queries(client, url)
        assert served == 1 and rendered > 1, url
        assert again.content == response.content and again["Content-Type"] == response["Content-Type"], url
        assert again["ETag"] and again["Last-Modified"] and again["Cache-Control"] == "no-cache", url
        assert "Content-Security-Policy" in again and "Cookie" in again["Vary"], url
    assert "attachment" in client.get("/?format=csv")["Content-Disposition"]


def test_a_repeat_visit_costs_a_304(client, board):
    page = client.get("/")
    again = client.get("/", headers={"If-None-Match": page["ETag"]})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == page["ETag"]
    other = client.get("/", headers={"If-None-Match": '"something else"'})
    assert other.status_code == 200 and other.content == page.content
    later = http_date(time.time() + 2)
    assert client.get("/", headers={"If-Modified-Since": later}).status_code == 304
    earlier = http_date(PublicVersion.current().changed_at - 5)
    assert client.get("/", headers={"If-Modified-Since": earlier}).status_code == 200


def test_a_copy_from_before_a_change_is_not_current(client, benchmark, board):
    page = client.get("/")
    finish(started_run(benchmark, "Third"), lambda i: True)
    again = client.get("/", headers={"If-None-Match": page["ETag"]})
    assert again.status_code == 200 and ">Third</a>" in again.content.decode()
    assert again["ETag"] != page["ETag"]


def test_a_finished_run_shows_on_every_page_at_once(client, benchmark, board):
    first, _ = board
    run = started_run(benchmark, "Newcomer", family="F", parameters=3 * 10**9)
    problem = benchmark.problems.get(position=0)
    urls = {
        "/": ">Newcomer</a>",
        "/tables/humaneval/": "Newcomer",
        "/charts/": "Newcomer",
        "/api/board/": '"Newcomer"',
        "/?format=csv": "Newcomer",
        f"/compare/?a={first.model_id}&b={first.model_id}&benchmark=humaneval": "Newcomer",
    }
    before = {url: text(client, url) for url in urls}
    assert 'class="status executing">evaluating' in before["/"]
    assert "Newcomer" not in before["/tables/humaneval/"] and "Newcomer" not in before["/charts/"]
    finish(run, lambda i: i == 1)
    assert 'class="status executing">evaluating' not in text(client, "/")
    for url, shown in urls.items():
        assert shown in text(client, url), url
    assert pass_at_1(run) in text(client, "/")
    assert pass_at_1(run) in text(client, f"/models/{run.model_id}/")
    assert "Finished" in text(client, f"/runs/{run.id}/")
    assert client.get(f"/api/runs/{run.id}/").json()["status"] == "finished"
    assert "Newcomer" in text(client, f"/problems/{problem.id}/")
    rows = list(csv.DictReader(io.StringIO(text(client, "/?format=csv"))))
    assert {row["model"] for row in rows} == {"First", "Second", "Newcomer"}


def test_a_run_in_progress_is_never_served_stale(client, benchmark, board):
    """Verdicts land without a new version: the pages that show a run in progress are never stored."""
    run = started_run(benchmark, "Live")
    problem = benchmark.problems.get(position=0)
    urls = [
        f"/runs/{run.id}/",
        f"/runs/{run.id}/?problem=HumanEval/0",
        f"/models/{run.model_id}/",
        f"/problems/{problem.id}/",
        f"/api/runs/{run.id}/",
        f"/api/models/{run.model_id}/",
        f"/api/problems/{problem.id}/",
    ]
    for url in urls:
        assert queries(client, url)[0] > 1 and queries(client, url)[0] > 1, url
    assert "Executing: 0 of 328 samples" in text(client, f"/runs/{run.id}/")
    sample = run.samples.get(problem=problem, index=0)
    record_results(run.id, [(sample.id, judged("passed"))])
    assert "Executing: 1 of 328 samples" in text(client, f"/runs/{run.id}/")
    assert client.get(f"/runs/{run.id}/progress.json").json()["executed"] == 1
    assert client.get(f"/api/runs/{run.id}/").json()["samples_executed"] == 1
    rows = client.get(f"/api/problems/{problem.id}/").json()["runs"]
    assert next(r for r in rows if r["run_id"] == run.id)["passed"] == 1
    assert "Passed" in text(client, f"/runs/{run.id}/?problem=HumanEval/0")


def judged(verdict: str):
    from evaluation.benchmarks.contract import Judgement, SampleResult

    return SampleResult("HumanEval/0", 0, Judgement(verdict, verdict, "", 0.01), {})


def test_a_cancelled_run_shows_on_every_page_at_once(client, benchmark, board):
    run = started_run(benchmark, "Cancelled")
    assert 'class="status executing">evaluating' in text(client, "/")
    assert text(client, "/") == text(client, "/")
    assert stop_run(run.id, status=Run.Status.CANCELLED, reason="Withdrawn by its authors.")
    assert 'class="status executing">evaluating' not in text(client, "/")
    assert "Withdrawn by its authors." in text(client, f"/runs/{run.id}/")
    assert client.get(f"/api/runs/{run.id}/").json()["status"] == "cancelled"
    assert "cancelled" in text(client, f"/models/{run.model_id}/").lower()


def test_a_model_edited_in_the_admin_shows_on_every_page_at_once(client, benchmark, board):
    first, _ = board
    urls = ["/", "/tables/humaneval/", "/api/models/", f"/models/{first.model_id}/", "/api/board/"]
    for url in urls:
        assert "First" in text(client, url) and "Renamed" not in text(client, url), url
    staff = User.objects.create_superuser("staff", password="a long enough password")
    admin = client_for(staff)
    model = first.model
    form = {
        "name": "Renamed",
        "family": "F",
        "parameters": str(model.parameters),
        "source": model.source,
        "open_weights": "on",
    }
    response = admin.post(f"/admin/runs/codemodel/{model.id}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CodeModel.objects.get(id=model.id).name == "Renamed"
    for url in urls:
        assert "Renamed" in text(client, url), url


def test_a_model_created_through_its_service_shows_in_the_api_at_once(client, board):
    assert "Fresh" not in text(client, "/api/models/")
    get_or_create_model("Fresh", family="F")
    assert "Fresh" in text(client, "/api/models/")


def client_for(user):
    from django.test import Client

    signed_in = Client()
    signed_in.force_login(user)
    return signed_in


@pytest.fixture
def graded_run(settings, benchmark):
    """A docstring run of three docstrings, each settled by one grade: finished, Table 3 published."""
    settings.GRADING_AGREEMENT_SHARE = 0.0
    rows = [("HumanEval/0", 1, "Returns one."), ("HumanEval/0", 2, "Returns two."), ("HumanEval/1", 1, "x")]
    data = io.StringIO()
    writer = csv.writer(data)
    writer.writerow(["task_id", "solution_id", "function_signature", "code", "comment"])
    writer.writerows([task, solution, "", "x = 1", comment] for task, solution, comment in rows)
    run = grading.import_docstrings(grading.parse_docstring_csv(data.getvalue().encode()), "Docstring model")
    annotator = User.objects.create_user("ann", password="pw")
    annotator.groups.add(Group.objects.get_or_create(name="annotators")[0])
    return run, annotator


def test_a_settled_grade_shows_on_every_page_at_once(client, graded_run):
    run, annotator = graded_run
    first = None
    while (item := grading.next_item(annotator)) is not None:
        first = first or item
        grading.grade(annotator, item.id, "correct")
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    urls = ["/grading/table/", "/tables/docstrings/", "/", f"/models/{run.model_id}/", f"/runs/{run.id}/"]
    before = {url: text(client, url) for url in urls}
    assert all(queries(client, url)[0] == 1 for url in urls)  # stored: the run is over
    assert pass_at_1(run) == "100.0" and "100.0" in before["/grading/table/"]
    grading.grade(annotator, first.id, "incorrect")  # a revised grade settles again
    assert pass_at_1(run) != "100.0"
    for url in urls:
        assert pass_at_1(run) in text(client, url), url


def test_a_signed_in_page_is_never_served_to_anyone_else(client, benchmark, board):
    first, _ = board
    staff = client_for(User.objects.create_user("staffer", password="pw", is_staff=True))
    for url in ("/", f"/runs/{first.id}/", f"/models/{first.model_id}/"):
        anonymous = text(client, url)
        signed_in = staff.get(url).content.decode()
        assert "staffer" in signed_in and "staffer" not in anonymous, url
        assert "csrfmiddlewaretoken" in signed_in and "csrfmiddlewaretoken" not in anonymous, url
        assert "staffer" not in text(client, url), url
    assert 'id="rank-run"' in staff.get(f"/runs/{first.id}/").content.decode()
    assert 'id="rank-run"' not in text(client, f"/runs/{first.id}/")


def test_a_page_with_a_message_is_neither_served_from_nor_put_in_the_cache(client, board):
    text(client, "/")
    request = RequestFactory().get("/")
    storage = CookieStorage(request)
    storage.add(constants.INFO, "Only for this visitor.")
    response = HttpResponse()
    storage.update(response)
    client.cookies["messages"] = response.cookies["messages"].value
    assert "Only for this visitor." in text(client, "/")
    del client.cookies["messages"]
    assert "Only for this visitor." not in text(client, "/")


def test_a_page_with_a_csrf_token_or_a_cookie_is_not_stored(board):
    from django.contrib.auth.models import AnonymousUser

    calls = []

    def with_token(request):
        calls.append(1)
        return HttpResponse(get_token(request))

    def with_cookie(request):
        calls.append(1)
        response = HttpResponse("hello")
        response.set_cookie("seen", "1")
        return response

    for view in (with_token, with_cookie):
        calls.clear()
        for _ in range(2):
            request = RequestFactory().get(f"/{view.__name__}/")
            request.user = AnonymousUser()
            assert caching.public_page(view)(request).status_code == 200
        assert len(calls) == 2, view.__name__


def test_before_any_change_through_the_services_nothing_is_cached(client):
    benchmark = Benchmark.objects.create(name="humaneval", content_hash="0" * 64)
    code_model = CodeModel.objects.create(name="Raw")
    run = Run.objects.create(model=code_model, benchmark=benchmark, n=1, status=Run.Status.FINISHED)
    Result.objects.create(run=run, metric="pass@1", value=0.5)
    assert PublicVersion.current() is None
    assert queries(client, "/")[0] > 1 and queries(client, "/")[0] > 1
    Result.objects.filter(run=run).update(value=0.25)
    assert "25.0" in text(client, "/")


def test_a_run_of_many_long_samples_shows_them_a_page_at_a_time(client, benchmark, monkeypatch):
    lines = [line for p in benchmark.problems.all()[:20] for line in p.canonical_solution.splitlines()]
    long = "\n".join(lines[:100]) + "\n"
    records = [SampleRecord("HumanEval/0", i, long) for i in range(45)]
    run = create_run_from_records(get_or_create_model("Verbose"), benchmark, records, temperature=0.8)
    run.samples.filter(index__lt=15).update(verdict=Sample.Verdict.PASSED)
    run.samples.filter(verdict="").update(verdict=Sample.Verdict.FAILED)
    assert update_results(run.id)
    url = f"/runs/{run.id}/?problem=HumanEval/0"
    first = text(client, url)
    assert first.count('<details class="sample ') == 20 and 'id="sample-19"' in first
    assert "page 1 of 3 (45 samples)" in first and 'href="?problem=HumanEval%2F0&amp;page=2"' in first
    last = text(client, url + "&page=3")
    assert last.count('<details class="sample ') == 5 and 'id="sample-44"' in last
    assert len(first) < 20 * len(long) * 8
    figure = json.loads(
        first.split('<script id="bleu-figure" type="application/json">')[1].split("</script>")[0]
    )
    assert sorted(len(trace["y"]) for trace in figure["data"]) == [15, 30]

    def not_again(*args):
        raise AssertionError("BLEU computed again")

    monkeypatch.setattr(plots, "bleu", not_again)
    finish(started_run(benchmark, "Bump", n=1), lambda i: True)  # a new version: the pages render again
    assert 'id="bleu-figure"' in text(client, url + "&page=2")

    api = client.get(f"/api/runs/{run.id}/samples/?problem=HumanEval/0&page=1").json()
    assert (api["count"], api["page"], api["pages"], len(api["samples"])) == (45, 1, 1, 45)
    monkeypatch.setattr("leaderboard.api.SAMPLES_PAGE_SIZE", 20)
    finish(started_run(benchmark, "Bump again", n=1), lambda i: True)
    api = client.get(f"/api/runs/{run.id}/samples/?problem=HumanEval/0&page=3").json()
    assert (api["page"], api["pages"], [s["index"] for s in api["samples"]]) == (3, 3, [40, 41, 42, 43, 44])


def test_a_change_made_by_another_process_shows_on_the_next_request(client, benchmark):
    """The embedded default runs the worker apart from the web server: the version lives in the database."""
    from conftest import worker_environment

    finish(started_run(benchmark, "Done"), lambda i: True)
    run = started_run(benchmark, "Elsewhere")
    assert 'class="status executing">evaluating' in text(client, "/")
    assert queries(client, "/")[0] == 1
    script = (
        "import django; django.setup()\n"
        "from leaderboard.runs.models import Run\n"
        "from leaderboard.runs.services import stop_run\n"
        f"stop_run({run.id}, status=Run.Status.CANCELLED, reason='Stopped by a worker.')\n"
    )
    env = worker_environment(connection.settings_dict["NAME"]) | {
        "DJANGO_SETTINGS_MODULE": "leaderboard.settings"
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert 'class="status executing">evaluating' not in text(client, "/")
    assert "Stopped by a worker." in text(client, f"/runs/{run.id}/")
