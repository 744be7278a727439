"""Generation runs through the database and real Celery workers, with a tiny model built here."""

import pytest
from conftest import wait_for

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
def test_generation_worker_hands_each_chunk_to_the_execution_worker(model_dir, start_worker):
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
