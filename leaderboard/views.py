from django.http import Http404, JsonResponse
from django.shortcuts import render

from evaluation.models import Run
from leaderboard import selectors

SORTS = {"model", *selectors.BOARD_METRICS}


def index(request):
    sort = request.GET.get("sort", "pass@1")
    if sort not in SORTS:
        sort = "pass@1"
    descending = request.GET.get("order", "desc") != "asc"
    rows = selectors.board_rows("humaneval", sort=sort, descending=descending)
    return render(
        request,
        "leaderboard/index.html",
        {
            "rows": rows,
            "metrics": selectors.BOARD_METRICS,
            "sort": sort,
            "descending": descending,
        },
    )


def run_detail(request, run_id: int):
    try:
        run = selectors.run_detail(run_id)
    except Run.DoesNotExist:
        raise Http404("No such run") from None
    task_id = request.GET.get("problem")
    problem, samples = selectors.problem_samples(run, task_id) if task_id else (None, None)
    if task_id and problem is None:
        raise Http404("No such problem in this run's benchmark")
    return render(
        request,
        "leaderboard/run.html",
        {
            "run": run,
            "grid": selectors.problem_grid(run),
            "problem": problem,
            "samples": samples,
        },
    )


def run_progress(request, run_id: int):
    try:
        return JsonResponse(selectors.run_progress(run_id))
    except Run.DoesNotExist:
        return JsonResponse({"error": "no such run"}, status=404)
