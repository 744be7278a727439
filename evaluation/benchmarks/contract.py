"""What every benchmark is: the contract its module implements in full, and the data it exchanges.

A benchmark is a module (`evaluation.benchmarks.humaneval`, `.apps`, `.humaneval_docstrings`)
listed in `evaluation.benchmarks.registry`. Everything outside a benchmark's own module asks it
through these names and never branches on the benchmark's name: the CLI, the generation and
execution workers, the services that store runs, and the pages that show their figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from evaluation.benchmarks import TIME_LIMIT

if TYPE_CHECKING:
    from evaluation.benchmarks import Benchmark, Problem
    from evaluation.sandbox import Job, Outcome


class Judging(StrEnum):
    """Who decides whether a sample is right."""

    EXECUTED = "executed"  # unit tests in the sandbox
    GRADED = "graded"  # people, through the grading app


@dataclass(frozen=True)
class Sampling:
    """A benchmark's default sampling settings: the paper's, unless a submitter asks otherwise."""

    n: int
    temperatures: tuple[float, ...]
    top_p: float = 0.95
    max_new_tokens: int = 300


@dataclass(frozen=True)
class Column:
    """A figure the board shows for each model: its best stored Figure with these keys."""

    key: str
    label: str
    metric: str
    subset: str = "all"
    variant: str = "raw"
    group: str = ""


@dataclass(frozen=True)
class Figure:
    """One published number of a finished (or, for graded runs, partly settled) run."""

    metric: str
    value: float
    subset: str = "all"
    variant: str = "raw"
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class JudgedSample:
    """What the figures of a run are computed from: one sample with its verdict."""

    task_id: str
    verdict: str
    extra: dict[str, Any] = field(default_factory=dict)
    mean_logprob: float | None = None
    sum_logprob: float | None = None
    back_translation: float | None = None


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


@runtime_checkable
class Contract(Protocol):
    """The module-level names every benchmark defines (a module satisfies it structurally)."""

    NAME: str  # the registry's key, stored with every benchmark version
    TITLE: str  # how pages name it
    JUDGING: Judging
    EXTENDS: str  # the benchmark whose finished runs it judges again (HumanEval+: humaneval), or ""
    TEMPLATES: tuple[str, ...]  # prompt templates; empty when the problem's prompt is used as is
    DEFAULT_TEMPLATE: str
    STOP_SEQUENCES: tuple[str, ...]
    SAMPLING: Sampling
    COLUMNS: tuple[Column, ...]  # the board's columns, in order

    def load(self, source: str | Path | None = None) -> Benchmark:
        """The problems, versioned by content hash; None loads the copy the project ships."""
        ...

    def prompt(self, problem: Problem, template: str = "") -> str:
        """What the model is asked to continue."""
        ...

    def jobs(
        self, problem: Problem, completion: str, timeout: float, template: str | None = None
    ) -> list[Job]:
        """The sandbox runs one sample needs (all of them; `evaluate` may schedule fewer)."""
        ...

    def judge(self, problem: Problem, outcomes: list[Outcome]) -> Judgement:
        """A sample's verdict from the outcomes of its runs, in `jobs` order."""
        ...

    def evaluate(
        self,
        problems: dict[str, Problem],
        samples: Iterable[tuple[str, int, str]],
        sandbox: Any,
        timeout: float = TIME_LIMIT,
        template: str | None = None,
    ) -> Iterator[SampleResult]:
        """Judge (task_id, index, completion) samples, yielding a result per sample as it is decided."""
        ...

    def figures(self, samples: Sequence[JudgedSample]) -> list[Figure]:
        """The figures a run publishes, from its judged samples."""
        ...

    def summarize(self, results: Sequence[SampleResult]) -> dict[str, Any]:
        """The CLI's last line: the same figures as one JSON object."""
        ...
