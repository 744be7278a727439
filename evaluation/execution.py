"""Turning samples into verdicts: the seam between benchmarks and the sandbox.

Each benchmark module offers `jobs(problem, completion, timeout)` (the sandbox runs a sample
needs) and `judge(problem, outcomes)` (one verdict from their outcomes). `evaluate` runs any
number of samples through one sandbox, all cores busy, and yields a result per sample as soon
as its last run finishes.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from evaluation.benchmarks import Problem

BENCHMARKS = {
    "humaneval": "evaluation.benchmarks.humaneval",
    "apps": "evaluation.benchmarks.apps",
}


def benchmark_module(name: str) -> ModuleType:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(sorted(BENCHMARKS))}")
    return importlib.import_module(BENCHMARKS[name])


@dataclass(frozen=True)
class Judgement:
    """A sample's verdict: `verdict` is passed, failed or timeout (None when it could not be run)."""

    verdict: str | None
    status: str
    detail: str
    run_time: float
    tests: list[dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleResult:
    task_id: str
    sample: int
    judgement: Judgement
    execution: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "task_id": self.task_id,
            "sample": self.sample,
            "verdict": self.judgement.verdict,
            "detail": self.judgement.detail,
        }
        if self.judgement.tests is not None:
            row["tests"] = self.judgement.tests
        row.update(self.judgement.extra)
        return row


def counts(results: Iterable[SampleResult]) -> dict[str, tuple[int, int]]:
    """(n, c) per task: samples that could not be run are left out, never counted as failures."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in results:
        if result.judgement.verdict is None:
            continue
        tally[result.task_id][0] += 1
        tally[result.task_id][1] += result.judgement.verdict == "passed"
    return {task_id: (n, c) for task_id, (n, c) in tally.items()}


def evaluate(
    module: ModuleType,
    problems: dict[str, Problem],
    samples: Iterable[tuple[str, int, str]],
    sandbox: Any,
    timeout: float = 3.0,
    template: str | None = None,
) -> Iterator[SampleResult]:
    """Run (task_id, index, completion) samples; yields results as they complete, in any order.

    A benchmark that schedules its own runs (APPS stops a program at its first failing test)
    offers `evaluate` and is handed the samples whole."""
    if hasattr(module, "evaluate"):
        yield from module.evaluate(problems, samples, sandbox, timeout, template)
        return
    samples = list(samples)
    jobs = []
    owner: list[int] = []
    for number, (task_id, _, completion) in enumerate(samples):
        for job in module.jobs(problems[task_id], completion, timeout):
            jobs.append(job)
            owner.append(number)
    expected: dict[int, int] = defaultdict(int)
    for number in owner:
        expected[number] += 1
    if len(expected) != len(samples):
        raise ValueError("the benchmark gave no run for some samples")
    outcomes: dict[int, dict[int, Any]] = defaultdict(dict)
    for job_index, outcome in sandbox.run(jobs):
        number = owner[job_index]
        outcomes[number][job_index] = outcome
        if len(outcomes[number]) == expected[number]:
            task_id, index, _ = samples[number]
            done = outcomes.pop(number)
            ordered = [done[i] for i in sorted(done)]
            first = ordered[0]
            yield SampleResult(
                task_id,
                index,
                module.judge(problems[task_id], ordered),
                {"mode": first.mode, "layers": list(first.layers)},
            )
