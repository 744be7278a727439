"""APPS on the real data in ../shared, full size: the checks behind docs/apps.md, and what the
per-program cap saves against running every test (the baseline, same samples, same run).

    python bench/bench_apps.py [--solutions 5]

Reference solutions run with the reference checker's 4 s per test, samples with the Codex 3 s.

1. reference solutions (CodeChain train150, the first N per problem): per-test verdicts of the
   strict comparison against the reference checker's comparison (the default), on the same runs;
2. MapCoder's GPT-4 and ChatGPT samples: our verdicts (reference comparison, and the strict
   verdict judged beside it) against the recorded is_solved, per file;
3. GPT-4 Direct samples judged with the cap (waves) and without it (every run made at once).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.benchmarks import apps  # noqa: E402
from evaluation.sandbox import Sandbox  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REFERENCE_TIMEOUT = 4.0
SAMPLE_TIMEOUT = 3.0


class CountingSandbox:
    """The sandbox, counting the runs asked of it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.runs = 0

    def run(self, jobs: list[Any]):
        self.runs += len(jobs)
        return self.sandbox.run(jobs)


def run_all(sandbox: Any, work: list[tuple[Any, str]], timeout: float) -> list[list[Any]]:
    """Every test of every (problem, program), in one batch: outcomes per program, in job order."""
    jobs, owner = [], []
    for number, (problem, program) in enumerate(work):
        for job in apps.jobs(problem, program, timeout):
            jobs.append(job)
            owner.append(number)
    outcomes: dict[int, dict[int, Any]] = defaultdict(dict)
    for position, outcome in sandbox.run(jobs):
        outcomes[owner[position]][position] = outcome
    return [[outcomes[n][p] for p in sorted(outcomes[n])] for n in range(len(work))]


def reference_solutions(sandbox: Sandbox, solutions: int, timeout: float) -> None:
    source = DATA / "apps" / "codechain_train150.jsonl"
    rows = {str(json.loads(line)["problem_id"]): json.loads(line) for line in source.read_text().splitlines()}
    problems = apps.load(source).problems
    work = [
        (problem, program)
        for problem in problems
        for program in json.loads(rows[problem.task_id]["solutions"])[:solutions]
    ]
    started = time.monotonic()
    outcomes = run_all(sandbox, work, timeout)
    seconds = time.monotonic() - started
    tests = agree = all_passed = reference_passed = 0
    differing: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for (problem, _), ordered in zip(work, outcomes, strict=True):
        strict, reference = (
            [t["verdict"] for t in apps.judge(problem, ordered, name, None).tests if t["kind"] == "hidden"]
            for name in (apps.STRICT, apps.REFERENCE)
        )
        statuses.update(strict)
        all_passed += all(v == "passed" for v in strict)
        reference_passed += all(v == "passed" for v in reference)
        for ours, theirs in zip(strict, reference, strict=True):
            tests += 1
            agree += (ours == "passed") == (theirs == "passed")
            if (ours == "passed") != (theirs == "passed"):
                differing[problem.task_id] += 1
    print(f"reference solutions: {len(work)} programs, {tests} hidden tests, {seconds:.0f} s")
    print(f"  strict and reference comparison agree on {agree}/{tests} tests")
    print(f"  per-test verdicts (strict): {dict(statuses)}")
    print(f"  differing tests by problem: {dict(sorted(differing.items(), key=lambda item: int(item[0])))}")
    print(
        f"  programs passing every hidden test: {reference_passed}/{len(work)} (reference), "
        f"{all_passed}/{len(work)} (strict)"
    )


def mapcoder_samples_of(rows: list[dict], problems: dict) -> list[tuple[str, int, str]]:
    """(task_id, row index, the row's final program) for the rows of a MapCoder file we can judge."""
    return [
        (str(row["id"]), index, row["source_codes"][-1])
        for index, row in enumerate(rows)
        if str(row["id"]) in problems
    ]


def mapcoder_samples(sandbox: Sandbox, timeout: float) -> None:
    loaded = apps.read(DATA / "apps" / "mapcoder_train150.jsonl", protocol="stdin")
    problems = loaded.benchmark.by_task_id()
    totals: Counter[str] = Counter()
    for path in sorted((DATA / "samples" / "apps_mapcoder").glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        samples = mapcoder_samples_of(rows, problems)
        results = {r.sample: r.as_json() for r in apps.evaluate(problems, samples, sandbox, timeout)}
        recorded = sum(row["is_solved"] for row in rows)
        unjudged_solved = sum(row["is_solved"] for i, row in enumerate(rows) if i not in results)
        print(f"{path.name}: solved {recorded} recorded; unjudged rows solved: {unjudged_solved}")
        for name, key in ((apps.REFERENCE, "verdict"), (apps.STRICT, "strict_verdict")):
            agree = sum((r[key] == "passed") == rows[i]["is_solved"] for i, r in results.items())
            differing = [
                (rows[i]["id"], r[key], rows[i]["is_solved"], r["detail"][:60])
                for i, r in results.items()
                if (r[key] == "passed") != rows[i]["is_solved"]
            ]
            ours = sum(r[key] == "passed" for r in results.values())
            print(
                f"  {name}: solved {ours}, agree {agree}/{len(results)}; "
                f"differing (id, verdict, is_solved, detail): {differing}"
            )
            totals[name] += agree
        totals["judged"] += len(results)
    for name in (apps.REFERENCE, apps.STRICT):
        print(f"MapCoder samples, {name}: agree on {totals[name]}/{totals['judged']} judged rows")


def cap_saving(sandbox: Sandbox, timeout: float) -> None:
    loaded = apps.read(DATA / "apps" / "mapcoder_train150.jsonl", protocol="stdin")
    problems = loaded.benchmark.by_task_id()
    path = DATA / "samples" / "apps_mapcoder" / "GPT4-Turbo-Direct-APPS-Python3-0-1.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    samples = mapcoder_samples_of(rows, problems)
    started = time.monotonic()
    baseline = run_all(sandbox, [(problems[task_id], code) for task_id, _, code in samples], timeout)
    baseline_seconds = time.monotonic() - started
    baseline_verdicts = [
        apps.judge(problems[s[0]], o).verdict for s, o in zip(samples, baseline, strict=True)
    ]
    counting = CountingSandbox(sandbox)
    started = time.monotonic()
    capped = {r.sample: r.judgement.verdict for r in apps.evaluate(problems, samples, counting, timeout)}
    capped_seconds = time.monotonic() - started
    same = sum(capped[s[1]] == v for s, v in zip(samples, baseline_verdicts, strict=True))
    runs = sum(len(o) for o in baseline)
    print(
        f"per-program cap on {len(samples)} GPT-4 samples: {counting.runs} runs in {capped_seconds:.1f} s "
        f"against {runs} runs in {baseline_seconds:.1f} s without it (ratio {counting.runs / runs:.2f} runs, "
        f"{capped_seconds / baseline_seconds:.2f} time); same verdict for {same}/{len(samples)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solutions", type=int, default=5, help="reference solutions per problem")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this benchmark needs the shared development data")
    with Sandbox() as sandbox:
        reference_solutions(sandbox, args.solutions, REFERENCE_TIMEOUT)
        mapcoder_samples(sandbox, SAMPLE_TIMEOUT)
        cap_saving(sandbox, SAMPLE_TIMEOUT)


if __name__ == "__main__":
    main()
