import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from evaluation.benchmarks import humaneval
from leaderboard.runs.models import Benchmark, CodeModel, Problem, Run, Sample
from leaderboard.runs.services import load_benchmark

pytestmark = pytest.mark.django_db


def sample_file(tmp_path, rows, name="samples.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return path


def test_loading_humaneval_is_idempotent_and_versioned_by_content(tmp_path):
    call_command("load_benchmark", "humaneval")
    call_command("load_benchmark", "humaneval")
    assert Benchmark.objects.count() == 1
    assert Problem.objects.count() == 164
    changed = tmp_path / "HumanEval.jsonl"
    original = humaneval.load()
    with changed.open("w") as out:
        for position, problem in enumerate(original.problems):
            prompt = problem.prompt + ("# edited\n" if position == 0 else "")
            out.write(
                json.dumps(
                    {
                        "task_id": problem.task_id,
                        "prompt": prompt,
                        "test": problem.test,
                        "entry_point": problem.entry_point,
                        "canonical_solution": problem.canonical_solution,
                    }
                )
                + "\n"
            )
    call_command("load_benchmark", "humaneval", source=str(changed))
    versions = Benchmark.objects.filter(name="humaneval")
    assert versions.count() == 2
    assert Problem.objects.count() == 328
    assert len({v.content_hash for v in versions}) == 2


def test_import_command_creates_a_run_of_pending_samples(benchmark, tmp_path):
    rows = [
        {"task_id": p.task_id, "completion": p.canonical_solution + "\ndef extra():\n    pass\n"}
        for p in benchmark.problems.all()
    ]
    call_command(
        "import_samples",
        str(sample_file(tmp_path, rows)),
        model="Model A",
        truncate=True,
        temperature=0.2,
        no_execute=True,
    )
    run = Run.objects.get()
    assert run.model.name == "Model A" and run.n == 1 and run.samples_total == 164
    assert run.temperature == 0.2 and run.stop_sequences == ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]
    sample = run.samples.get(problem__task_id="HumanEval/0")
    assert "extra" not in sample.completion and sample.verdict == ""


@pytest.mark.parametrize(
    "bad_row,message",
    [
        ('{"task_id": "HumanEval/9999", "completion": "x"}', "line 165: unknown task id"),
        ("{oops", "line 165: malformed JSON"),
    ],
)
def test_import_errors_name_the_line_and_change_nothing(benchmark, tmp_path, bad_row, message):
    rows = [json.dumps({"task_id": p.task_id, "completion": "x"}) for p in benchmark.problems.all()]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([*rows, bad_row]))
    with pytest.raises(CommandError, match=message):
        call_command("import_samples", str(path), model="Broken", no_execute=True)
    assert not CodeModel.objects.exists() and not Run.objects.exists() and not Sample.objects.exists()


def test_import_of_a_non_utf8_file_changes_nothing(benchmark, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"task_id": "HumanEval/0", "completion": "café"}'.encode("latin-1"))
    with pytest.raises(CommandError, match="line 1: not valid UTF-8"):
        call_command("import_samples", str(path), model="Latin", no_execute=True)
    assert not Run.objects.exists()


def test_import_of_a_missing_file_or_benchmark_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="benchmark humaneval is not loaded"):
        call_command("import_samples", str(tmp_path / "x.jsonl"), model="M")
    load_benchmark(humaneval.load())
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_samples", str(tmp_path / "x.jsonl"), model="M")


def test_staff_import_page(benchmark, client, django_user_model):
    django_user_model.objects.create_user("plain", password="pw-12345-long")
    client.login(username="plain", password="pw-12345-long")
    assert client.get("/staff/import/").status_code == 403  # signed in, not staff: a clear refusal
    django_user_model.objects.create_user("staff", password="pw-12345-long", is_staff=True)
    client.login(username="staff", password="pw-12345-long")
    bad = b'{"task_id": "HumanEval/0", "completion": "x"}\n{"task_id": "nope", "completion": "x"}'
    response = client.post(
        "/staff/import/",
        {
            "file": SimpleUploadedFile("s.jsonl", bad),
            "model_name": "Uploaded",
            "benchmark": benchmark.id,
            "allow_missing": "on",
        },
    )
    assert response.status_code == 200
    assert "line 2: unknown task id &#x27;nope&#x27;" in response.content.decode()
    assert not Run.objects.exists()
