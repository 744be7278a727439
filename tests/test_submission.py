"""Accounts, the submission form and its validation, approval, the queue and its states."""

from __future__ import annotations

import json
import struct

import pytest
from conftest import PASSWORD
from django.contrib.auth.models import User
from django.test import Client, override_settings

from leaderboard import services
from leaderboard.models import Submission
from leaderboard.runs.models import Benchmark, CodeModel, Problem, Run

pytestmark = pytest.mark.django_db

FORM = {
    "display_name": "SantaCoder",
    "family": "BigCode",
    "location": "bigcode/santacoder",
    "revision": "main",
    "precision": "bfloat16",
    "parameters": "1.1B",
    "benchmarks": ["humaneval"],
    "temperatures": "0.2, 0.8",
    "ks": ["1", "10"],
    "n": "20",
    "max_new_tokens": "300",
    "prompt_template": "",
}


def submit(client, **changes):
    return client.post("/submit/", {**FORM, **changes})


def errors(response) -> str:
    assert response.status_code == 200, "the form should be shown again"
    return " ".join(str(e) for field in response.context["form"].errors.values() for e in field)


def test_sign_up_sign_in_and_out(client, benchmark):
    response = client.post(
        "/accounts/signup/",
        {"username": "ada", "password1": "correct horse battery", "password2": "correct horse battery"},
    )
    assert response.status_code == 302 and response["Location"] == "/submit/"
    assert "ada" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Sign in" in client.get("/").content.decode()
    assert (
        client.post("/accounts/login/", {"username": "ada", "password": "correct horse battery"}).status_code
        == 302
    )
    response = client.post("/accounts/signup/", {"username": "ada", "password1": "x", "password2": "y"})
    assert response.status_code == 200 and User.objects.count() == 1


def test_submitting_needs_an_account_and_a_csrf_token(benchmark):
    anonymous = Client()
    response = anonymous.get("/submit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.create_user("u", password=PASSWORD))
    assert strict.post("/submit/", FORM).status_code == 403
    assert 'name="csrfmiddlewaretoken"' in strict.get("/submit/").content.decode()
    assert not Submission.objects.exists()


def test_a_valid_submission_waits_for_approval(client, author):
    response = submit(client)
    assert response.status_code == 302 and response["Location"].startswith("/queue/#submission-")
    submission = Submission.objects.get()
    assert (submission.author, submission.hub_id, submission.parameters) == (
        author,
        "bigcode/santacoder",
        1_100_000_000,
    )
    assert submission.temperatures == [0.2, 0.8] and submission.ks == [1, 10] and submission.n == 20
    assert submission.status == "pending" and not submission.runs.exists() and not Run.objects.exists()
    html = client.get("/queue/").content.decode()
    assert "waits for approval" in html and 'class="status pending"' in html and 'class="cancel"' in html
    assert 'class="approve"' not in html


@override_settings(SUBMISSIONS_NEED_APPROVAL=False)
def test_without_approval_runs_are_created_and_queued_at_once(client, author, benchmark):
    apps = Benchmark.objects.create(name="apps", content_hash="a" * 64)
    Problem.objects.create(benchmark=apps, position=0, task_id="apps/0", prompt="p", test="{}")
    submit(client, benchmarks=["humaneval", "apps"], temperatures="0, 0.8")
    submission = Submission.objects.get()
    runs = sorted(
        submission.runs.select_related("benchmark"), key=lambda r: (r.benchmark.name, r.temperature)
    )
    assert [(r.benchmark.name, r.temperature, r.n, r.status) for r in runs] == [
        ("apps", 0.0, 1, "generating"),
        ("apps", 0.8, 20, "generating"),
        ("humaneval", 0.0, 1, "generating"),
        ("humaneval", 0.8, 20, "generating"),
    ]
    assert [r.prompt_template for r in runs] == ["apps-codex-v1", "apps-codex-v1", "", ""]
    assert runs[3].samples_total == 164 * 20 and runs[3].max_new_tokens == 300
    model = CodeModel.objects.get(name="SantaCoder")
    assert (model.source, model.hub_id, model.revision, model.parameters) == (
        "hub",
        "bigcode/santacoder",
        "main",
        1_100_000_000,
    )
    assert submission.status == "approved" and submission.model == model
    state = client.get("/api/submissions/").json()["rows"][0]
    assert (state["state"], state["total"]) == ("generating", 1 + 20 + 164 + 164 * 20)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"location": "not a hub id!"}, "is not a hub id"),
        ({"location": "a/b/c"}, "is not a hub id"),
        ({"location": "owner/--name"}, "is not a hub id"),
        ({"location": "relative/../path"}, "is not a hub id"),
        ({"revision": "../../etc"}, "is not a revision"),
        ({"n": "5"}, "n = 5 samples cannot estimate pass@10"),
        ({"n": "0"}, "greater than or equal to 1"),
        ({"temperatures": "0.2, 3"}, "Temperature 3 is out of range"),
        ({"temperatures": "-1"}, "Temperature -1 is out of range"),
        ({"temperatures": "hot"}, "“hot” is not a number"),
        ({"temperatures": ""}, "This field is required"),
        ({"parameters": "lots"}, "is not a parameter count"),
        ({"benchmarks": ["humaneval-docstrings"]}, "Select a valid choice"),
        ({"benchmarks": []}, "This field is required"),
        ({"display_name": "   "}, "This field is required"),
        ({"prompt_template": "apps-codex-v1"}, "Select a valid choice"),
        ({"location": "/etc"}, "Local models must lie in a folder the workers share"),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(client, author, changes, message):
    assert message in errors(submit(client, **changes))
    assert not Submission.objects.exists() and not CodeModel.objects.exists()


def test_a_template_must_belong_to_a_chosen_benchmark(client, author):
    Benchmark.objects.create(name="apps", content_hash="a" * 64)
    message = errors(submit(client, prompt_template="apps-codex-1shot-v1"))
    assert "belongs to none of the chosen benchmarks" in message
    assert submit(client, prompt_template="apps-codex-1shot-v1", benchmarks=["apps"]).status_code == 302


def test_duplicates_of_queued_running_or_finished_submissions_are_refused(client, author, staff):
    assert submit(client).status_code == 302
    assert "already submitted as #" in errors(submit(client, display_name="Another name"))
    assert submit(client, temperatures="0.4").status_code == 302
    first = Submission.objects.get(temperatures=[0.2, 0.8])
    staff.post(f"/submissions/{first.id}/approve/")
    message = errors(submit(client, temperatures="0.8, 0.2"))
    assert f"#{first.id}" in message and "generating" in message
    first.runs.update(status=Run.Status.FINISHED)
    assert "finished" in errors(submit(client))
    first.runs.filter(temperature=0.2).update(status=Run.Status.FAILED, error="CUDA out of memory")
    assert submit(client).status_code == 302, "a failed submission may be tried again"


@override_settings(SUBMISSIONS_PER_WEEK=2)
def test_an_author_may_submit_a_set_number_per_week(client, author):
    assert submit(client, temperatures="0.1").status_code == 302
    assert submit(client, temperatures="0.2").status_code == 302
    message = errors(submit(client, temperatures="0.3"))
    assert "You have made 2 submissions in the last 7 days, the most allowed (2)" in message
    cancelled = Submission.objects.first()
    client.post(f"/submissions/{cancelled.id}/cancel/")
    assert submit(client, temperatures="0.3").status_code == 302, "a cancelled submission does not count"
    assert Submission.objects.count() == 3


def test_a_display_name_taken_by_another_model_is_refused(client, author):
    CodeModel.objects.create(name="SantaCoder", hub_id="someone/else")
    assert "Another model is already called “SantaCoder”" in errors(submit(client))


def test_staff_approve_and_reject_others_cannot(client, author, staff):
    submit(client)
    submit(client, temperatures="0.5")
    first, second = Submission.objects.order_by("id")
    assert client.post(f"/submissions/{first.id}/approve/").status_code == 403
    assert 'class="approve"' in staff.get("/queue/").content.decode()
    staff.post(f"/submissions/{first.id}/approve/")
    first.refresh_from_db()
    assert first.status == "approved" and first.decided_by.username == "staff" and first.runs.count() == 2
    assert set(first.runs.values_list("status", flat=True)) == {"generating"}
    response = staff.post(f"/submissions/{first.id}/approve/", follow=True)
    assert "is approved, no longer pending" in response.content.decode() and first.runs.count() == 2
    assert staff.post(f"/submissions/{second.id}/reject/", {"reason": ""}).status_code == 302
    second.refresh_from_db()
    assert second.status == "pending"
    staff.post(f"/submissions/{second.id}/reject/", {"reason": "No licence <b>file</b>"})
    second.refresh_from_db()
    assert second.status == "rejected" and not second.runs.exists()
    html = client.get("/queue/").content.decode()
    assert "No licence &lt;b&gt;file&lt;/b&gt;" in html and 'class="status rejected"' in html


def test_authors_cancel_only_their_own_pending_submissions(client, author, staff):
    submit(client)
    submission = Submission.objects.get()
    other = Client()
    other.force_login(User.objects.create_user("other", password=PASSWORD))
    assert 'class="cancel"' not in other.get("/queue/").content.decode()
    response = other.post(f"/submissions/{submission.id}/cancel/", follow=True)
    assert "Only its author can cancel" in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == "pending"
    assert client.get(f"/submissions/{submission.id}/cancel/").status_code == 405
    client.post(f"/submissions/{submission.id}/cancel/")
    submission.refresh_from_db()
    assert submission.status == "cancelled"
    staff.post(f"/submissions/{submission.id}/approve/")
    submission.refresh_from_db()
    assert submission.status == "cancelled" and not Run.objects.exists()


def test_queue_states_follow_the_runs(client, author, staff):
    submit(client, display_name="<script>alert(1)</script>")
    submission = Submission.objects.get()

    def state():
        row = client.get("/api/submissions/").json()["rows"][0]
        return row["state"], row["reason"], row["generated"], row["executed"], row["total"]

    assert state() == ("pending", "", 0, 0, 0)
    staff.post(f"/submissions/{submission.id}/approve/")
    low, high = submission.runs.order_by("temperature")
    assert state() == ("generating", "", 0, 0, 2 * 164 * 20)
    low.status = Run.Status.EXECUTING
    low.samples_executed = 100
    low.save()
    assert state()[:2] == ("generating", "")
    high.status = Run.Status.EXECUTING
    high.save()
    assert state() == ("executing", "", 2 * 164 * 20, 100, 2 * 164 * 20)
    Run.objects.filter(id__in=[low.id, high.id]).update(status=Run.Status.FINISHED)
    assert state()[0] == "finished"
    Run.objects.filter(id=high.id).update(status=Run.Status.FAILED, reason="model not found on the hub")
    assert state()[:2] == ("failed", "humaneval at T=0.8: model not found on the hub")
    html = client.get("/queue/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "model not found on the hub" in html


def safetensors_file(path, shapes: dict[str, list[int]]) -> None:
    header = {
        name: {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]} for name, shape in shapes.items()
    }
    header["__metadata__"] = {"format": "pt"}
    data = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(data)) + data)


def test_the_parameter_count_is_read_from_a_local_folder(client, author, tmp_path):
    folder = tmp_path / "models" / "tiny"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(
        json.dumps({"n_embd": 64, "n_layer": 2, "vocab_size": 400, "n_positions": 128})
    )
    with override_settings(SUBMISSION_MODEL_ROOTS=[str(tmp_path / "models")]):
        assert (
            submit(client, location=str(folder), parameters="", display_name="Estimated").status_code == 302
        )
        estimated = Submission.objects.get(display_name="Estimated")
        assert estimated.parameters == 2 * (4 * 64 * 64 + 2 * 64 * 256) + 400 * 64 + 128 * 64
        assert (estimated.local_path, estimated.parameters_source) == (
            str(folder),
            "estimated from config.json",
        )
        safetensors_file(folder / "model-1.safetensors", {"a": [10, 20], "b": [5]})
        safetensors_file(folder / "model-2.safetensors", {"c": [3, 3, 3]})
        submit(client, location=str(folder), parameters="", display_name="Exact", temperatures="0.5")
        exact = Submission.objects.get(display_name="Exact")
        assert (exact.parameters, exact.parameters_source) == (200 + 5 + 27, "safetensors headers")
        assert "There is no model folder with a config.json" in errors(
            submit(client, location=str(tmp_path / "models"))
        )
        assert "Local models must lie" in errors(submit(client, location=str(folder / ".." / ".." / "..")))


HUB_ANSWERS = {
    "/api/models/bigcode/santacoder/revision/main": {
        "id": "bigcode/santacoder",
        "safetensors": {"total": 1_124_886_528},
    },
    "/api/models/org/old/revision/v1.0": {"id": "org/old"},
    "/org/old/resolve/v1.0/config.json": {
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "vocab_size": 10,
        "intermediate_size": 64,
    },
}


@pytest.fixture
def fake_hub(json_server):
    url, _ = json_server(HUB_ANSWERS.get)
    return url


def test_the_parameter_count_is_read_from_the_hub_when_it_answers(client, author, fake_hub):
    with override_settings(HUB_URL=fake_hub):
        assert submit(client, parameters="").status_code == 302
        assert Submission.objects.get().parameters == 1_124_886_528
        submit(client, parameters="", location="org/old", revision="v1.0", display_name="Old")
        old = Submission.objects.get(display_name="Old")
        assert old.parameters == 2 * 32 * 32 + 2 * 32 * 32 + 2 * 32 * 64 + 10 * 32
        assert "The hub answered 404 for org/missing@main" in errors(
            submit(client, parameters="", location="org/missing")
        )


@override_settings(HUB_URL="http://127.0.0.1:9", HUB_TIMEOUT=2)
def test_an_unreachable_hub_asks_for_the_count_by_hand(client, author):
    message = errors(submit(client, parameters=""))
    assert (
        "could not be reached from this server" in message and "Enter the parameter count by hand" in message
    )
    assert not Submission.objects.exists()
    assert submit(client, parameters="1124886528").status_code == 302


def test_admin_action_approves(staff, client, author):
    submit(client)
    submission = Submission.objects.get()
    User.objects.filter(username="staff").update(is_superuser=True)
    response = staff.post(
        "/admin/leaderboard/submission/",
        {"action": "approve", "_selected_action": [submission.id]},
        follow=True,
    )
    assert (
        response.status_code == 200 and f"Submission #{submission.id} approved." in response.content.decode()
    )
    assert Submission.objects.get().status == "approved"


def test_services_refuse_what_the_form_would(author, benchmark):
    request = services.Request(
        hub_id="o/m",
        local_path="",
        revision="main",
        precision="float16",
        benchmarks=["nope"],
        temperatures=[0.2],
        n=1,
        max_new_tokens=100,
    )
    with pytest.raises(services.SubmissionError, match="Not loaded on this site: nope"):
        services.create_submission(author, display_name="M", request=request, ks=[1])
    assert not Submission.objects.exists()
