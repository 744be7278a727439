"""Our verdicts against openai/human-eval's on the CodeGen-16B samples (Codex stop sequences applied).

    python bench/reference_agreement.py [--per-problem N] [--timeout 3]

Prints the number of samples, the disagreements with their run times, and both pass@k figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reference_harness import reference_verdicts  # noqa: E402
from evaluation.benchmarks import CODEX_STOP_SEQUENCES, humaneval  # noqa: E402
from evaluation.metrics import pass_at_ks  # noqa: E402
from evaluation.samples import read_samples  # noqa: E402
from evaluation.sandbox import Sandbox  # noqa: E402

SAMPLES = (
    Path(__file__).resolve().parents[1]
    / "evaluation/data/samples/humaneval_codegen16b_t0.8_n100_raw.jsonl.gz"
)


def counts(samples, verdicts):
    tally: dict[str, list[int]] = {}
    for (task_id, _, _), verdict in zip(samples, verdicts, strict=True):
        entry = tally.setdefault(task_id, [0, 0])
        entry[0] += 1
        entry[1] += verdict == "passed"
    return [tuple(v) for v in tally.values()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-problem", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()
    benchmark = humaneval.load()
    problems = benchmark.by_task_id()
    records = read_samples(SAMPLES, benchmark, stop_sequences=CODEX_STOP_SEQUENCES)
    samples = [(r.task_id, r.index, r.completion) for r in records if r.index < args.per_problem]

    start = time.perf_counter()
    theirs = reference_verdicts(problems, samples, args.timeout)
    reference_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with Sandbox() as sandbox:
        results = {
            (r.task_id, r.sample): r for r in humaneval.evaluate(problems, samples, sandbox, args.timeout)
        }
    our_seconds = time.perf_counter() - start
    ours = [results[task_id, index].judgement.verdict for task_id, index, _ in samples]

    differ = [(s, t, o) for s, t, o in zip(samples, theirs, ours, strict=True) if t != o]
    for (task_id, index, _), their, our in differ:
        result = results[task_id, index]
        print(
            f"differs: {task_id} #{index}: reference {their}, ours {our} "
            f"({result.judgement.run_time:.2f}s; {result.judgement.detail[:80]})"
        )
    print(
        json.dumps(
            {
                "samples": len(samples),
                "differ": len(differ),
                "reference": {"seconds": round(reference_seconds, 1), **pass_at_ks(counts(samples, theirs))},
                "ours": {"seconds": round(our_seconds, 1), **pass_at_ks(counts(samples, ours))},
            }
        )
    )


if __name__ == "__main__":
    main()
