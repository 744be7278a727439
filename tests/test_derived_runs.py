"""HumanEval+ for every HumanEval run: the finished run's samples judged again on the larger suites."""

from __future__ import annotations

import pytest
from conftest import SANDBOX_NEEDS_ROOT

from evaluation.benchmarks import Benchmark, content_hash, humaneval, humaneval_plus
from evaluation.samples import SampleRecord
from evaluation.sandbox import Sandbox
from leaderboard.celery import app
from leaderboard.runs import services, tasks
from leaderboard.runs.models import Run

pytestmark = [SANDBOX_NEEDS_ROOT, pytest.mark.django_db]


@pytest.fixture
def eager_tasks():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def stored(module, count: int):
    problems = module.load().problems[:count]
    return services.load_benchmark(Benchmark(module.NAME, content_hash(problems), problems))[0]


def test_a_finished_humaneval_run_is_judged_on_humaneval_plus_too(
    eager_tasks, django_capture_on_commit_callbacks, client
):
    base = stored(humaneval, 3)
    stored(humaneval_plus, 3)
    problems = humaneval.load().problems[:3]
    # HumanEval/0's tests pass `<=` where the problem asks for `<`; HumanEval+'s catch it.
    weak = (
        "    for i in range(len(numbers)):\n        for j in range(len(numbers)):\n"
        "            if i != j and abs(numbers[i] - numbers[j]) <= threshold:\n                return True\n"
        "    return False\n"
    )
    records = [SampleRecord(p.task_id, 0, p.canonical_solution) for p in problems]
    records += [
        SampleRecord(p.task_id, 1, weak if p.task_id == "HumanEval/0" else "    return None\n")
        for p in problems
    ]
    run = services.create_run_from_records(
        services.get_or_create_model("Plus"), base, records, temperature=0.8
    )
    with django_capture_on_commit_callbacks(execute=True):
        for batch in services.pending_batches(run):
            tasks.execute_batch(run.id, batch)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    (derived,) = run.derived.all()
    assert derived.benchmark.name == "humaneval-plus" and derived.status == Run.Status.FINISHED
    assert sorted(derived.samples.values_list("problem__task_id", "index", "completion")) == sorted(
        run.samples.values_list("problem__task_id", "index", "completion")
    )
    base_pass = run.results.get(metric="pass@1").value
    plus_pass = derived.results.get(metric="pass@1").value
    assert plus_pass < base_pass
    (drop,) = [r for r in derived.samples.filter(problem__task_id="HumanEval/0", index=1)]
    assert (
        drop.verdict == "failed"
        and run.samples.get(problem__task_id="HumanEval/0", index=1).verdict == "passed"
    )
    assert services.derive_runs(run.id) == []  # made once
    page = client.get("/tables/humaneval/").content.decode()
    assert "HumanEval+ pass@1" in page and "drop" in page


def test_a_run_the_sweep_finishes_is_judged_on_humaneval_plus_too(
    eager_tasks, django_capture_on_commit_callbacks
):
    """A worker that stored a run's last verdicts and died before finishing it leaves the sweep to
    finish the run: its HumanEval+ run must follow as it does after a last batch."""
    base = stored(humaneval, 2)
    stored(humaneval_plus, 2)
    records = [SampleRecord(p.task_id, 0, p.canonical_solution) for p in humaneval.load().problems[:2]]
    run = services.create_run_from_records(services.get_or_create_model("Swept"), base, records)
    with Sandbox(workers=1) as sandbox:
        for batch in services.pending_batches(run):
            services.execute_samples(run.id, batch, sandbox)
    Run.objects.filter(id=run.id).update(status=Run.Status.EXECUTING, finished_at=None)
    assert not run.derived.exists()
    app.control.purge()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.requeue_if_stuck([[run.id, 2, 2]]) == 0  # nothing to send again: only to finish
    run.refresh_from_db()
    (derived,) = run.derived.all()
    assert run.status == Run.Status.FINISHED and derived.status == Run.Status.FINISHED
    assert derived.results.get(metric="pass@1").value == 1.0
