"""Failure anatomy: each judged sample in one outcome class."""

import pytest
from conftest import SANDBOX_NEEDS_ROOT
from django.core.management import call_command

from evaluation.benchmarks import Benchmark, content_hash, humaneval
from evaluation.outcomes import Outcome, classify, ordered
from evaluation.samples import SampleRecord
from evaluation.sandbox import Sandbox
from leaderboard.runs import services


def test_each_kind_of_failure_has_its_class():
    cases = [
        (("passed", "passed", ""), Outcome.PASSED),
        (("failed", "failed", "AssertionError"), Outcome.WRONG_ANSWER),
        (("failed", "wrong_answer", "wrong answer on hidden test 2 of 9"), Outcome.WRONG_ANSWER),
        (("failed", "failed", "SyntaxError: '(' was never closed (<sample>, line 12)"), Outcome.SYNTAX_ERROR),
        (("failed", "failed", "IndentationError: unexpected indent"), Outcome.SYNTAX_ERROR),
        (("failed", "failed", "NameError: name 'x' is not defined"), "NameError"),
        (
            ("failed", "runtime_error", "runtime error on hidden test 1 of 4: ZeroDivisionError: x"),
            "ZeroDivisionError",
        ),
        (("failed", "failed", "SystemExit: 3"), "SystemExit"),
        (("timeout", "timeout", "killed after 3 s"), Outcome.TIMEOUT),
        (("failed", "oom", "out of memory (limit 4096 MiB): MemoryError"), Outcome.OUT_OF_MEMORY),
        ((None, "not_run", "sandbox: could not start"), Outcome.NOT_RUN),
        (("failed", "crashed", "killed by signal 11"), Outcome.OTHER),
    ]
    for (verdict, status, detail), expected in cases:
        assert classify(verdict, status, detail) == expected, detail


def test_outcomes_are_shown_passes_first_and_the_machine_last():
    assert ordered({"timeout", "TypeError", "passed", "NameError", "wrong answer", "could not be run"}) == [
        "passed",
        "wrong answer",
        "NameError",
        "TypeError",
        "timeout",
        "could not be run",
    ]


@SANDBOX_NEEDS_ROOT
@pytest.mark.django_db
def test_executed_samples_store_their_outcome_and_the_run_page_charts_it(client):
    problems = humaneval.load().problems[:1]
    benchmark = services.load_benchmark(Benchmark("humaneval", content_hash(problems), problems))[0]
    completions = [
        problems[0].canonical_solution,
        "    return undefined_name\n",
        "    return (\n",
        "    return 0\n",
    ]
    records = [SampleRecord("HumanEval/0", i, text) for i, text in enumerate(completions)]
    run = services.create_run_from_records(services.get_or_create_model("Anatomy"), benchmark, records)
    with Sandbox(workers=2) as sandbox:
        for batch in services.pending_batches(run):
            services.execute_samples(run.id, batch, sandbox)
    assert dict(run.samples.values_list("index", "outcome")) == {
        0: "passed",
        1: "NameError",
        2: "syntax error",
        3: "wrong answer",
    }
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert 'id="outcome-figure"' in page and "NameError" in page
    call_command("recheck_run", run=run.id, share=1.0)
    run.refresh_from_db()
    assert run.environment["recheck"]["checked"] == run.environment["recheck"]["agreeing"] == 4
    assert "4 of 4 verdicts agree" in client.get(f"/runs/{run.id}/").content.decode()
    model_page = client.get(f"/models/{run.model_id}/").content.decode()
    assert 'id="outcome-figure"' in model_page
    (row,) = client.get(f"/models/{run.model_id}/?format=json").json()["rows"]
    assert row["outcomes"] == "passed 25.0%; wrong answer 25.0%; syntax error 25.0%; NameError 25.0%"
