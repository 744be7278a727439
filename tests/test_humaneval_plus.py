"""HumanEval+ through the command line: every reference solution passes within its problem's limit,
and the same CodeGen-16B samples pass less often than on HumanEval."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from conftest import ROOT, SANDBOX_NEEDS_ROOT

from evaluation.benchmarks import humaneval, humaneval_plus
from evaluation.samples import SHIPPED, read_samples

CODEGEN = SHIPPED / "humaneval_codegen16b_t0.8_n100_raw.jsonl.gz"
PER_PROBLEM = 10
PROBLEMS = 30  # HumanEval/0-29, ten samples each: 300 programs, about 40 s on HumanEval+ with 2 slots


def execute(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evaluation", "execute", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def run_cli(benchmark: str, samples: Path, out: Path, *extra: str) -> tuple[dict, dict]:
    """The figures (last line of output) and the verdict rows by (task_id, sample)."""
    process = execute("--benchmark", benchmark, "--samples", str(samples), "--out", str(out), *extra)
    assert process.returncode == 0, process.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return json.loads(process.stdout.strip().splitlines()[-1]), {(r["task_id"], r["sample"]): r for r in rows}


def test_the_shipped_copy_is_humaneval_with_larger_suites():
    plus, base = humaneval_plus.load(), humaneval.load()
    assert plus.name == "humaneval-plus" and len(plus.problems) == 164
    assert [p.task_id for p in plus.problems] == [p.task_id for p in base.problems]
    by_id = base.by_task_id()
    assert [p.task_id for p in plus.problems if p.prompt != by_id[p.task_id].prompt] == ["HumanEval/115"]
    assert [p.entry_point for p in plus.problems] == [p.entry_point for p in base.problems]
    assert sum(len(p.test) for p in plus.problems) > 50 * sum(len(p.test) for p in base.problems)
    readme = (humaneval_plus.DATA / "README.md").read_text()
    assert "v0.1.10" in readme and "Apache-2.0" in readme
    assert "Apache License" in (humaneval_plus.DATA / "LICENSE.humanevalplus").read_text()


def test_the_shipped_copy_is_the_published_file(shared_data):
    published = shared_data / "humaneval" / "HumanEvalPlus-OriginFmt.jsonl.gz"
    assert humaneval_plus.default_path().read_bytes() == published.read_bytes()


def test_humaneval_32s_broken_assertion_is_repaired_on_load():
    old, new = humaneval_plus.REPAIRS["HumanEval/32"]
    with gzip.open(humaneval_plus.default_path(), "rt") as handle:
        published = next(json.loads(line) for line in handle if '"HumanEval/32"' in line)
    assert old in published["test"]
    test = humaneval_plus.load().by_task_id()["HumanEval/32"].test
    assert old not in test and new in test


def test_each_problem_gets_max_of_3_s_and_4_times_its_reference_time():
    measured = json.loads(humaneval_plus.REFERENCE_TIMES.read_text())
    problems = humaneval_plus.load().problems
    assert set(measured) == {p.task_id for p in problems}
    for problem in problems:
        limit = max(3.0, 4 * measured[problem.task_id])
        assert problem.metadata["time_limit"] == limit
        (job,) = humaneval_plus.jobs(problem, "    pass\n", 3.0)
        assert job.timeout == limit
        (job,) = humaneval_plus.jobs(problem, "    pass\n", 500.0)
        assert job.timeout == 500.0
    slow = {p.task_id for p in problems if p.metadata["time_limit"] > 3.0}
    assert {"HumanEval/15", "HumanEval/130", "HumanEval/139"} <= slow


def test_the_native_layout_is_refused_with_a_clear_message(tmp_path):
    native = tmp_path / "HumanEvalPlus.jsonl"
    row = humaneval.load().problems[0]
    native.write_text(json.dumps({**asdict(row), "plus_input": [], "base_input": []}) + "\n")
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": row.task_id, "completion": "    return True\n"}) + "\n")
    process = execute(
        "--benchmark", "humaneval-plus", "--problems", str(native), "--samples", str(samples),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert process.returncode == 2
    assert "native layout" in process.stderr and "Traceback" not in process.stderr
    assert not (tmp_path / "out").exists()


@SANDBOX_NEEDS_ROOT
def test_every_canonical_solution_passes_within_its_problems_limit(tmp_path):
    """With the default --timeout 3: the slow problems pass because of their own limits."""
    benchmark = humaneval_plus.load()
    samples = tmp_path / "canonical.jsonl"
    samples.write_text(
        "".join(
            json.dumps({"task_id": p.task_id, "completion": p.canonical_solution}) + "\n"
            for p in benchmark.problems
        )
    )
    figures, rows = run_cli("humaneval-plus", samples, tmp_path / "results.jsonl")
    assert len(rows) == 164
    assert [row for row in rows.values() if row["verdict"] != "passed"] == []
    assert figures["benchmark"] == "humaneval-plus" and figures["version"] == benchmark.version
    assert figures["pass@1"] == 1.0


@SANDBOX_NEEDS_ROOT
def test_codegen_samples_pass_less_often_than_on_humaneval(tmp_path):
    """The first ten raw samples of the first problems, judged by both benchmarks from one file."""
    rows: dict[str, list[str]] = {}
    for record in read_samples(CODEGEN, humaneval.load()):
        if record.index < PER_PROBLEM and int(record.task_id.split("/")[1]) < PROBLEMS:
            rows.setdefault(record.task_id, []).append(record.completion)
    samples = tmp_path / "codegen.jsonl"
    samples.write_text("\n".join(json.dumps({"task_id": t, "samples": s}) for t, s in rows.items()))
    options = ("--truncate", "codex", "--allow-missing")
    base, base_rows = run_cli("humaneval", samples, tmp_path / "humaneval.jsonl", *options)
    plus, plus_rows = run_cli("humaneval-plus", samples, tmp_path / "plus.jsonl", *options)
    assert len(base_rows) == len(plus_rows) == PROBLEMS * PER_PROBLEM
    assert plus["pass@1"] < base["pass@1"]
    verdicts = {key: (row["verdict"], plus_rows[key]["verdict"]) for key, row in base_rows.items()}
    caught = [key for key, (before, after) in verdicts.items() if before == "passed" and after != "passed"]
    assert len(caught) >= 5, caught
    # More tests only take passes away: no sample fails HumanEval's asserts yet passes the larger suite.
    gained = [key for key, pair in verdicts.items() if pair == ("failed", "passed")]
    assert gained == []
