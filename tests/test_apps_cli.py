"""APPS through the command line a new user runs (`python -m evaluation execute`), on the real data:
the published verdicts are the reference checker's, strict is judged beside them, and MapCoder's
layout can be judged as MapCoder judged it. Numbers and explanations: docs/apps.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SANDBOX_NEEDS_ROOT

from evaluation.benchmarks import apps

ROOT = Path(__file__).resolve().parents[1]

# hendrycks/apps eval/testing_util.py itself (run_test, 4 s per test) on the first three reference
# solutions of each CodeChain train problem fails these 7 of 429 and passes the rest: 2006 and 2020
# import fractions.gcd (gone since Python 3.9); 2378 and 2391 print another valid answer whose
# tokens differ, which its comparison rejects too (docs/apps.md, Checks against the real data).
REFERENCE_CHECKER_FAILS = {
    ("2006", 1),
    ("2006", 2),
    ("2020", 1),
    ("2378", 0),
    ("2378", 1),
    ("2391", 1),
    ("2391", 2),
}
# Problems whose answer is not unique, where a reference solution prints another valid answer, its
# tokens in another order (2386's first solution prints them sorted: a wrong program that the
# reference checker passes): the reference comparison passes them, strict does not.
NOT_UNIQUE = {"2", "5", "24", "33", "2023", "2029", "2033", "2365", "2386", "2398", "2400"}
# What docs/apps.md explains (none among these 429 here): the reference fails correct programs that
# read lines with `readline()[:-1]` (its readline drops the newline) or call the functions its
# reliability_guard sets to None (`os.getcwd`, `exit`); we pass them. Never more than this many.
EXPLAINED_DIFFERENCES = 5
# MapCoder's GPT-4-Turbo Direct samples: 2183's tests take 3 to 4 s here, so it passes or times
# out depending on the machine; 2064's program prints its Yes/No lines in the wrong order, which
# the reference checker's comparison of lines as sets passes and MapCoder's harness did not.
NEAR_THE_TIME_LIMIT = {"2183"}
REFERENCE_FALSE_PASSES = {"2064"}


def execute(tmp_path: Path, *options: str) -> tuple[list[dict], dict]:
    """`python -m evaluation execute --benchmark apps ...`: the per-sample rows and the figures."""
    out = tmp_path / "results.jsonl"
    command = [sys.executable, "-m", "evaluation", "execute", "--benchmark", "apps", "--workers", "2"]
    done = subprocess.run(
        [*command, "--out", str(out), *options], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return [json.loads(line) for line in out.read_text().splitlines()], json.loads(
        done.stdout.splitlines()[-1]
    )


def write_samples(path: Path, samples: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"task_id": t, "completion": c}) + "\n" for t, c in samples))
    return path


def test_execute_help_says_what_it_does_and_lists_the_options():
    done = subprocess.run(
        [sys.executable, "-m", "evaluation", "execute", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "Run a sample file against a benchmark's unit tests" in text
    assert "--comparison {reference,strict}" in text and "reference checker's rules, default" in text
    assert "--protocol {apps,stdin}" in text


def test_an_option_the_benchmark_does_not_have_is_refused(tmp_path):
    samples = write_samples(tmp_path / "s.jsonl", [("HumanEval/0", "    return True\n")])
    command = [sys.executable, "-m", "evaluation", "execute", "--samples", str(samples)]
    out = tmp_path / "out.jsonl"
    refused = subprocess.run(
        [*command, "--out", str(out), "--comparison", "strict"], cwd=ROOT, capture_output=True, text=True
    )
    assert refused.returncode == 2 and not out.exists()
    assert refused.stderr.strip() == "error: benchmark humaneval has no --comparison option"


@SANDBOX_NEEDS_ROOT
def test_reference_solutions_get_the_reference_checkers_verdicts(tmp_path, shared_data):
    source = shared_data / "apps" / "codechain_train150.jsonl"
    rows = [json.loads(line) for line in source.read_text().splitlines()]
    samples = [
        (str(row["problem_id"]), solution) for row in rows for solution in json.loads(row["solutions"])[:3]
    ]
    assert len(samples) == 429
    results, figures = execute(
        tmp_path,
        *("--problems", str(source), "--timeout", "4"),
        *("--samples", str(write_samples(tmp_path / "solutions.jsonl", samples))),
    )
    assert len(results) == 429 and figures["samples"] == 429
    ours = {(r["task_id"], r["sample"]): r for r in results}
    differences = {
        key for key, r in ours.items() if (r["verdict"] == "passed") == (key in REFERENCE_CHECKER_FAILS)
    }
    assert len(differences) <= EXPLAINED_DIFFERENCES, sorted(differences)
    assert all(ours[key]["verdict"] == "passed" for key in differences), sorted(differences)

    # Strict, judged on the same runs: it fails only correct programs printing another valid answer.
    strict_only = {
        key for key, r in ours.items() if r["verdict"] == "passed" and r["strict_verdict"] != "passed"
    }
    assert {task_id for task_id, _ in strict_only} == NOT_UNIQUE and len(strict_only) == 17
    assert all(ours[key]["strict_reason"].startswith("wrong answer on hidden test") for key in strict_only)
    assert not [r for r in results if r["strict_verdict"] == "passed" and r["verdict"] != "passed"]
    overall = figures["figures"]["overall"]
    assert overall["strict"]["pass@1"] < overall["raw"]["pass@1"]


@SANDBOX_NEEDS_ROOT
def test_mapcoder_samples_judged_as_mapcoder_judged_them(tmp_path, shared_data):
    problems_file = shared_data / "apps" / "mapcoder_train150.jsonl"
    path = shared_data / "samples" / "apps_mapcoder" / "GPT4-Turbo-Direct-APPS-Python3-0-1.jsonl"
    recorded = [json.loads(line) for line in path.read_text().splitlines()]
    judgeable = apps.read(problems_file, protocol="stdin").benchmark.by_task_id()
    rows = [row for row in recorded if str(row["id"]) in judgeable]
    assert len(rows) == 76
    # Rows left out (expected outputs that are not text, rejected by MapCoder's harness too) are unsolved.
    assert sum(row["is_solved"] for row in recorded) == sum(row["is_solved"] for row in rows) == 19
    samples = write_samples(
        tmp_path / "samples.jsonl", [(str(row["id"]), row["source_codes"][-1]) for row in rows]
    )
    results, _ = execute(
        tmp_path,
        "--problems",
        str(problems_file),
        "--samples",
        str(samples),
        "--protocol",
        "stdin",
        "--allow-missing",
    )
    assert [r["task_id"] for r in results] == [str(row["id"]) for row in rows]  # file order, row by row
    solved = sum(r["verdict"] == "passed" for r in results)
    assert abs(solved - 19) <= 3, solved
    for result, row in zip(results, rows, strict=True):
        if result["task_id"] in NEAR_THE_TIME_LIMIT:
            continue
        assert (result["strict_verdict"] == "passed") == row["is_solved"], result["task_id"]
        if result["task_id"] not in REFERENCE_FALSE_PASSES:
            assert (result["verdict"] == "passed") == row["is_solved"], result["task_id"]
