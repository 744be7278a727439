"""Generation runs through the database and real Celery workers, with a tiny model built here."""

import json
import shlex
import subprocess
import sys

import pytest
from conftest import ROOT, wait_for
from django.test import Client

from evaluation.benchmarks import Benchmark, content_hash, humaneval
from evaluation.generation.backends import load_backend
from leaderboard.runs.models import CodeModel, Run
from leaderboard.runs.services import (
    create_generation_run,
    generate_samples,
    load_benchmark,
)
from leaderboard.runs.tasks import start_generation


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir


def small_humaneval(count: int = 3):
    """A few HumanEval problems as a benchmark version of their own (its content hash differs)."""
    problems = humaneval.load().problems[:count]
    return load_benchmark(Benchmark("humaneval", content_hash(problems), problems))[0]


def tiny_run(model_dir, n=3):
    model = CodeModel.objects.create(
        name="tiny-gpt2", source=CodeModel.Source.LOCAL, local_path=str(model_dir)
    )
    return create_generation_run(model, small_humaneval(), temperature=0.8, n=n, max_new_tokens=24)


@pytest.mark.django_db
def test_a_retried_chunk_adds_nothing_and_reproduces_its_samples(model_dir):
    run = tiny_run(model_dir)
    problem = run.benchmark.problems.first()
    backend = load_backend(str(model_dir))
    first = generate_samples(run.id, problem.id, [0, 1, 2], backend)
    texts = dict(run.samples.values_list("index", "completion"))
    assert len(first) == 3
    assert generate_samples(run.id, problem.id, [0, 1, 2], backend) == first
    assert run.samples.count() == 3
    run.samples.filter(index=1).delete()  # a worker died after sampling index 1 but before it was stored
    generate_samples(run.id, problem.id, [0, 1, 2], backend)
    assert dict(run.samples.values_list("index", "completion")) == texts
    assert all(s.sum_logprob <= 0 and s.mean_logprob is not None for s in run.samples.all())


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_generation_worker_hands_each_chunk_to_the_execution_worker(model_dir, start_worker, tmp_path):
    run = tiny_run(model_dir)
    start_worker("generation")
    start_worker("execution")
    assert start_generation(run) == 3
    wait_for(lambda: Run.objects.get(id=run.id).status == Run.Status.FINISHED, timeout=300, message="the run")
    run.refresh_from_db()
    assert run.samples.count() == run.samples_total == 9
    assert sorted(run.samples.values_list("problem__position", "index")) == [
        (p, i) for p in range(3) for i in range(3)
    ]
    assert not run.samples.filter(verdict="").exists()
    assert run.results.get(metric="pass@1").value >= 0.0
    ranking = run.results.filter(variant__startswith="ranking:")
    assert set(ranking.values_list("metric", flat=True)) == {"k=1", "k=2"}
    assert ranking.get(variant="ranking:oracle", metric="k=1").value == run.results.get(metric="pass@1").value

    # The receipt: every fact recorded where the work ran, and a command that judges the exported
    # samples again, offline, to the same verdicts.
    client = Client()
    record = client.get(f"/api/runs/{run.id}/").json()
    receipt = record["receipt"]
    assert receipt["benchmark"]["content_hash"] == run.benchmark.content_hash
    assert set(receipt["project"]) == {"generation", "execution"} and all(receipt["project"].values())
    assert {"torch", "transformers", "python"} <= set(receipt["libraries"]["generation"])
    assert receipt["hardware"]["generation"]["cpu"] and receipt["hardware"]["execution"]["cpus"] >= 1
    assert receipt["model"]["precision"] == run.precision and receipt["model"]["dtype"] == "float32"
    assert receipt["sampling"] == {
        "temperature": 0.8,
        "top_p": 0.95,
        "n": 3,
        "max_new_tokens": 24,
        "stop_sequences": list(run.stop_sequences),
        "prompt_template": "",
        "seed": 0,
    }
    assert receipt["sandbox"]["mode"] == "strict" and "seccomp" in receipt["sandbox"]["layers"]
    assert receipt["timeout"] == run.timeout
    samples = tmp_path / f"run-{run.id}-samples.jsonl"
    samples.write_bytes(b"".join(client.get(record["download"]["samples"]).streaming_content))
    command = shlex.split(receipt["reproduce"])
    assert command[:4] == ["python", "-m", "evaluation", "execute"]
    out = tmp_path / "verdicts.jsonl"
    command = [sys.executable, *command[1:]]
    command[command.index("--out") + 1] = str(out)
    command[command.index("--samples") + 1] = str(samples)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    again = {
        (row["task_id"], row["sample"]): row["verdict"]
        for row in map(json.loads, out.read_text().splitlines())
    }
    stored = {(t, i): v for t, i, v in run.samples.values_list("problem__task_id", "index", "verdict")}
    assert again == stored
    published = b"".join(client.get(record["download"]["verdicts"]).streaming_content).decode().splitlines()
    assert {(row["task_id"], row["sample"]): row["verdict"] for row in map(json.loads, published)} == stored
