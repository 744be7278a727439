"""Every table of the site as flat rows, sent as CSV or JSON: the same rows the API serves."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpResponse, JsonResponse

from evaluation.benchmarks import apps
from evaluation.outcomes import ordered
from evaluation.receipt import reproduction_command
from leaderboard import selectors
from leaderboard.runs.models import CodeModel, Run
from leaderboard.selectors import Column, ModelRow

FORMATS = ("csv", "json")
# What the public sees of a run's machinery: never its error (hosts, paths, exceptions: staff only).
PUBLIC_ENVIRONMENT = ("project", "libraries", "hardware", "machine")
STAGES = ("generation", "execution")
FAILED_REASON = "Failed; staff were told."
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_format(request) -> str | None:
    fmt = request.GET.get("format", "")
    return fmt if fmt in FORMATS else None


def _cell(value):
    """Text a spreadsheet would run as a formula (a model named "=HYPERLINK(...)") is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def table_response(fmt: str, name: str, header: Sequence[str], rows: Iterable[dict]) -> HttpResponse:
    rows = list(rows)
    if fmt == "json":
        return JsonResponse({"columns": list(header), "rows": rows})
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key in header])
    return response


def model_fields(model: CodeModel) -> dict:
    return {
        "model_id": model.id,
        "model": model.name,
        "family": model.family,
        "parameters": model.parameters,
        "open_weights": model.open_weights,
        "date": (model.released or model.created_at.date()).isoformat(),
    }


MODEL_HEADER = ("model_id", "model", "family", "parameters", "open_weights", "date")


def figure_header(columns: Iterable[Column]) -> list[str]:
    suffixes = ("", " ci_low", " ci_high", " temperature", " coverage", " split")
    return [f"{c.key}{suffix}" for c in columns for suffix in suffixes]


def board_table(rows: list[ModelRow], columns: Sequence[Column]) -> tuple[list[str], list[dict]]:
    """Values are fractions in [0, 1]; each figure with its interval, the temperature it came from,
    its coverage ("161 of 164 problems"; empty for a complete run) and its benchmark's split (empty
    for the test split)."""
    header = [*MODEL_HEADER, *figure_header(columns)]
    table = []
    for row in rows:
        line = model_fields(row.model)
        for column in columns:
            figure = row.figures.get(column.key)
            line[column.key] = figure.value if figure else None
            line[f"{column.key} ci_low"] = figure.ci_low if figure else None
            line[f"{column.key} ci_high"] = figure.ci_high if figure else None
            line[f"{column.key} temperature"] = figure.temperature if figure else None
            line[f"{column.key} coverage"] = figure.coverage if figure else None
            line[f"{column.key} split"] = figure.split if figure else None
        table.append(line)
    return header, table


def apps_table(rows: list[selectors.AppsRow]) -> tuple[list[str], list[dict]]:
    header = ["model_id", "model", "parameters", "problems", "variant", "metric"]
    for subset in apps.SUBSETS:
        header += [subset, f"{subset} ci_low", f"{subset} ci_high", f"{subset} with timeouts"]
    table = []
    for row in rows:
        line = {
            "model_id": row.model_id,
            "model": row.model_name,
            "parameters": row.parameters,
            "problems": row.problems,
            "variant": row.variant,
            "metric": row.metric,
        }
        for subset in apps.SUBSETS:
            figure, timeouts = row.cells.get(subset, (None, None))
            line[subset] = figure.value if figure else None
            line[f"{subset} ci_low"] = figure.ci_low if figure else None
            line[f"{subset} ci_high"] = figure.ci_high if figure else None
            line[f"{subset} with timeouts"] = timeouts.value if timeouts else None
        table.append(line)
    return header, table


def public_reason(run: Run) -> str:
    """Why a run stopped, as the public sees it: its short reason, or a generic one for a failure."""
    return run.reason or (FAILED_REASON if run.status == Run.Status.FAILED else "")


def public_environment(run: Run) -> dict:
    return {key: run.environment[key] for key in PUBLIC_ENVIRONMENT if key in run.environment}


def receipt(run: Run) -> dict:
    """Everything a run's figures were made with, and the one command that judges its samples again.

    Each stage (generation, execution) recorded its own facts where it ran; an imported run has
    the site's. Hosts, paths and kernel versions are never part of it."""
    env = run.environment
    stages = {stage: env[stage] for stage in STAGES if stage in env} or {"site": env}
    generation = env.get("generation", {})
    return {
        "benchmark": {"name": run.benchmark.name, "content_hash": run.benchmark.content_hash},
        "project": {stage: facts.get("project", "") for stage, facts in stages.items()},
        "libraries": {stage: facts.get("libraries", {}) for stage, facts in stages.items()},
        "hardware": {stage: facts.get("hardware", {}) for stage, facts in stages.items()},
        "model": {
            "hub_id": run.model.hub_id,
            "revision": run.model.revision,
            "commit": generation.get("commit", ""),
            "precision": run.precision,
            "dtype": generation.get("dtype", ""),
        },
        "sampling": {
            "temperature": run.temperature,
            "top_p": run.top_p,
            "n": run.n,
            "max_new_tokens": run.max_new_tokens,
            "stop_sequences": run.stop_sequences,
            "prompt_template": run.prompt_template,
            "seed": run.seed,
        },
        "sandbox": env.get("execution", {}).get("sandbox", {}),
        "timeout": run.timeout,
        "recheck": env.get("recheck"),
        "reproduce": reproduction_command(
            benchmark=run.benchmark.name,
            samples=f"run-{run.id}-samples.jsonl",
            timeout=run.timeout,
            template=run.prompt_template,
        ),
    }


def run_fields(run: Run) -> dict:
    return {
        "run_id": run.id,
        "benchmark": run.benchmark.name,
        "benchmark_version": run.benchmark.version,
        "temperature": run.temperature,
        "top_p": run.top_p,
        "n": run.n,
        "max_new_tokens": run.max_new_tokens,
        "prompt_template": run.prompt_template,
        "status": run.status,
        "samples_executed": run.samples_executed,
        "samples_total": run.samples_total,
        "problems_covered": run.problems_covered,
        "problems_total": run.problems_total,
        "complete": run.complete,
        "coverage": run.coverage,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


RUN_HEADER = (
    "run_id",
    "benchmark",
    "benchmark_version",
    "temperature",
    "top_p",
    "n",
    "max_new_tokens",
    "prompt_template",
    "status",
    "samples_executed",
    "samples_total",
    "problems_covered",
    "problems_total",
    "complete",
    "coverage",
    "created_at",
    "finished_at",
)
RUN_METRICS = ("pass@1", "pass@10", "pass@100")


def outcome_shares(counts: dict[str, int]) -> str:
    """Failure anatomy in one cell: "passed 40.0%; wrong answer 30.0%; NameError 2.5%"."""
    total = sum(counts.values())
    return "; ".join(f"{outcome} {100 * counts[outcome] / total:.1f}%" for outcome in ordered(set(counts)))


def model_runs_table(
    runs: list[Run], outcomes: dict[int, dict[str, int]] | None = None
) -> tuple[list[str], list[dict]]:
    """A model's runs with their overall raw figures (runs come from `selectors.model_runs`) and
    the share of samples by outcome (`selectors.outcome_counts`)."""
    header = [*RUN_HEADER, *(f"{m}{s}" for m in RUN_METRICS for s in ("", " ci_low", " ci_high")), "outcomes"]
    table = []
    for run in runs:
        line = run_fields(run)
        line["outcomes"] = outcome_shares((outcomes or {}).get(run.id, {}))
        figures = {result.metric: result for result in run.overall}
        for metric in RUN_METRICS:
            result = figures.get(metric)
            line[metric] = result.value if result else None
            line[f"{metric} ci_low"] = result.ci_low if result else None
            line[f"{metric} ci_high"] = result.ci_high if result else None
        table.append(line)
    return header, table


def problem_runs_table(runs: list[selectors.ProblemRun]) -> tuple[list[str], list[dict]]:
    header = [
        "run_id",
        "model_id",
        "model",
        "temperature",
        "status",
        "samples",
        "executed",
        "passed",
        "pass_rate",
    ]
    return header, [
        {
            "run_id": r.run_id,
            "model_id": r.model_id,
            "model": r.model_name,
            "temperature": r.temperature,
            "status": r.status,
            "samples": r.samples,
            "executed": r.executed,
            "passed": r.passed,
            "pass_rate": r.pass_rate,
        }
        for r in runs
    ]


def grid_table(grid) -> tuple[list[str], list[dict]]:
    header = ["problem_id", "task_id", "samples", "executed", "passed"]
    return header, [
        {
            "problem_id": p.id,
            "task_id": p.task_id,
            "samples": p.total,
            "executed": p.executed,
            "passed": p.passed,
        }
        for p in grid
    ]


def comparison_table(rows: list[selectors.ComparisonRow]) -> tuple[list[str], list[dict]]:
    header = ["task_id", "a_executed", "a_passed", "a_rate", "b_executed", "b_passed", "b_rate"]
    return header, [
        {
            "task_id": r.task_id,
            "a_executed": r.a[0] if r.a else None,
            "a_passed": r.a[1] if r.a else None,
            "a_rate": r.rate_a,
            "b_executed": r.b[0] if r.b else None,
            "b_passed": r.b[1] if r.b else None,
            "b_rate": r.rate_b,
        }
        for r in rows
    ]


QUEUE_HEADER = (
    "id",
    "display_name",
    "model",
    "revision",
    "author",
    "state",
    "reason",
    "generated",
    "executed",
    "total",
    "created_at",
)


def queue_table(entries: list[selectors.QueueEntry]) -> tuple[list[str], list[dict]]:
    return list(QUEUE_HEADER), [
        {
            "id": e.submission.id,
            "display_name": e.submission.display_name,
            "model": e.submission.hub_id or "local model",  # a local path is the server's business
            "revision": e.submission.revision,
            "author": e.submission.author.get_username(),
            "state": e.state,
            "reason": e.reason,
            "generated": e.generated,
            "executed": e.executed,
            "total": e.total,
            "created_at": e.submission.created_at.isoformat(),
        }
        for e in entries
    ]
