"""HumanEval+ (EvalPlus v0.1.10, Liu et al., 2023): HumanEval's problems with 80x larger test suites.

The shipped file is EvalPlus's "OriginFmt": each problem's tests are inlined into HumanEval's own
`check(candidate)`, so HumanEval's prompts, stops, sampling and judging apply unchanged and every
function here delegates to `humaneval`. Task ids are HumanEval's, so a HumanEval sample file (or a
finished HumanEval run) is judged here as is. Only the time limits differ: a larger suite takes
longer, so each problem carries its own limit (`docs/humanevalplus.md`).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.benchmarks import TIME_LIMIT, Benchmark, Problem, content_hash, humaneval
from evaluation.benchmarks.contract import Column, Figure, JudgedSample, Judgement, Judging, SampleResult
from evaluation.execution import run_each

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from evaluation.sandbox import Job, Outcome

NAME = "humaneval-plus"
TITLE = "HumanEval+"
EXTENDS = "humaneval"  # the benchmark whose samples this one judges again
JUDGING = Judging.EXECUTED
TEMPLATES = humaneval.TEMPLATES
DEFAULT_TEMPLATE = humaneval.DEFAULT_TEMPLATE
STOP_SEQUENCES = humaneval.STOP_SEQUENCES
SAMPLING = humaneval.SAMPLING
COLUMNS = tuple(Column(f"plus:pass@{k}", f"pass@{k}", f"pass@{k}", group=TITLE) for k in (1, 10, 100))

DATA = Path(__file__).resolve().parents[1] / "data" / "humanevalplus"
# EvalPlus's rule, per program: max(the paper's 3 s, FACTOR x the canonical solution's time measured
# in our sandbox, REFERENCE_TIMES). EvalPlus's own factor is 4.
FLOOR_SECONDS = TIME_LIMIT
FACTOR = 4.0
REFERENCE_TIMES = DATA / "reference_times.json"
# Upstream's one broken test, repaired on load (the shipped file stays EvalPlus's, byte for byte):
# OriginFmt's HumanEval/32 unpacks the float find_zero returns (`_poly(*candidate(*inp), inp)`), a
# TypeError for every program, the reference included. EvalPlus's own evaluator checks the root.
REPAIRS: dict[str, tuple[str, str]] = {
    "HumanEval/32": (
        "assert _poly(*candidate(*inp), inp) <= 0.0001",
        "assert abs(_poly(*inp, candidate(*inp))) <= 0.0001",
    ),
}


def default_path() -> Path:
    """The copy the project ships (Apache-2.0, `LICENSE.humanevalplus` beside it)."""
    return DATA / "HumanEvalPlus-OriginFmt.jsonl.gz"


def time_limit(reference_seconds: float | None) -> float:
    """A problem's limit: the paper's 3 s, or FACTOR times its canonical solution's time if longer."""
    return max(FLOOR_SECONDS, FACTOR * (reference_seconds or 0.0))


def load(source: str | Path | None = None) -> Benchmark:
    """HumanEval's loader on an OriginFmt file; each problem's metadata holds its time limit (a
    problem without a measured reference time gets the floor)."""
    path = Path(source) if source else default_path()
    _refuse_native_layout(path)
    reference = json.loads(REFERENCE_TIMES.read_text(encoding="utf-8"))
    problems = tuple(
        replace(
            problem,
            test=_repaired(problem),
            metadata={
                **problem.metadata,
                "reference_seconds": reference.get(problem.task_id),
                "time_limit": time_limit(reference.get(problem.task_id)),
            },
        )
        for problem in humaneval.load(path).problems
    )
    return Benchmark(name=NAME, content_hash=content_hash(problems), problems=problems)


def _refuse_native_layout(path: Path) -> None:
    """EvalPlus's native file (`HumanEvalPlus.jsonl.gz`) keeps HumanEval's own `check` in `test` and
    the new inputs apart: loaded as HumanEval it would silently judge on HumanEval's tests."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        first = next((line for line in handle if line.strip()), "{}")
    if "plus_input" in json.loads(first):
        raise ValueError(
            f"{path.name} is EvalPlus's native layout (plus_input beside HumanEval's tests); "
            "HumanEval+ is read from the OriginFmt file, whose check() holds the larger suites"
        )


def _repaired(problem: Problem) -> str:
    old, new = REPAIRS.get(problem.task_id, ("", ""))
    return problem.test.replace(old, new) if old else problem.test


def prompt(problem: Problem, template: str = "") -> str:
    return humaneval.prompt(problem, template)


def jobs(problem: Problem, completion: str, timeout: float, template: str | None = None) -> list[Job]:
    """HumanEval's one run, with at least the problem's own limit: a larger suite takes longer."""
    limit = max(timeout, problem.metadata.get("time_limit", FLOOR_SECONDS))
    return humaneval.jobs(problem, completion, limit, template)


def judge(problem: Problem, outcomes: list[Outcome]) -> Judgement:
    return humaneval.judge(problem, outcomes)


def evaluate(
    problems: dict[str, Problem],
    samples: Iterable[tuple[str, int, str]],
    sandbox: object,
    timeout: float = TIME_LIMIT,
    template: str | None = None,
) -> Iterator[SampleResult]:
    """HumanEval's scheduling with this module's limits."""
    return run_each(jobs, judge, problems, samples, sandbox, timeout, template)


def figures(samples: Sequence[JudgedSample]) -> list[Figure]:
    return humaneval.figures(samples)


def summarize(results: Sequence[SampleResult]) -> dict[str, float]:
    return humaneval.summarize(results)
