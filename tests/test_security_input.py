"""Bad input gets a clear message and changes nothing: huge numbers in the board's filters, hostile
sample files on the staff import, hub ids typed in another case, and hub look-ups that cost the hub."""

from __future__ import annotations

import gzip
import json
from types import SimpleNamespace

import pytest
from conftest import PASSWORD
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from evaluation import samples
from evaluation.benchmarks import humaneval
from leaderboard.forms import SubmissionForm
from leaderboard.models import Submission
from leaderboard.runs.models import CodeModel, Run, Sample

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["min_size=1e300", "max_size=1e300", "min_size=1e300&max_size=1e301"])
def test_huge_sizes_in_the_board_filters_are_reported_and_ignored(client, query):
    page = client.get(f"/?{query}")
    assert page.status_code == 200
    assert "filter ignored" in page.content.decode()
    assert client.get(f"/api/board/?{query}").status_code == 200


def rows(benchmark) -> list[dict]:
    return [{"task_id": p.task_id, "completion": "    return 1\n"} for p in benchmark.problems.all()]


def deeply_nested() -> bytes:
    return (
        '{"task_id": "HumanEval/0", "completion": "x", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    ).encode()


def corrupt_gzip(data: bytes) -> bytes:
    """A gzip file whose deflate stream is damaged (zlib.error, not OSError, from gzip.decompress)."""
    packed = bytearray(gzip.compress(data))
    packed[20] ^= 0xFF
    return bytes(packed)


def import_file(client, benchmark, data: bytes, name: str = "s.jsonl", **fields):
    form = {
        "file": SimpleUploadedFile(name, data),
        "model_name": "Uploaded",
        "benchmark": benchmark.id,
        "allow_missing": "on",
        **fields,
    }
    return client.post("/staff/import/", form)


def errors(response) -> str:
    assert response.status_code == 200, "the form should be shown again"
    return " ".join(str(e) for field in response.context["form"].errors.values() for e in field)


def test_a_small_gzip_that_decompresses_past_the_cap_is_refused(staff, benchmark, monkeypatch):
    monkeypatch.setattr(samples, "MAX_DECOMPRESSED_BYTES", 4 * 2**20)
    bomb = gzip.compress(b"\n" * (64 * 2**20))  # 64 KB on the wire, 64 MB inside
    assert len(bomb) < 100_000
    message = errors(import_file(staff, benchmark, bomb, "bomb.jsonl.gz"))
    assert "larger than 4 MB once decompressed" in message and "Nothing was imported" in message
    assert not CodeModel.objects.exists() and not Run.objects.exists()


def test_decompression_stops_at_the_cap_instead_of_reading_it_all():
    bomb = gzip.compress(b"\n" * (64 * 2**20))
    with pytest.raises(samples.SampleFileError, match="larger than 1 MB once decompressed"):
        samples.parse_samples(bomb, humaneval.load(), max_bytes=2**20)


@pytest.mark.parametrize(
    "data, name, message",
    [
        (
            corrupt_gzip(b'{"task_id": "HumanEval/0", "completion": "x"}\n' * 200),
            "c.jsonl.gz",
            "gzip file is corrupt",
        ),
        (deeply_nested(), "n.jsonl", "line 1: JSON nested too deeply"),
        (
            b'{"task_id": "HumanEval/0", "completion": "x", "mean_logprob": 1' + b"0" * 400 + b"}",
            "big.jsonl",
            "line 1: 'mean_logprob' is too large a number",
        ),
        (b'{"task_id": ' + b"9" * 5000 + b', "completion": "x"}', "digits.jsonl", "line 1: malformed JSON"),
    ],
)
def test_hostile_sample_files_get_a_form_error_and_import_nothing(staff, benchmark, data, name, message):
    result = errors(import_file(staff, benchmark, data, name))
    assert message in result and "Nothing was imported" in result
    assert not CodeModel.objects.exists() and not Run.objects.exists() and not Sample.objects.exists()


def test_an_impossible_parameter_count_is_a_form_error(staff, benchmark):
    data = "\n".join(json.dumps(row) for row in rows(benchmark)).encode()
    message = errors(import_file(staff, benchmark, data, parameters=str(10**20)))
    assert "less than or equal to 100000000000000" in message
    assert not CodeModel.objects.exists() and not Run.objects.exists()
    assert import_file(staff, benchmark, data, parameters=str(10**9)).status_code == 302
    assert CodeModel.objects.get().parameters == 10**9


FORM = {
    "display_name": "Model B",
    "location": "bob/model-b",
    "revision": "main",
    "precision": "bfloat16",
    "parameters": "1B",
    "benchmarks": ["humaneval"],
    "temperatures": "0.2",
    "ks": ["1"],
    "n": "20",
    "max_new_tokens": "300",
    "prompt_template": "",
}


def test_a_hub_id_typed_in_another_case_is_the_same_submission(client, author):
    assert client.post("/submit/", {**FORM, "location": "bob/model-b"}).status_code == 302
    response = client.post("/submit/", {**FORM, "location": "BOB/Model-B", "display_name": "Shouting"})
    assert response.status_code == 200 and "already submitted as #" in response.content.decode()
    assert Submission.objects.count() == 1 and Submission.objects.get().hub_id == "bob/model-b"


@pytest.fixture
def hub(json_server):
    """A hub that gives every model a billion parameters, and the paths it was asked (no cached answers)."""
    cache.clear()
    url, asked = json_server(lambda path: {"safetensors": {"total": 1_000_000_000}})
    yield SimpleNamespace(url=url, asked=asked)
    cache.clear()


def form(user, **changes) -> SubmissionForm:
    data = {**FORM, "parameters": "", **changes}
    return SubmissionForm(data, benchmarks=["humaneval"], user=user)


def test_the_hub_is_asked_only_for_an_otherwise_valid_form(author, hub, client):
    with override_settings(HUB_URL=hub.url):
        invalid = form(author, n="5", ks=["10"])
        assert not invalid.is_valid() and "n" in invalid.errors
        assert not form(author, temperatures="9").is_valid()
        assert client.post("/submit/", {**FORM, "parameters": "", "benchmarks": []}).status_code == 200
        assert hub.asked == []
        valid = form(author)
        assert valid.is_valid(), valid.errors
        assert valid.cleaned_data["parameters"] == 1_000_000_000 and len(hub.asked) == 1


@override_settings(HUB_LOOKUPS_PER_HOUR=3)
def test_hub_look_ups_are_limited_per_user(author, hub):
    other = User.objects.create_user("other", password=PASSWORD)
    with override_settings(HUB_URL=hub.url):
        for _ in range(3):
            assert form(author).is_valid()
        refused = form(author)
        assert not refused.is_valid()
        assert "The hub was asked the size of 3 models in the last hour" in " ".join(
            refused.errors["parameters"]
        )
        assert len(hub.asked) == 3
        assert form(other).is_valid(), "another user has a budget of their own"
        assert form(author, parameters="1B").is_valid(), "a count typed by hand needs no look-up"
        assert len(hub.asked) == 4
