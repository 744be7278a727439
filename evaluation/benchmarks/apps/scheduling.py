"""Scheduling a batch of samples: the sandbox runs go out in waves so that the per-program cap
saves the runs a decided sample no longer needs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from evaluation.benchmarks import TIME_LIMIT, Problem
from evaluation.benchmarks.apps.checker import COMPARISONS, DEFAULT_COMPARISON
from evaluation.benchmarks.apps.judging import Test, decided, jobs, judge, tests_of
from evaluation.execution import SampleResult


@dataclass
class _Pending:
    task_id: str
    sample: int
    problem: Problem
    jobs: list[Any]
    tests: list[Test]
    outcomes: list[Any] = field(default_factory=list)
    wave: int = 0

    def next_runs(self) -> list[int]:
        """Runs for the next wave: public examples at first, then 1, 2, 4, ... hidden tests."""
        public = {t.run for t in self.tests if t.kind == "public"} if self.wave == 0 else set()
        hidden = list(
            dict.fromkeys(t.run for t in self.tests if t.kind == "hidden" and self.outcomes[t.run] is None)
        )
        self.wave += 1
        return sorted(public | set(hidden[: 2 ** (self.wave - 1)]))

    def decided(self, comparison: str, max_timeouts: int | None) -> bool:
        return decided(self.problem, self.tests, self.outcomes, comparison, max_timeouts)


def evaluate(
    problems: dict[str, Problem],
    samples: Iterable[tuple[str, int, str]],
    sandbox: Any,
    timeout: float = TIME_LIMIT,
    template_name: str | None = None,
    *,
    comparison: str = DEFAULT_COMPARISON,
    max_timeouts: int | None = 3,
    preamble: bool = True,
) -> Iterator[SampleResult]:
    """Judge (task_id, index, completion) samples; `evaluation.execution.evaluate` calls this for APPS.

    Runs go to the sandbox in waves: all public examples and the first hidden test, then the
    next 2, 4, 8, ... hidden tests of the samples the per-program cap has not stopped, so a
    sample that fails early costs few runs; a sample is decided when both its published verdict
    (`comparison`) and the strict one judged beside it are. Results come out as samples are
    decided (see `judge`)."""
    if comparison not in COMPARISONS:
        raise ValueError(f"unknown comparison {comparison!r}; known: {', '.join(COMPARISONS)}")
    pending: list[_Pending] = []
    for task_id, index, completion in samples:
        if task_id not in problems:
            raise ValueError(f"task_id {task_id!r} is not an APPS problem of this benchmark")
        problem = problems[task_id]
        made = jobs(problem, completion, timeout, template_name, preamble=preamble)
        pending.append(_Pending(task_id, index, problem, made, tests_of(problem), [None] * len(made)))
    while pending:
        batch = [(entry, run) for entry in pending for run in entry.next_runs()]
        for position, outcome in sandbox.run([entry.jobs[run] for entry, run in batch]):
            entry, run = batch[position]
            entry.outcomes[run] = outcome
        waiting = {id(entry) for entry, _ in batch}
        still: list[_Pending] = []
        for entry in pending:
            if id(entry) in waiting and not entry.decided(comparison, max_timeouts):
                still.append(entry)
                continue
            judged = judge(entry.problem, entry.outcomes, comparison, max_timeouts)
            made = next((outcome for outcome in entry.outcomes if outcome is not None), None)
            execution = {"mode": getattr(made, "mode", ""), "layers": list(getattr(made, "layers", ()))}
            yield SampleResult(entry.task_id, entry.sample, judged, execution)
        pending = still
