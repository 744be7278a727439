"""Turning samples into verdicts: the seam between benchmarks and the sandbox.

A benchmark says which sandbox runs a sample needs (`jobs`), the verdict from their outcomes
(`judge`) and how to schedule them (`evaluate`); most benchmarks schedule every run at once
through `run_each`, all cores busy, and get a result per sample as soon as its last run finishes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from evaluation.benchmarks import TIME_LIMIT, Problem
from evaluation.benchmarks.contract import JudgedSample, Judgement, SampleResult


def judged(results: Iterable[SampleResult]) -> list[JudgedSample]:
    """The samples a figure counts: those that could not be run are left out, never counted as failures."""
    return [
        JudgedSample(r.task_id, r.judgement.verdict, r.judgement.extra)
        for r in results
        if r.judgement.verdict is not None
    ]


def run_each(
    jobs: Callable[..., list[Any]],
    judge: Callable[[Problem, list[Any]], Judgement],
    problems: dict[str, Problem],
    samples: Iterable[tuple[str, int, str]],
    sandbox: Any,
    timeout: float = TIME_LIMIT,
    template: str | None = None,
) -> Iterator[SampleResult]:
    """Every run of every sample handed to the sandbox at once; a sample is judged when its last run ends."""
    samples = list(samples)
    all_jobs: list[Any] = []
    owner: list[int] = []
    for number, (task_id, _, completion) in enumerate(samples):
        for job in jobs(problems[task_id], completion, timeout, template):
            all_jobs.append(job)
            owner.append(number)
    expected = Counter(owner)  # runs per sample
    if len(expected) != len(samples):
        raise ValueError("the benchmark gave no run for some samples")
    outcomes: dict[int, dict[int, Any]] = defaultdict(dict)
    for job_index, outcome in sandbox.run(all_jobs):
        number = owner[job_index]
        outcomes[number][job_index] = outcome
        if len(outcomes[number]) == expected[number]:
            task_id, index, _ = samples[number]
            done = outcomes.pop(number)
            ordered: Sequence[Any] = [done[i] for i in sorted(done)]
            first = ordered[0]
            yield SampleResult(
                task_id,
                index,
                judge(problems[task_id], list(ordered)),
                {"mode": first.mode, "layers": list(first.layers)},
            )
