"""The sandboxed executor on ordinary programs: HumanEval, scripts with stdin, calls, APPS habits."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import SANDBOX_NEEDS_ROOT

from evaluation.benchmarks import humaneval
from evaluation.sandbox import LAYERS, Job, Outcome, Sandbox, SandboxUnavailable, run_jobs, self_test

pytestmark = SANDBOX_NEEDS_ROOT

PROBLEMS = humaneval.load().by_task_id()


def humaneval_job(task_id: str, completion: str | None = None, **kwargs: object) -> Job:
    problem = PROBLEMS[task_id]
    body = problem.canonical_solution if completion is None else completion
    return Job(
        program=problem.prompt + body,
        test=problem.test,
        entry_point=problem.entry_point,
        prompt=problem.prompt,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def box():
    with Sandbox(workers=2) as sandbox:
        yield sandbox


def run(box: Sandbox, jobs: list[Job]) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(jobs)
    for index, outcome in box.run(jobs):
        assert outcomes[index] is None
        outcomes[index] = outcome
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]


def test_self_test_reports_every_layer_working():
    assert self_test() == dict.fromkeys(LAYERS, "")


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "inline"])
def test_every_canonical_humaneval_solution_passes(strict):
    jobs = [humaneval_job(task_id) for task_id in PROBLEMS]
    outcomes = run_jobs(jobs, workers=2, strict=strict)
    failures = {
        job.entry_point: (o.status, o.detail)
        for job, o in zip(jobs, outcomes, strict=True)
        if o.status != "passed"
    }
    assert failures == {}
    assert {o.mode for o in outcomes} == {"strict" if strict else "inline"}
    assert {o.layers for o in outcomes} == {LAYERS}
    assert all(o.verdict == "passed" and o.cpu_time > 0 and o.wall_time > 0 for o in outcomes)


def test_wrong_solutions_fail_with_their_exception(box):
    wrong, missing, raising = run(
        box,
        [
            humaneval_job("HumanEval/0", "    return True\n"),
            humaneval_job("HumanEval/2", "    return undefined_name\n"),
            humaneval_job("HumanEval/3", "    return 1 // 0\n"),
        ],
    )
    assert (wrong.status, wrong.detail) == ("failed", "AssertionError")
    assert (missing.status, missing.detail) == ("failed", "NameError: name 'undefined_name' is not defined")
    assert (raising.status, raising.detail) == (
        "failed",
        "ZeroDivisionError: integer division or modulo by zero",
    )
    assert all(o.verdict == "failed" for o in (wrong, missing, raising))


def test_syntax_error_fails_in_both_modes(box):
    job = humaneval_job("HumanEval/0", "    return (\n")
    (strict,) = run(box, [job])
    (inline,) = run_jobs([job], workers=1, strict=False)
    assert strict.status == inline.status == "failed"
    assert strict.detail.startswith("SyntaxError") and inline.detail.startswith("SyntaxError")


def test_programs_compiled_before_the_fork_or_in_the_sample_behave_alike(box):
    """The zygote compiles programs up to its limit before forking; a longer one is compiled in the
    sample. Either way a compile error is the sample's own failure, reported as Python would."""
    from evaluation.sandbox.zygote import COMPILE_LIMIT

    padding = "# " + "x" * 78 + "\n"
    long_ok = humaneval_job(
        "HumanEval/0", padding * (COMPILE_LIMIT // len(padding) + 1) + "    return False\n"
    )
    long_bad = humaneval_job("HumanEval/0", padding * (COMPILE_LIMIT // len(padding) + 1) + "    return (\n")
    assert len(long_ok.program) > COMPILE_LIMIT
    outcomes = run(
        box,
        [
            long_ok,
            long_bad,
            humaneval_job("HumanEval/0", "    return False\x00\n"),
            humaneval_job("HumanEval/0", "    return " + "(" * 300 + "1" + ")" * 300 + "\n"),
            Job(program="print('never')\nprint(\n", stdin=""),
            Job(program="x = 1\nprint(x is 1)\n", stdin=""),
        ],
    )
    assert [o.status for o in outcomes] == ["failed"] * 5 + ["passed"]
    assert outcomes[0].detail.startswith("AssertionError")  # it ran: has_close_elements is not always False
    assert outcomes[1].detail.startswith("SyntaxError")
    assert outcomes[2].detail.startswith(("SyntaxError", "ValueError"))  # NUL in source
    assert outcomes[3].detail.startswith("SyntaxError: too many nested parentheses")
    assert outcomes[4].detail.startswith("SyntaxError") and outcomes[4].stdout == ""
    assert "SyntaxError" in outcomes[4].stderr
    assert outcomes[5].stdout == "True\n" and "SyntaxWarning" in outcomes[5].stderr


def test_prompt_helpers_come_from_the_trusted_prompt(box):
    """HumanEval/32's test calls the prompt's poly(): a sample that redefines poly to always return
    0 must still fail in strict mode, since the test uses the trusted prompt's poly."""
    problem = PROBLEMS["HumanEval/32"]
    cheat = problem.prompt + "    return 0.0\n\n\ndef poly(xs, x):\n    return 0.0\n"
    (outcome,) = run(
        box, [Job(program=cheat, test=problem.test, entry_point="find_zero", prompt=problem.prompt)]
    )
    assert outcome.status == "failed"


def test_script_mode_reads_stdin_and_captures_stdout(box):
    program = "import sys\nnumbers = [int(x) for x in sys.stdin.read().split()]\nprint(sum(numbers))\n"
    ok, empty = run(box, [Job(program=program, stdin="1 2 3\n4\n"), Job(program="print('hi')")])
    assert (ok.status, ok.stdout, ok.mode) == ("passed", "10\n", "strict")
    assert (empty.status, empty.stdout) == ("passed", "hi\n")


def test_script_mode_failures_and_exits(box):
    outcomes = run(
        box,
        [
            Job(program="print('partial')\nraise ValueError('bad input')\n", stdin=""),
            Job(program="import sys\nprint('x')\nsys.exit(3)\n", stdin=""),
            Job(program="print('done')\nexit()\n", stdin=""),
            Job(program="import sys\nprint('done')\nsys.exit(0)\n", stdin=""),
            Job(program="import os\nos.write(1, b'raw\\n')\nos._exit(0)\n", stdin=""),
            Job(program="input()\n", stdin=""),
        ],
    )
    assert [(o.status, o.stdout) for o in outcomes] == [
        ("failed", "partial\n"),
        ("failed", "x\n"),
        ("passed", "done\n"),
        ("passed", "done\n"),
        ("passed", "raw\n"),
        ("failed", ""),
    ]
    assert outcomes[0].detail == "ValueError: bad input"
    assert "ValueError: bad input" in outcomes[0].stderr
    assert outcomes[1].detail == "SystemExit: 3"
    assert outcomes[5].detail == "EOFError: EOF when reading a line"


def test_apps_habits_work_in_script_mode(box):
    recursion = (
        "import sys, threading, resource\n"
        "resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "sys.setrecursionlimit(10 ** 6)\n"
        "threading.stack_size(2 ** 27)\n"
        "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\n"
        "def main():\n    n = int(input())\n    print(depth(n))\n"
        "threading.Thread(target=main).start()\n"
    )
    fast_io = (
        "import os, sys\n"
        "data = sys.stdin.buffer.read().split()\n"
        "os.write(1, (' '.join(str(int(x) * 2) for x in data) + '\\n').encode())\n"
    )
    multiprocessing = (
        "from multiprocessing import Pool\n"
        "def square(x):\n    return x * x\n"
        "if __name__ == '__main__':\n"
        "    with Pool(2) as pool:\n        print(sum(pool.map(square, range(10))))\n"
    )
    temp_files = (
        "import tempfile, os\n"
        "with tempfile.NamedTemporaryFile('w+', delete=False) as f:\n    f.write('42')\n"
        "print(open(f.name).read(), os.getcwd())\n"
    )
    outcomes = run(
        box,
        [
            Job(program=recursion, stdin="100000\n"),
            Job(program=fast_io, stdin="1 2 3\n"),
            Job(program=multiprocessing, stdin=""),
            Job(program=temp_files, stdin=""),
            Job(program="import numpy\nprint(int(numpy.arange(4).sum()))\n", stdin=""),
        ],
    )
    assert [(o.status, o.stdout) for o in outcomes] == [
        ("passed", "100000\n"),
        ("passed", "2 4 6\n"),
        ("passed", "285\n"),
        ("passed", "42 /tmp\n"),
        ("passed", "6\n"),
    ], [o.detail + o.stderr for o in outcomes]


def test_call_mode_returns_plain_values(box):
    program = (
        "class Solution:\n"
        "    def twoSum(self, nums, target):\n"
        "        seen = {}\n"
        "        for i, x in enumerate(nums):\n"
        "            if target - x in seen:\n"
        "                return [seen[target - x], i]\n"
        "            seen[x] = i\n"
        "def shapes(n):\n"
        "    return (n, [n, 2.5], {'k': {n}}, None, True, 10 ** 40, float('inf'), b'x', 'é')\n"
        "def boom(n):\n"
        "    raise KeyError(n)\n"
        "def opaque(n):\n"
        "    return object()\n"
    )
    two_sum, shapes, boom, opaque, missing = run(
        box,
        [
            Job(program=program, call=("twoSum", [[2, 7, 11, 15], 9])),
            Job(program=program, call=("shapes", [3])),
            Job(program=program, call=("boom", [3])),
            Job(program=program, call=("opaque", [3])),
            Job(program=program, call=("absent", [])),
        ],
    )
    assert (two_sum.status, two_sum.returned) == ("passed", [0, 1])
    assert shapes.returned == (3, [3, 2.5], {"k": {3}}, None, True, 10**40, float("inf"), b"x", "é")
    assert type(shapes.returned[5]) is int
    assert (boom.status, boom.detail, boom.returned) == ("failed", "KeyError: 3", None)
    assert opaque.status == "failed" and "not plain data" in opaque.detail
    assert (missing.status, missing.detail) == ("failed", "NameError: name 'absent' is not defined")


def test_identical_jobs_run_once_and_results_come_back_in_order(box):
    jobs = [humaneval_job("HumanEval/0"), humaneval_job("HumanEval/1")] * 3
    outcomes = run(box, jobs)
    assert outcomes[0] is outcomes[2] is outcomes[4]
    assert outcomes[1] is outcomes[3] is outcomes[5]
    assert outcomes[0] is not outcomes[1]
    assert run_jobs(jobs[:2], workers=1)[1].status == "passed"


def test_timeouts_count_sleeping_and_can_be_rerun(box):
    sleeper = Job(program="import time\ntime.sleep(30)\n", stdin="", timeout=0.3)
    (outcome,) = run(box, [sleeper])
    assert (outcome.status, outcome.verdict, outcome.runs) == ("timeout", "timeout", 1)
    assert outcome.wall_time >= 0.3  # never stopped before its limit
    (again,) = run_jobs([sleeper], workers=1, rerun_timeouts="always")
    assert (again.status, again.runs) == ("timeout", 2) and "re-run" in again.detail


def test_time_waiting_for_a_cpu_is_not_counted():
    """A sample needing 0.6 s of CPU, limit 1 s, on a machine loaded with two busy processes per
    core: its wall time exceeds the limit, but waiting for the CPU does not count, so it passes."""
    spin = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end:\n    pass\n"
    spin += "print('done')\n"
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(2 * len(os.sched_getaffinity(0)))
    ]
    try:
        (outcome,) = run_jobs([Job(program=spin, stdin="", timeout=1.0)], workers=1, rerun_timeouts="never")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert (outcome.status, outcome.stdout) == ("passed", "done\n"), outcome.detail


def test_the_sandbox_refuses_to_start_when_a_layer_fails():
    """Here the zygote cannot set an impossible file limit: no job may run, and the message says why."""
    with pytest.raises(SandboxUnavailable, match="zygote"):
        Sandbox(workers=1, nofile=1 << 40).start()


def test_verdicts_follow_the_paper():
    statuses = ("passed", "failed", "timeout", "oom", "crashed", "not_run")
    verdicts = [Outcome(status=status, detail="").verdict for status in statuses]
    assert verdicts == ["passed", "failed", "timeout", "failed", "failed", None]


def test_a_job_the_sandbox_cannot_set_up_is_not_run():
    """Here the input is larger than the file size limit: our limitation, never the model's fault."""
    (outcome,) = run_jobs([Job(program="print(len(input()))", stdin="x" * (2 << 20))], workers=1, file_mb=1)
    assert (outcome.status, outcome.verdict) == ("not_run", None)
    assert outcome.detail.startswith("sandbox: ")


def test_a_job_waiting_for_its_lane_is_judged_on_its_own_time():
    """One lane, three slots: a quick job may wait while the other slots' samples run out their
    time; the wait is not its time (it starts when its sample starts), so it still passes."""
    sleeper = Job(program="import time\ntime.sleep(30)\n", stdin="", timeout=2.0)
    quick = Job(program="print('quick')\n", stdin="", timeout=0.3)
    jobs = [sleeper, Job(program="import time\ntime.sleep(31)\n", stdin="", timeout=2.0), quick]
    outcomes = run_jobs(jobs, workers=1, pipeline=3, rerun_timeouts="never")
    assert [o.status for o in outcomes] == ["timeout", "timeout", "passed"], outcomes[2].detail
