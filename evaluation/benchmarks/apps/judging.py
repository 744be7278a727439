"""Judging one sample: the sandbox runs it needs (`jobs`), each test's verdict from its run's
outcome, the per-program cap, and the sample's verdict (`judge`).

Expected outputs never enter the sandbox: outcomes are compared here, in the trusted process,
by the rules of `checker`.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evaluation.benchmarks import TIME_LIMIT, Problem
from evaluation.benchmarks.apps.checker import (
    COMPARISONS,
    DEFAULT_COMPARISON,
    STRICT,
    returned_matches,
    stdout_matches,
)
from evaluation.benchmarks.apps.prompts import program
from evaluation.execution import Judgement

# The names the reference checker imports ahead of every program: programs written for APPS
# rely on them (LeetCode starters annotate with List without importing it).
PREAMBLE = (
    "import sys\nimport time\nimport itertools\n"
    "from itertools import accumulate, product, permutations, combinations\nimport collections\n"
    "from collections import Counter, OrderedDict, deque, defaultdict, ChainMap\n"
    "from functools import lru_cache\nimport math\n"
    "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\n"
    "import fractions\nfrom typing import List, Tuple\nimport random\nimport heapq\nfrom heapq import *\n"
)
STDIN_NAMES = "stdin = sys.stdin\nstdout = sys.stdout\n"
_USES_NP = re.compile(r"\bnp\b")


@dataclass(frozen=True)
class Test:
    kind: str  # "public" or "hidden"
    index: int
    given: Any  # stdin text, or the argument list of a call
    expected: Any
    run: int  # which job runs its input


def tests_of(problem: Problem) -> list[Test]:
    """Public tests first, then hidden ones; tests sharing an input share one run."""
    hidden = json.loads(problem.test)
    public = problem.metadata["public_tests"]
    runs: dict[str, int] = {}
    tests = []
    for kind, group in (("public", public), ("hidden", hidden)):
        for index, (given, expected) in enumerate(zip(group["inputs"], group["outputs"], strict=True)):
            key = json.dumps(given, sort_keys=True)
            run = runs.setdefault(key, len(runs))
            tests.append(Test(kind, index, given, expected, run))
    return tests


def _call_arguments(args: list[Any]) -> list[Any]:
    """JSON turned a dict argument's integer keys into strings; the reference turns them back."""
    first = args[0] if args else None
    if (
        isinstance(first, dict)
        and first
        and all(isinstance(k, str) and re.fullmatch(r"[+-]?\d+", k) for k in first)
    ):
        return [{int(key): value for key, value in first.items()}, *args[1:]]
    return args


def jobs(
    problem: Problem,
    completion: str,
    timeout: float = TIME_LIMIT,
    template: str | None = None,
    *,
    preamble: bool = True,
) -> list[Any]:
    """One sandbox job per distinct test input (public examples first, then hidden tests), for
    the program the completion stands for in `template` (see `program`).

    Standard-input problems run the program as __main__ with the input on stdin; call-based
    ones call `fn_name` (or `Solution().fn_name`). `preamble` puts the reference checker's
    imports ahead of the program (numpy as np only for programs that name `np`), and runs a
    standard-input program that only compiles inside a function the way the reference runs
    every program: as the body of a function."""
    from evaluation.sandbox import Job

    program_text = program(problem, completion, template)
    fn_name = problem.metadata["fn_name"]
    if preamble:
        numpy = "import numpy as np\n" if _USES_NP.search(program_text) else ""
        if fn_name:
            program_text = PREAMBLE + numpy + program_text
        else:
            program_text = PREAMBLE + numpy + STDIN_NAMES + _as_script(program_text)
    made: dict[int, Any] = {}
    for test in tests_of(problem):
        if test.run in made:
            continue
        if fn_name:
            made[test.run] = Job(
                program=program_text, call=(fn_name, _call_arguments(test.given)), timeout=timeout
            )
        else:
            made[test.run] = Job(program=program_text, stdin=test.given, timeout=timeout)
    return [made[run] for run in sorted(made)]


def _compiles(source: str) -> bool:
    """Whether Python accepts the text (compiled only, never run, in this trusted process)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "program.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def _as_script(program_text: str) -> str:
    """The program itself when it compiles; otherwise, when it compiles as the body of a
    function (a top-level `return` or `nonlocal`, accepted by the reference, which wraps every
    program in `def code():`), that function and a call to it. Leading imports stay outside."""
    if _compiles(program_text):
        return program_text
    lines = program_text.split("\n")
    start = next((i for i, line in enumerate(lines) if not line.startswith(("import ", "from "))), len(lines))
    body = "".join("    " + line + "\n" for line in lines[start:])
    wrapped = "".join(line + "\n" for line in lines[:start]) + "def code():\n" + body + "\ncode()\n"
    return wrapped if _compiles(wrapped) else program_text


_FAILURES = ("wrong_answer", "runtime_error")
Verdicts = list[tuple[str, str]]  # (verdict, message) per test
CLIP_CHARACTERS = 500
CLIP_LINES = 20


def test_verdict(fn_name: str, test: Test, outcome: Any, comparison: str) -> tuple[str, str]:
    """(verdict, message) of one test from its run's outcome."""
    if outcome is None or outcome.status == "not_run":
        return "not_run", "" if outcome is None else outcome.detail
    if outcome.status == "timeout":
        return "timeout", outcome.detail
    if outcome.status == "oom":
        return "runtime_error", outcome.detail or "out of memory"
    exited = outcome.status == "passed" or (not fn_name and outcome.detail.startswith("SystemExit"))
    if not exited:
        return "runtime_error", outcome.detail
    if fn_name:
        right = returned_matches(outcome.returned, test.expected, comparison)
    else:
        right = stdout_matches(outcome.stdout, test.expected, comparison)
    return ("passed" if right else "wrong_answer"), ""


def stop(verdicts: Sequence[str | None], max_timeouts: int | None) -> tuple[int, bool]:
    """The per-program cap, walking the hidden tests in order: (how many count, decided?).

    The first wrong answer or runtime error ends the run (the sample has failed whatever
    follows), and so does the `max_timeouts`-th timeout (the tests left are counted as timeouts).
    A test not yet run (None) leaves the walk undecided. `max_timeouts` None: no cap at all."""
    timeouts = 0
    for position, verdict in enumerate(verdicts):
        if verdict is None:
            return position, False
        if max_timeouts is None:
            continue
        if verdict in _FAILURES or verdict == "not_run":
            return position + 1, True
        if verdict == "timeout":
            timeouts += 1
            if timeouts >= max_timeouts:
                return position + 1, True
    return len(verdicts), True


def clip(value: Any) -> str:
    """Text for display: at most CLIP_LINES lines and CLIP_CHARACTERS characters, marked when cut."""
    text = value if isinstance(value, str) else repr(value)
    lines = text.split("\n")
    shown = "\n".join(lines[:CLIP_LINES])[:CLIP_CHARACTERS]
    if len(shown) < len(text):
        return f"{shown}… [{len(text) - len(shown)} more characters]"
    return text


def judge(
    problem: Problem,
    outcomes: Sequence[Any],
    comparison: str = DEFAULT_COMPARISON,
    max_timeouts: int | None = 3,
) -> Judgement:
    """A sample's verdict from its runs' outcomes (aligned with `jobs`; None for runs not made).

    `verdict` is passed / failed / timeout (None when our side could not run it), `status` the
    first hidden test's verdict that is not a pass, `tests` the per-test rows, and `extra`
    holds `difficulty`, `public_passed`, `public_timed_out_only`, `hidden_passed`,
    `hidden_total`, `public_tests_source` and `strict_verdict`: the verdict the same outcomes get
    under the strict comparison, a diagnostic beside the published one (with `strict_reason` when
    the two differ). A sample with no hidden test executed is never a pass; verdict "timeout"
    means it failed no test but timed out on some (Table 2's parentheses). Hidden tests after the
    per-program cap's stop are "skipped" (see `stop`); `max_timeouts=None` judges every test."""
    if comparison not in COMPARISONS:
        raise ValueError(f"unknown comparison {comparison!r}; known: {', '.join(COMPARISONS)}")
    fn_name = problem.metadata["fn_name"]
    tests = tests_of(problem)

    def outcome_of(test: Test) -> Any:
        return outcomes[test.run] if test.run < len(outcomes) else None

    public_verdicts, hidden_verdicts = _verdicts(fn_name, tests, outcome_of, comparison, max_timeouts)
    rows = [
        _test_row(fn_name, test, verdict, message, outcome_of(test))
        for test, (verdict, message) in zip(tests, public_verdicts + hidden_verdicts, strict=True)
    ]
    kinds = [v for v, _ in hidden_verdicts]
    public_kinds = [v for v, _ in public_verdicts]
    verdict, status, reason = _decision(public_verdicts, hidden_verdicts)
    if comparison == STRICT:
        strict_verdict, strict_reason = verdict, reason
    else:
        strict_verdict, _, strict_reason = _decision(
            *_verdicts(fn_name, tests, outcome_of, STRICT, max_timeouts)
        )
    extra: dict[str, Any] = {
        "difficulty": problem.metadata["difficulty"],
        "public_passed": bool(public_kinds) and all(v == "passed" for v in public_kinds),
        "public_timed_out_only": _timed_out_only(public_kinds),
        "hidden_passed": kinds.count("passed"),
        "hidden_total": len(kinds),
        "public_tests_source": problem.metadata["public_tests_source"],
        "strict_verdict": strict_verdict,
    }
    if strict_verdict != verdict:
        extra["strict_reason"] = clip(strict_reason)
    run_time = sum(getattr(outcome, "wall_time", 0.0) for outcome in outcomes if outcome is not None)
    if verdict is not None and kinds:
        reason += f"; public examples: {public_kinds.count('passed')}/{len(public_kinds)} passed"
    return Judgement(verdict, status, reason, run_time, rows, extra)


def decided(
    problem: Problem, tests: list[Test], outcomes: Sequence[Any], comparison: str, max_timeouts: int | None
) -> bool:
    """Whether the runs made so far (None for the others) decide the sample's verdict under
    `comparison` and under the strict comparison judged beside it (see `stop`); `tests` are
    `tests_of(problem)`."""
    fn_name = problem.metadata["fn_name"]
    hidden = [t for t in tests if t.kind == "hidden"]
    return all(
        stop(
            [
                None if outcomes[t.run] is None else test_verdict(fn_name, t, outcomes[t.run], name)[0]
                for t in hidden
            ],
            max_timeouts,
        )[1]
        for name in dict.fromkeys((comparison, STRICT))
    )


def _verdicts(
    fn_name: str, tests: list[Test], outcome_of: Any, comparison: str, max_timeouts: int | None
) -> tuple[Verdicts, Verdicts]:
    """(verdict, message) of the public examples and of the hidden tests under one comparison;
    hidden tests after the cap's stop are "skipped", runs that should have been made "not_run"."""
    public = [test_verdict(fn_name, t, outcome_of(t), comparison) for t in tests if t.kind == "public"]
    hidden_tests = [t for t in tests if t.kind == "hidden"]
    ran = [
        test_verdict(fn_name, t, outcome_of(t), comparison) if outcome_of(t) is not None else None
        for t in hidden_tests
    ]
    counted, _ = stop([v[0] if v else None for v in ran], max_timeouts)
    hidden = [ran[i] or ("not_run", "") for i in range(counted)]
    return public, hidden + [("skipped", "")] * (len(hidden_tests) - counted)


def _decision(public: Verdicts, hidden: Verdicts) -> tuple[str | None, str, str]:
    """(verdict, status, reason) of a sample from its tests' verdicts."""
    kinds = [v for v, _ in hidden]
    if "not_run" in kinds or any(v == "not_run" for v, _ in public):
        failure = next(m for v, m in public + hidden if v == "not_run")
        return None, "not_run", f"could not be run: {failure or 'a run is missing'}"
    if not hidden:
        return "failed", "no_tests", "no hidden test was run"
    first = next(((i, v, m) for i, (v, m) in enumerate(hidden) if v != "passed"), None)
    if first is None:
        return "passed", "passed", f"passed all {len(hidden)} hidden tests"
    position, verdict, message = first
    if _timed_out_only(kinds):
        timeouts = sum(v in ("timeout", "skipped") for v in kinds)
        return "timeout", "timeout", f"failed no test, timed out on {timeouts} of {len(hidden)} hidden tests"
    suffix = f": {clip(message)}" if message else ""
    return (
        "failed",
        verdict,
        f"{verdict.replace('_', ' ')} on hidden test {position + 1} of {len(hidden)}{suffix}",
    )


def _timed_out_only(kinds: list[str]) -> bool:
    """No wrong answer or runtime error, and at least one timeout (tests cut by the cap count as such)."""
    return bool(kinds) and "timeout" in kinds and all(v in ("passed", "timeout", "skipped") for v in kinds)


def _test_row(fn_name: str, test: Test, verdict: str, message: str, outcome: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": test.kind, "index": test.index, "verdict": verdict}
    if verdict == "skipped":
        return row
    row["time"] = round(getattr(outcome, "wall_time", 0.0), 4)
    if verdict == "passed":
        return row
    row["input"] = clip(test.given)
    row["expected"] = clip(test.expected)
    if outcome is not None and verdict in ("wrong_answer", "runtime_error"):
        row["got"] = clip(outcome.returned) if fn_name else clip(outcome.stdout)
    if message:
        row["message"] = clip(message)
    return row
