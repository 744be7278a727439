"""The grading pages: roles, the blind and escaped screen, revising, Table 3, quality and exports."""

import csv
import io
import json

import pytest
from django.contrib.auth.models import Group, User

from evaluation.samples import SampleRecord
from grading import services
from grading.models import Grade, Item
from leaderboard.runs.models import Result
from leaderboard.runs.services import (
    create_run_from_records,
    load_benchmark,
    update_results,
)

pytestmark = pytest.mark.django_db

HOSTILE_DOCSTRING = '</pre><script>alert("doc")</script> Returns the <b>sum</b>.'
HOSTILE_CODE = 'def f():\n    return "</script><img src=x onerror=alert(1)>"'


@pytest.fixture(autouse=True)
def one_grade_per_item(settings):
    """These tests settle an item with one grade; the agreement share has a test of its own."""
    settings.GRADING_AGREEMENT_SHARE = 0.0


def docstring_csv(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["task_id", "solution_id", "function_signature", "code", "comment"])
    writer.writerows([task, solution, "", code, comment] for task, solution, code, comment in rows)
    return out.getvalue().encode()


@pytest.fixture
def run():
    rows = [
        (0, 1, HOSTILE_CODE, HOSTILE_DOCSTRING),
        (0, 2, "def g():\n    return 2", "Returns two."),
        (1, 1, "x = 1", "=HYPERLINK(1)"),
    ]
    return services.import_docstrings(
        services.parse_docstring_csv(docstring_csv(rows)), "Secret-Model-XYZ", temperature=0.8
    )


def user_in(name, *groups, **fields):
    user = User.objects.create_user(name, password="pw", **fields)
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def ann(client):
    user = user_in("ann", "annotators")
    client.force_login(user)
    return user


def test_only_signed_in_annotators_grade(client, run):
    response = client.get("/grading/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(user_in("visitor"))
    response = client.get("/grading/")
    assert response.status_code == 403 and "annotators group" in response.content.decode()
    assert (
        client.post(f"/grading/items/{Item.objects.first().id}/grade/", {"label": "correct"}).status_code
        == 403
    )
    assert not Grade.objects.exists()


def test_screen_is_blind_escaped_and_shows_keys(client, ann, run):
    Item.objects.filter(run=run).exclude(index=0, problem__task_id="HumanEval/0").update(target=0)
    page = client.get("/grading/").content.decode()
    assert "Secret-Model-XYZ" not in page and "0.8" not in page and "HumanEval/0" not in page
    assert '<script>alert("doc")' not in page and "&lt;/pre&gt;&lt;script&gt;alert(&quot;doc&quot;)" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    for key in ("C", "I", "S", "N", "1", "5"):
        assert f"<kbd>{key}</kbd>" in page
    assert 'class="highlight' in page or 'class="code"' in page


def test_grading_through_the_forms_then_revising(client, ann, run):
    first = services.next_item(ann)
    response = client.post(
        f"/grading/items/{first.id}/grade/",
        {
            "label": "incorrect",
            "reasons": ["missing_detail", "invented"],
            "note": "<b>vague</b>",
            "seconds": "7.5",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/grading/"
    grade = Grade.objects.get()
    assert (grade.label, grade.reasons, grade.time_spent) == (
        "incorrect",
        ["missing_detail", "invented"],
        7.5,
    )
    page = client.get("/grading/").content.decode()
    assert f'href="/grading/items/{first.id}/"' in page and "<kbd>B</kbd>" in page
    revise = client.get(f"/grading/items/{first.id}/").content.decode()
    assert "Revise your grade" in revise and "&lt;b&gt;vague&lt;/b&gt;" in revise
    assert 'value="missing_detail" data-key="1" checked' in revise
    client.post(f"/grading/items/{first.id}/grade/", {"label": "correct", "note": ""})
    grade.refresh_from_db()
    assert (grade.label, grade.reasons, grade.revisions) == ("correct", [], 1)
    history = client.get("/grading/mine/").content.decode()
    assert "(revised)" in history


def test_skip_and_bad_posts_are_refused_with_a_message(client, ann, run):
    item = services.next_item(ann)
    response = client.post(f"/grading/items/{item.id}/skip/", {"reason": "broken"}, follow=True)
    assert response.status_code == 200 and item.skips.get().reason == "broken"
    held = ann.grading_claims.get().item
    other = Item.objects.exclude(pk__in=[item.pk, held.pk]).get()
    response = client.post(f"/grading/items/{other.id}/grade/", {"label": "correct"}, follow=True)
    assert "not assigned to you" in response.content.decode()
    response = client.post(f"/grading/items/{other.id}/grade/", {"label": "maybe"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert client.get(f"/grading/items/{other.id}/").status_code == 404


def test_table_shows_docstring_and_code_generation_figures(client, ann, run):
    humaneval = load_benchmark(__import__("evaluation.benchmarks.humaneval", fromlist=["load"]).load())[0]
    records = [
        SampleRecord(p.task_id, i, "    return 1\n") for p in humaneval.problems.all() for i in range(10)
    ]
    code_run = create_run_from_records(run.model, humaneval, records, temperature=0.8)
    code_run.samples.update(verdict="failed")
    code_run.samples.filter(index=0).update(verdict="passed")
    update_results(code_run.id)
    while (item := services.next_item(ann)) is not None:
        services.grade(ann, item.id, "correct" if item.index == 0 else "incorrect")
    update_results(run.id)
    page = client.get("/grading/table/").content.decode()
    assert "Secret-Model-XYZ" in page
    assert Result.objects.get(run=run, metric="pass@1").value == pytest.approx((0.5 + 1.0) / 2)
    assert "75.0" in page and "10.0" in page and "3 of 3 graded" in page


def test_quality_adjudication_and_exports_are_for_reviewers(client, run):
    graders = [user_in(f"g{n}", "annotators") for n in range(2)]
    Item.objects.filter(run=run).update(target=2)
    services.create_gold_items()
    for user in graders:
        while (item := services.next_item(user)) is not None:
            services.grade(user, item.id, "correct" if user == graders[0] else "incorrect", note="=1+1")
    client.force_login(graders[0])
    assert client.get("/grading/quality/").status_code == 403
    assert client.get("/grading/export.csv").status_code == 403
    reviewer = user_in("rev", "reviewers")
    client.force_login(reviewer)
    quality = client.get("/grading/quality/").content.decode()
    assert "Krippendorff" in quality and "unreliable" in quality
    queue = client.get("/grading/adjudication/").content.decode()
    assert queue.count("Decide</a>") == 3
    disputed = Item.objects.filter(run=run, label_status="unresolved").first()
    client.post(f"/grading/adjudication/{disputed.id}/", {"label": "correct", "note": "fine"})
    disputed.refresh_from_db()
    assert (disputed.label, disputed.label_status) == ("correct", "adjudicated")
    rows = list(csv.DictReader(io.StringIO(client.get("/grading/export.csv").content.decode())))
    assert len(rows) == Grade.objects.count() == 6
    assert {r["grader"] for r in rows} == {"g0", "g1"} and rows[0]["note"] == "'=1+1"
    assert {r["model"] for r in rows} == {"Secret-Model-XYZ"}
    data = json.loads(client.get("/grading/export.json").content)
    assert data[0]["note"] == "=1+1" and data[0]["time_spent"] >= 0 and "reasons" in data[0]


def test_roles_are_created_by_a_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= {"annotators", "reviewers"}
