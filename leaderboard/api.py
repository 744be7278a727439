"""The read-only JSON API (schema in docs/api.md): the selectors' output, as the exports shape it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import wraps

from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from leaderboard import exports, selectors, views
from leaderboard.runs.models import CodeModel

PAGE_SIZE = 100
SAMPLES_PAGE_SIZE = 100
TABLES = {
    "humaneval": views.table_humaneval,
    "apps": views.table_apps,
    "docstrings": views.table_docstrings,
}


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def endpoint(view: Callable) -> Callable:
    """GET only; a missing object is a JSON 404, never an HTML page."""

    @require_GET
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ObjectDoesNotExist:
            return error("not found", 404)

    return wrapper


@endpoint
def index(request):
    return JsonResponse(
        {
            "board": reverse("api:board"),
            "tables": [reverse("api:table", args=[name]) for name in TABLES],
            "models": reverse("api:models"),
            "compare": reverse("api:compare") + "?a=<model_id>&b=<model_id>&benchmark=<name>",
            "submissions": reverse("api:submissions"),
            "schema": "docs/api.md",
        }
    )


@endpoint
def compare(request):
    """Is the gap real? Two models' best finished runs on a benchmark: pass@k differences with a
    paired bootstrap interval and p-value, and the problems side by side."""
    try:
        a, b = int(request.GET["a"]), int(request.GET["b"])
        benchmark = request.GET.get("benchmark", "humaneval")
    except (KeyError, ValueError):
        return error("give ?a=<model_id>&b=<model_id>[&benchmark=<name>]", 400)
    runs = [selectors.best_run(model_id, benchmark) for model_id in (a, b)]
    if None in runs:
        return error(f"each model needs a finished run on {benchmark}", 404)
    rows = selectors.compare_runs(*runs)
    return JsonResponse(
        {
            "benchmark": benchmark,
            "run_a": runs[0].id,
            "run_b": runs[1].id,
            "differences": [asdict(d) for d in selectors.paired_differences(rows)],
            "problems": exports.comparison_table(rows)[1],
        }
    )


@endpoint
def board(request):
    """The leaderboard with the page's filters and sort, every row at once."""
    return views.index(_as_json(request))


@endpoint
def table(request, name: str):
    if name not in TABLES:
        return error(f"no table {name!r}; tables: {', '.join(TABLES)}", 404)
    return TABLES[name](_as_json(request))


def _as_json(request):
    request.GET = request.GET.copy()
    request.GET["format"] = "json"
    return request


@endpoint
def models(request):
    page = Paginator(CodeModel.objects.order_by("name", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return JsonResponse(
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "results": [
                exports.model_fields(model) | {"url": reverse("api:model", args=[model.id])}
                for model in page.object_list
            ],
        }
    )


@endpoint
def model(request, model_id: int):
    model = selectors.model_detail(model_id)
    runs = selectors.model_runs(model)
    header, runs = exports.model_runs_table(runs, selectors.outcome_counts([r.id for r in runs]))
    for run in runs:
        run["url"] = reverse("api:run", args=[run["run_id"]])
    return JsonResponse(
        exports.model_fields(model) | {"hub_id": model.hub_id, "revision": model.revision, "runs": runs}
    )


def _result(result) -> dict:
    return {
        "metric": result.metric,
        "subset": result.subset,
        "variant": result.variant,
        "value": result.value,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
    }


@endpoint
def run(request, run_id: int):
    run = selectors.run_detail(run_id)
    return JsonResponse(
        exports.run_fields(run)
        | {
            "model_id": run.model_id,
            "model": run.model.name,
            "stop_sequences": run.stop_sequences,
            "seed": run.seed,
            "timeout": run.timeout,
            "reason": exports.public_reason(run),
            "environment": exports.public_environment(run),
            "receipt": exports.receipt(run),
            "download": {
                "samples": reverse("run-samples-jsonl", args=[run.id]),
                "verdicts": reverse("run-verdicts-jsonl", args=[run.id]),
            },
            "results": [_result(r) for r in run.results.all()],
            "problems": reverse("api:run-problems", args=[run.id]),
            "samples": reverse("api:run-samples", args=[run.id]) + "?problem=<task_id>",
        }
    )


@endpoint
def run_problems(request, run_id: int):
    run = selectors.run_detail(run_id)
    header, rows = exports.grid_table(selectors.problem_grid(run))
    return JsonResponse({"columns": header, "rows": rows})


@endpoint
def run_samples(request, run_id: int):
    """One problem's samples, a page of them at a time, so a response stays small whatever n is."""
    run = selectors.run_detail(run_id)
    task_id = request.GET.get("problem", "")
    if not task_id:
        return error("give ?problem=<task_id>", 400)
    problem, samples = selectors.problem_samples(run, task_id)
    if problem is None:
        return error(f"no problem {task_id!r} in this run's benchmark", 404)
    if selectors.texts_hidden(run):
        return error("this run's docstrings stay private until every one of them is graded", 403)
    page = Paginator(samples, SAMPLES_PAGE_SIZE).get_page(request.GET.get("page"))
    return JsonResponse(
        {
            "run_id": run.id,
            "task_id": problem.task_id,
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "samples": [
                {
                    "index": s.index,
                    "completion": s.completion,
                    "verdict": s.verdict or None,
                    "status": s.status,
                    "detail": s.detail,
                    "run_time": s.run_time,
                    "mean_logprob": s.mean_logprob,
                    "sum_logprob": s.sum_logprob,
                    "tests": s.tests,
                }
                for s in page.object_list
            ],
        }
    )


@endpoint
def problem(request, problem_id: int):
    problem = selectors.problem_detail(problem_id)
    header, runs = exports.problem_runs_table(selectors.problem_runs(problem))
    return JsonResponse(
        {
            "problem_id": problem.id,
            "benchmark": problem.benchmark.name,
            "benchmark_version": problem.benchmark.version,
            "task_id": problem.task_id,
            "prompt": problem.prompt,
            "test": problem.test,
            "entry_point": problem.entry_point,
            "canonical_solution": problem.canonical_solution,
            "runs": runs,
        }
    )


@endpoint
def submissions(request):
    header, rows = exports.queue_table(selectors.submission_queue())
    return JsonResponse({"columns": header, "rows": rows})
