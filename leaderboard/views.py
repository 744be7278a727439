"""Pages of the public site: thin views over selectors (reads), services (writes) and plots."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from evaluation.benchmarks import apps, humaneval
from evaluation.benchmarks import humaneval_docstrings as docstrings
from evaluation.figures import RANKING
from leaderboard import exports, plots, selectors, services
from leaderboard.exports import export_format, table_response
from leaderboard.forms import (
    BoardFilterForm,
    CompareForm,
    RankRunForm,
    RejectForm,
    SignupForm,
    StopRunForm,
    SubmissionForm,
)
from leaderboard.models import Submission
from leaderboard.runs import services as run_services
from leaderboard.runs import tasks as run_tasks
from leaderboard.runs.models import Run, Sample

PAGE_SIZE = 100
SAMPLES_PER_PAGE = 20  # a run page shows a problem's samples a page at a time, whatever n is
BLEU_TIMEOUT = 30 * 24 * 60 * 60


def found(select: Callable, *args):
    """The selector's object, or a 404 page instead of a traceback."""
    try:
        return select(*args)
    except ObjectDoesNotExist:
        raise Http404("Not found") from None


def board_sort(request, keys: set[str]) -> tuple[str, bool]:
    sort = request.GET.get("sort", "pass@1")
    if sort not in keys:
        sort = "pass@1"
    order = request.GET.get("order")
    descending = order != "asc" if order in ("asc", "desc") else sort != "model"
    return sort, descending


def sort_links(request, keys: list[str], sort: str, descending: bool) -> dict[str, tuple[str, str]]:
    """Each sortable header: the URL sorting by it (flipping the order if it is the sort) and its arrow."""
    links = {}
    for key in keys:
        params = request.GET.copy()
        params.pop("page", None)
        params["sort"] = key
        active = key == sort
        params["order"] = (
            ("asc" if descending else "desc") if active else ("asc" if key == "model" else "desc")
        )
        links[key] = ("?" + params.urlencode(), ("▼" if descending else "▲") if active else "")
    return links


def paginate(request, items, size: int | None = None) -> tuple:
    """A page of a queryset or list, and the query string without its page number for the pager."""
    page = Paginator(items, size or PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()


def index(request):
    names = selectors.benchmark_names()
    form = BoardFilterForm(request.GET, families=selectors.families(), benchmarks=names)
    columns = selectors.visible_columns(names)
    keys = [c.key for c in columns] + list(selectors.MODEL_SORTS)
    sort, descending = board_sort(request, set(keys))
    models = selectors.board_queryset(form.filters(), sort, descending)
    fmt = export_format(request)
    if fmt:
        return table_response(
            fmt, "leaderboard", *exports.board_table(selectors.board_rows(models, columns), columns)
        )
    page, page_query = paginate(request, models)
    return render(
        request,
        "leaderboard/index.html",
        {
            "form": form,
            "rows": selectors.board_rows(page.object_list, columns),
            "page": page,
            "page_query": page_query,
            "columns": columns,
            "groups": column_groups(columns),
            "links": sort_links(request, keys, sort, descending),
            "sort": sort,
            "ranks": selectors.rank_intervals(selectors.COLUMNS[sort]) if sort in selectors.COLUMNS else {},
        },
    )


def column_groups(columns) -> list[tuple[str, int]]:
    groups: list[tuple[str, int]] = []
    for column in columns:
        if groups and groups[-1][0] == column.group:
            groups[-1] = (column.group, groups[-1][1] + 1)
        else:
            groups.append((column.group, 1))
    return groups


def benchmark_table(request, name: str, benchmark: str, figures: tuple, sort: str, template: str, **context):
    """Tables 1 and 3: every model with results on the benchmark, best first, a page at a time."""
    models = selectors.board_queryset(selectors.BoardFilters(benchmark=benchmark), sort=sort)
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, name, *exports.board_table(selectors.board_rows(models, figures), figures))
    page, page_query = paginate(request, models)
    rows = selectors.board_rows(page.object_list, figures)
    return render(request, template, {"rows": rows, "page": page, "page_query": page_query, **context})


def table_humaneval(request):
    columns = selectors.columns_of(humaneval.NAME)
    extensions = selectors.extension_pairs(humaneval.NAME, selectors.benchmark_names())
    return benchmark_table(
        request,
        "table1-humaneval",
        humaneval.NAME,
        columns + tuple(extension for extension, _ in extensions),
        "pass@1",
        "leaderboard/table_humaneval.html",
        columns=columns,
        extensions=extensions,
    )


def table_apps(request):
    rows = selectors.apps_table()
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, "table2-apps", *exports.apps_table(rows))
    page, page_query = paginate(request, rows)
    return render(
        request,
        "leaderboard/table_apps.html",
        {"rows": page.object_list, "page": page, "page_query": page_query, "subsets": apps.SUBSETS},
    )


def table_docstrings(request):
    code = selectors.columns_of(humaneval.NAME)[:2]
    graded = selectors.columns_of(docstrings.NAME)
    return benchmark_table(
        request,
        "table3-docstrings",
        docstrings.NAME,
        code + graded,
        graded[0].key,
        "leaderboard/table_docstrings.html",
        code=code,
        docstrings=graded,
    )


def charts(request):
    """Figure 6 across the board; the per-model figures live on model pages."""
    columns = (selectors.COLUMNS["pass@1"], selectors.COLUMNS["pass@100"])
    models = selectors.board_queryset(selectors.BoardFilters(benchmark=humaneval.NAME), sort="parameters")
    rows = selectors.board_rows(models.filter(parameters__isnull=False), columns)
    points = {
        column.label: [
            (r.model.name, r.model.parameters, r.value(column.key))
            for r in rows
            if r.value(column.key) is not None
        ]
        for column in columns
    }
    figure = plots.size_figure({label: series for label, series in points.items() if series})
    return render(request, "leaderboard/charts.html", {"size_figure": figure, "rows": rows})


def temperature_curves(runs: list[Run], counts: dict[int, list[tuple[int, int]]]) -> dict[str, list]:
    curves: dict[str, list] = {}
    for run in runs:
        if counts.get(run.id):
            name = f"T={run.temperature}" if run.temperature is not None else f"run {run.id}"
            curves[f"{name} (run {run.id})" if name in curves else name] = plots.pass_at_k_curve(
                counts[run.id]
            )
    return curves


def model_detail(request, model_id: int):
    model = found(selectors.model_detail, model_id)
    runs = selectors.model_runs(model)
    outcomes = selectors.outcome_counts([r.id for r in runs])
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, f"model-{model.id}-runs", *exports.model_runs_table(runs, outcomes))
    code_runs = [r for r in runs if r.benchmark.name == humaneval.NAME and r.status == Run.Status.FINISHED]
    counts = selectors.problem_counts([r.id for r in code_runs])
    curves = temperature_curves(code_runs, counts)
    by_temperature = {
        r.temperature: plots.pass_at_k_curve(counts[r.id])
        for r in sorted(code_runs, key=lambda r: r.n)
        if counts.get(r.id) and r.temperature is not None
    }
    ranking = selectors.ranking_curves([r.id for r in code_runs])
    ranked = max((r for r in code_runs if r.id in ranking), key=lambda r: (r.n, r.id), default=None)
    return render(
        request,
        "leaderboard/model.html",
        {
            "model": model,
            "runs": runs,
            "pass_figure": plots.pass_at_k_figure(curves) if curves else None,
            "temperature_figure": plots.best_temperature_figure(plots.best_temperatures(by_temperature))
            if len(by_temperature) > 1
            else None,
            "ranking_run": ranked,
            "outcome_figure": plots.outcome_figure(
                {
                    f"{r.benchmark.name} T={r.temperature} (run {r.id})": outcomes[r.id]
                    for r in runs
                    if r.id in outcomes
                }
            )
            if outcomes
            else None,
            "ranking_figure": plots.ranking_figure(ranking[ranked.id]) if ranked else None,
        },
    )


def run_detail(request, run_id: int):
    run = found(selectors.run_detail, run_id)
    grid = selectors.problem_grid(run)
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, f"run-{run.id}-problems", *exports.grid_table(grid))
    task_id = request.GET.get("problem")
    problem, samples = selectors.problem_samples(run, task_id) if task_id else (None, None)
    if task_id and problem is None:
        raise Http404("No such problem in this run's benchmark")
    hidden = selectors.texts_hidden(run)
    shown = problem is not None and not hidden
    rows, scores = sample_scores(run, problem) if shown else ([], None)
    page, page_query = paginate(request, rows, SAMPLES_PER_PAGE) if shown else (None, "")
    if page:
        samples = list(samples.filter(index__in=[index for index, _ in page.object_list]))
    counts = [(p.executed, p.passed) for p in grid if p.executed]
    ranking = selectors.stored_ranking(run.results.all())
    outcomes = selectors.outcome_counts([run.id]).get(run.id)
    curve = plots.pass_at_k_curve(counts) if run.status == Run.Status.FINISHED else []
    return render(
        request,
        "leaderboard/run.html",
        {
            "run": run,
            "graded": not run.executed,
            "hidden": hidden,
            "progress_line": selectors.progress_line(run, run.samples.count()),
            "stop_form": StopRunForm() if request.user.is_staff and run.status in selectors.ACTIVE else None,
            "receipt": exports.receipt(run),
            "rank_form": RankRunForm()
            if request.user.is_staff and run_services.can_rank_by_back_translation(run)
            else None,
            "grid": grid,
            "problem": problem,
            "samples": samples if page else None,
            "page": page,
            "page_query": page_query,
            "figures": [r for r in run.results.all() if r.subset == "all" and r.variant == "raw"],
            "other_results": [
                r
                for r in run.results.all()
                if not (r.subset == "all" and r.variant == "raw") and not r.variant.startswith(RANKING)
            ],
            "pass_figure": plots.pass_at_k_figure({f"T={run.temperature}": curve})
            if len(curve) > 1
            else None,
            "ranking_figure": plots.ranking_figure(ranking) if ranking else None,
            "outcome_figure": plots.outcome_figure({f"run {run.id}": outcomes}) if outcomes else None,
            "bleu_figure": bleu_figure(rows, scores) if scores else None,
        },
    )


def run_jsonl(request, run_id: int, part: str):
    """A run's samples in openai/human-eval's format (`task_id`, `completion`), or their verdicts
    beside them, as the receipt's reproduction command reads and writes them."""
    run = found(selectors.run_detail, run_id)
    if selectors.texts_hidden(run):
        raise PermissionDenied("This run's docstrings stay private until every one of them is graded.")

    def lines():
        for task_id, index, completion, verdict, detail, outcome in selectors.exported_samples(run):
            if part == "samples":
                row = {"task_id": task_id, "completion": completion}
            else:
                row = {"task_id": task_id, "sample": index, "verdict": verdict or None, "detail": detail}
                row["outcome"] = outcome
            yield json.dumps(row) + "\n"

    response = StreamingHttpResponse(lines(), content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.id}-{part}.jsonl"'
    return response


@require_POST
@login_required
def stop_run(request, run_id: int):
    """Staff cancel or fail a run that is not over, with a reason its pages show."""
    staff_only(request)
    run = found(selectors.run_detail, run_id)
    form = StopRunForm(request.POST)
    if form.is_valid():
        stopped = run_services.stop_run(
            run.id, status=Run.Status(form.cleaned_data["action"]), reason=form.cleaned_data["reason"]
        )
        if stopped:
            messages.success(request, f"Run {run.id} is {form.cleaned_data['action']}.")
        else:
            messages.error(request, f"Run {run.id} was already over.")
    else:
        messages.error(request, "Give a reason, and cancel or fail.")
    return redirect("run", run_id=run.id)


@require_POST
@login_required
def rank_run(request, run_id: int):
    """Staff ask a docstring model to rank a finished run's samples by back-translation (Figure 7)."""
    staff_only(request)
    run = found(selectors.run_detail, run_id)
    form = RankRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the docstring model: a hub id or a folder the workers share.")
        return redirect("run", run_id=run.id)
    try:
        queued = run_tasks.start_back_translation(run, form.cleaned_data["model"])
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{queued} problems queued for back-translation scoring.")
    return redirect("run", run_id=run.id)


def sample_scores(run: Run, problem) -> tuple[list[tuple[int, str]], dict[int, float] | None]:
    """(index, verdict) of each sample of the problem, and each one's BLEU against the canonical
    solution (None without one): one query, whether the scores are known or not.

    A sample's BLEU never changes (nor its completion, nor the canonical solution), so it is computed
    once and kept in the cache beside the pages, under the run's creation time as well as its id;
    completions are read only for samples without a score."""
    if not problem.canonical_solution:
        return selectors.sample_verdicts(run, problem, completions=False), None
    key = f"bleu:{run.id}:{run.created_at.timestamp()}:{problem.id}"
    known = cache.get(key) or {}
    texts = not known or run.status != Run.Status.FINISHED  # a run in progress may have new samples
    rows = selectors.sample_verdicts(run, problem, completions=texts)
    if not texts and any(row[0] not in known for row in rows):  # stored while the run was in progress
        rows, texts = selectors.sample_verdicts(run, problem, completions=True), True
    if texts:
        missing = {index: completion for index, _, completion in rows if index not in known}
        if missing:
            known |= {i: round(plots.bleu(c, problem.canonical_solution), 2) for i, c in missing.items()}
            cache.set(key, known, BLEU_TIMEOUT)
        rows = [(index, verdict) for index, verdict, _ in rows]
    return rows, known


def bleu_figure(rows: list[tuple[int, str]], scores: dict[int, float]) -> dict | None:
    """Figure 8 over every sample of the problem, whichever page of them is shown."""
    groups = {Sample.Verdict.PASSED: [], Sample.Verdict.FAILED: []}
    for index, verdict in rows:
        verdict = Sample.Verdict.FAILED if verdict == Sample.Verdict.TIMEOUT else verdict
        if verdict in groups:
            groups[verdict].append(scores[index])
    if not any(groups.values()):
        return None
    return plots.bleu_figure(groups[Sample.Verdict.PASSED], groups[Sample.Verdict.FAILED])


def run_progress(request, run_id: int):
    try:
        return JsonResponse(selectors.run_progress(run_id))
    except Run.DoesNotExist:
        return JsonResponse({"error": "no such run"}, status=404)


def problem_detail(request, problem_id: int):
    problem = found(selectors.problem_detail, problem_id)
    runs = selectors.problem_runs(problem)
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, f"problem-{problem.id}", *exports.problem_runs_table(runs))
    page, page_query = paginate(request, runs)
    return render(
        request,
        "leaderboard/problem.html",
        {
            "problem": problem,
            "runs": page.object_list,
            "page": page,
            "page_query": page_query,
            "differences": selectors.verdict_differences(problem),
        },
    )


def compare(request):
    names = selectors.benchmark_names()
    chosen = "a" in request.GET and "b" in request.GET
    form = CompareForm(
        request.GET if chosen else None,
        initial=request.GET.dict(),
        models=selectors.comparable_models(),
        benchmarks=names,
    )
    context = {"form": form}
    if form.is_valid():
        data = form.cleaned_data
        run_a = selectors.best_run(data["a"], data["benchmark"])
        run_b = selectors.best_run(data["b"], data["benchmark"])
        for field, run in (("a", run_a), ("b", run_b)):
            if run is None:
                form.add_error(field, f"This model has no finished run on {data['benchmark']}.")
        if run_a and run_b:
            rows = selectors.compare_runs(run_a, run_b)
            fmt = export_format(request)
            if fmt:
                return table_response(fmt, "comparison", *exports.comparison_table(rows))
            solved = [(bool(r.a and r.a[1]), bool(r.b and r.b[1])) for r in rows]
            context |= {
                "run_a": run_a,
                "run_b": run_b,
                "rows": rows,
                "differences": selectors.paired_differences(rows),
                "summary": {
                    "both": solved.count((True, True)),
                    "only_a": solved.count((True, False)),
                    "only_b": solved.count((False, True)),
                    "neither": solved.count((False, False)),
                },
            }
    return render(request, "leaderboard/compare.html", context)


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, f"Welcome, {user.get_username()}.")
        return redirect("submit")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def submit(request):
    form = SubmissionForm(request.POST or None, benchmarks=selectors.benchmark_names(), user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            submission = services.create_submission(
                request.user,
                display_name=data["display_name"],
                request=form.request(),
                ks=data["ks"],
                family=data["family"],
                parameters=data["parameters"],
                parameters_source=form.parameters_source
                or ("entered by the author" if data["parameters"] else ""),
            )
        except services.SubmissionError as error:
            form.add_error(error.field, str(error))
        else:
            waiting = "waits for approval" if submission.status == Submission.Status.PENDING else "is queued"
            messages.success(request, f"Submission #{submission.id} ({submission.display_name}) {waiting}.")
            return redirect(reverse("queue") + f"#submission-{submission.id}")
    return render(
        request,
        "leaderboard/submit.html",
        {"form": form, "need_approval": settings.SUBMISSIONS_NEED_APPROVAL},
    )


def queue(request):
    entries = selectors.submission_queue()
    fmt = export_format(request)
    if fmt:
        return table_response(fmt, "queue", *exports.queue_table(entries))
    return render(request, "leaderboard/queue.html", {"entries": entries, "reject_form": RejectForm()})


def decide(request, submission_id: int, action: Callable, done: str):
    submission = get_object_or_404(Submission, id=submission_id)
    try:
        action(submission)
    except services.SubmissionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Submission #{submission.id} {done}.")
    return redirect(reverse("queue") + f"#submission-{submission.id}")


@require_POST
@login_required
def cancel_submission(request, submission_id: int):
    return decide(request, submission_id, lambda s: services.cancel_submission(s, request.user), "cancelled")


def staff_only(request) -> None:
    if not request.user.is_staff:
        raise PermissionDenied("Only staff do this.")


@require_POST
@login_required
def approve_submission(request, submission_id: int):
    staff_only(request)
    return decide(request, submission_id, lambda s: services.approve_submission(s, request.user), "approved")


@require_POST
@login_required
def reject_submission(request, submission_id: int):
    staff_only(request)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason for the rejection; nothing was changed.")
        return redirect(reverse("queue") + f"#submission-{submission_id}")
    reason = form.cleaned_data["reason"]
    return decide(
        request, submission_id, lambda s: services.reject_submission(s, request.user, reason), "rejected"
    )
