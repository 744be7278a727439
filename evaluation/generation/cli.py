"""`python -m evaluation generate`: sample a benchmark's problems, one JSON line per sample.

Each line is `{"task_id", "completion", "mean_logprob", "sum_logprob"}`, problem by problem and
sample by sample, the format `python -m evaluation execute --samples` reads. Sample i of a
problem uses the seed `sample_seed(str(--seed), task_id, i)`, so a rerun, a different batch size
or a different --limit gives the same samples.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from evaluation.benchmarks import registry
from evaluation.generation import GenerationError, SamplingSettings, sample_seed
from evaluation.generation.backends import OPENAI_PREFIX, load_backend


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        help="hub id, local folder, or openai:http://HOST:PORT/v1#MODEL for an OpenAI-compatible server",
    )
    parser.add_argument("--revision", default=None, help="hub revision (a commit hash pins the weights)")
    parser.add_argument(
        "--benchmark", default="humaneval", choices=registry.names(), help="default: humaneval"
    )
    parser.add_argument(
        "--problems", default=None, help="problem file (default: the benchmark's shipped copy)"
    )
    parser.add_argument("--template", default=None, help="prompt template (default: the benchmark's own)")
    parser.add_argument("--n", type=int, default=None, help="samples per problem (default: the benchmark's)")
    parser.add_argument(
        "--temperature", type=float, default=None, help="0 for greedy (default: the benchmark's)"
    )
    parser.add_argument("--top-p", type=float, default=0.95, help="nucleus mass (default: 0.95)")
    parser.add_argument(
        "--max-new-tokens", type=int, default=None, help="tokens per sample (default: the benchmark's)"
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first P problems")
    parser.add_argument("--out", default="-", help="output JSONL file, or - for standard output (default)")
    parser.add_argument("--batch-size", type=int, default=32, help="sequences per forward pass (default: 32)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when present)")
    parser.add_argument("--dtype", default=None, help="float32, bfloat16, float16 (default: by device)")


def run(args: argparse.Namespace) -> int:
    """Generate and write the samples; a clear message and exit status 1 on bad input, no traceback."""
    try:
        return _run(args)
    except (GenerationError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    module = registry.get(args.benchmark)
    args.n = module.SAMPLING.n if args.n is None else args.n
    if args.n < 1:
        raise ValueError("--n must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    if args.batch_size < 1:
        raise ValueError("--batch-size must be at least 1")
    settings = SamplingSettings(
        temperature=module.SAMPLING.temperatures[0] if args.temperature is None else args.temperature,
        top_p=args.top_p,
        max_new_tokens=module.SAMPLING.max_new_tokens if args.max_new_tokens is None else args.max_new_tokens,
        stop=module.STOP_SEQUENCES,
    )
    template = args.template or module.DEFAULT_TEMPLATE
    problems = module.load(args.problems).problems[: args.limit]
    backend = load_backend(args.model, **_backend_options(args))
    rows = [(problem, index) for problem in problems for index in range(args.n)]
    run_key = str(args.seed)
    with (
        _output(args.out) as out,
        tqdm(total=len(rows), desc=f"{args.benchmark} samples", unit="sample", file=sys.stderr) as bar,
    ):
        for start in range(0, len(rows), args.batch_size):
            chunk = rows[start : start + args.batch_size]
            completions = backend.sample_many(
                [module.prompt(problem, template) for problem, _ in chunk],
                settings,
                [sample_seed(run_key, problem.task_id, index) for problem, index in chunk],
            )
            for (problem, _), completion in zip(chunk, completions, strict=True):
                record = {
                    "task_id": problem.task_id,
                    "completion": completion.text,
                    "mean_logprob": completion.mean_logprob,
                    "sum_logprob": completion.sum_logprob,
                }
                out.write(json.dumps(record) + "\n")
            out.flush()
            bar.update(len(chunk))
    return 0


def _backend_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.model.startswith(OPENAI_PREFIX):
        return {"concurrency": args.batch_size}
    return {
        "revision": args.revision,
        "device": args.device,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
    }


@contextmanager
def _output(path: str) -> Iterator[IO[str]]:
    """Standard output, or a file that appears complete or not at all (written aside, then renamed)."""
    if path == "-":
        yield sys.stdout
        return
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yield out
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
