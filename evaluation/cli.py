"""`python -m evaluation`: the core as a command line, no database needed.

execute   run samples against a benchmark's tests; one JSON line per sample, figures last
generate  sample completions from a model (see evaluation.generation.cli)
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evaluation.benchmarks import CODEX_STOP_SEQUENCES, TIME_LIMIT, registry
from evaluation.benchmarks.contract import Judging
from evaluation.generation import cli as generation_cli
from evaluation.samples import SampleFileError, read_samples

TRUNCATIONS = {"none": None, "codex": CODEX_STOP_SEQUENCES}
# Options that only some benchmarks have: (option, the contract function taking it, the module
# attribute listing its values, help). A benchmark has one when that function takes the keyword.
BENCHMARK_OPTIONS: tuple[tuple[str, str, str, str], ...] = (
    (
        "comparison",
        "evaluate",
        "COMPARISONS",
        "APPS output comparison: reference (the reference checker's rules, default) or strict (a diagnostic)",
    ),
    (
        "protocol",
        "load",
        "PROTOCOLS",
        "APPS in MapCoder's layout: apps (call-based rows call a function, default) or stdin (MapCoder's)",
    ),
)
EXECUTE = (
    "Run a sample file against a benchmark's unit tests in the sandbox: one JSON line per sample "
    "(its verdict and why) goes to --out, and the benchmark's figures (pass@k) are the last line "
    "of standard output."
)


def _progress(total: int, label: str):
    """A progress bar on a terminal; silent when stderr is a file or a pipe."""
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="sample", disable=not sys.stderr.isatty())


def execute(args: argparse.Namespace) -> int:
    from evaluation.sandbox import Sandbox

    module = registry.get(args.benchmark)
    try:
        options = _options(module, args)
        benchmark = module.load(args.problems, **options["load"])
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        records = read_samples(
            args.samples,
            benchmark,
            stop_sequences=TRUNCATIONS[args.truncate],
            allow_missing=args.allow_missing,
        )
    except (OSError, SampleFileError) as error:
        print(f"error: {args.samples}: {error}", file=sys.stderr)
        return 2
    problems = benchmark.by_task_id()
    results = []
    with (
        Sandbox(workers=args.workers) as sandbox,
        _progress(len(records), args.benchmark) as bar,
    ):
        samples = [(r.task_id, r.index, r.completion) for r in records]
        evaluated = module.evaluate(
            problems, samples, sandbox, args.timeout, args.template, **options["evaluate"]
        )
        for result in evaluated:
            results.append(result)
            bar.update()
    order = {(r.task_id, r.index): position for position, r in enumerate(records)}
    results.sort(key=lambda result: order[result.task_id, result.sample])
    with open(args.out, "w", encoding="utf-8") as out:
        for result in results:
            out.write(json.dumps(result.as_json()) + "\n")
    figures = {
        "benchmark": benchmark.name,
        "version": benchmark.version,
        **module.summarize(results),
    }
    print(json.dumps(figures))
    return 0


def _options(module: Any, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The benchmark options given on the command line, by the contract function that takes them;
    one the benchmark does not have is refused (ValueError) rather than ignored."""
    chosen: dict[str, dict[str, Any]] = {"load": {}, "evaluate": {}}
    for option, function, _, _ in BENCHMARK_OPTIONS:
        value = getattr(args, option)
        if value is None:
            continue
        if not _takes(getattr(module, function), option):
            raise ValueError(f"benchmark {module.NAME} has no --{option} option")
        chosen[function][option] = value
    return chosen


def _takes(function: Callable[..., Any], keyword: str) -> bool:
    return keyword in inspect.signature(function).parameters


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evaluation", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("execute", help="run samples against the unit tests", description=EXECUTE)
    executed = registry.benchmarks(Judging.EXECUTED)
    run.add_argument("--benchmark", default="humaneval", choices=[module.NAME for module in executed])
    run.add_argument("--problems", type=Path, help="problem file (default: the packaged benchmark)")
    run.add_argument("--samples", type=Path, required=True, help="JSONL samples (plain or .gz)")
    run.add_argument(
        "--out",
        type=Path,
        required=True,
        help="where to write one JSON line per sample",
    )
    run.add_argument(
        "--truncate",
        choices=sorted(TRUNCATIONS),
        default="none",
        help="cut at stop sequences",
    )
    run.add_argument("--timeout", type=float, default=TIME_LIMIT, help="seconds per execution")
    run.add_argument("--workers", type=int, default=None, help="parallel executions (default: cores)")
    run.add_argument("--template", help="prompt template the completions continue (APPS: apps-codex-v1, ...)")
    for option, _, values, help_text in BENCHMARK_OPTIONS:
        choices = sorted({value for module in executed for value in getattr(module, values, ())})
        run.add_argument(f"--{option}", choices=choices, help=help_text)
    run.add_argument(
        "--allow-missing",
        action="store_true",
        help="accept files without some problems",
    )
    run.set_defaults(handler=execute)

    generate = commands.add_parser("generate", help="sample completions from a model")
    generation_cli.add_arguments(generate)
    generate.set_defaults(handler=generation_cli.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)
