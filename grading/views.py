"""The grading screens: thin views over services (writes) and selectors (reads)."""

import csv
import json
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from grading import selectors, services
from grading.forms import AdjudicationForm, GradeForm, SkipForm
from grading.models import Grade, Item, Reason
from grading.roles import can_grade, can_review

REASON_KEYS = [(str(n), value, label) for n, (value, label) in enumerate(Reason.choices, 1)]


def _role_required(check, role: str):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                return render(request, "grading/forbidden.html", {"role": role}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


annotator_required = _role_required(can_grade, "annotator")
reviewer_required = _role_required(can_review, "reviewer")


def _screen(request, item: Item, grade: Grade | None, form: GradeForm | None = None):
    """The grading screen; blind: nothing about the model, its settings, the sample or other grades."""
    user = request.user
    before = selectors.grade_before(user, item)
    after = selectors.grade_after(user, item) if grade else None
    initial = {"label": grade.label, "reasons": grade.reasons, "note": grade.note} if grade else {}
    return render(
        request,
        "grading/grade.html",
        {
            "item": item,
            "grade": grade,
            "form": form or GradeForm(initial=initial),
            "skip_form": SkipForm(),
            "reason_keys": REASON_KEYS,
            "chosen_reasons": set(initial.get("reasons", [])),
            "progress": selectors.progress(user),
            "back": before.item_id if before else None,
            "forward": reverse("grading:item", args=[after.item_id]) if after else reverse("grading:index"),
        },
    )


@annotator_required
def index(request):
    item = services.next_item(request.user)
    if item is None:
        last = selectors.grade_before(request.user, None)
        return render(
            request,
            "grading/done.html",
            {"progress": selectors.progress(request.user), "back": last.item_id if last else None},
        )
    return _screen(request, item, selectors.own_grade(request.user, item))


@annotator_required
def item(request, item_id: int):
    """Revise one's own grade; an item one holds but has not graded is the queue's current item."""
    item = get_object_or_404(Item, pk=item_id)
    grade = selectors.own_grade(request.user, item)
    if grade is None:
        if item.claims.filter(annotator=request.user).exists():
            return redirect("grading:index")
        raise Http404("You have not graded this item")
    return _screen(request, item, grade)


@require_POST
@annotator_required
def grade(request, item_id: int):
    item = get_object_or_404(Item, pk=item_id)
    form = GradeForm(request.POST)
    if not form.is_valid():
        return _screen(request, item, selectors.own_grade(request.user, item), form)
    revising = selectors.own_grade(request.user, item) is not None
    data = form.cleaned_data
    try:
        services.grade(request.user, item.id, data["label"], data["reasons"], data["note"], data["seconds"])
    except services.GradingError as error:
        messages.error(request, str(error))
        return redirect("grading:index")
    if revising:
        messages.success(request, "Your grade was revised.")
    return redirect("grading:index")


@require_POST
@annotator_required
def skip(request, item_id: int):
    item = get_object_or_404(Item, pk=item_id)
    form = SkipForm(request.POST)
    if form.is_valid():
        try:
            services.skip(request.user, item.id, form.cleaned_data["reason"], form.cleaned_data["note"])
        except services.GradingError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, "Choose a reason to skip.")
    return redirect("grading:index")


@annotator_required
def history(request):
    return render(request, "grading/history.html", {"grades": selectors.history(request.user)})


def table(request):
    """Table 3: public, like the rest of the results."""
    return render(
        request,
        "grading/table.html",
        {"rows": selectors.docstring_table(), "reviewer": can_review(request.user)},
    )


@reviewer_required
def quality(request):
    return render(
        request,
        "grading/quality.html",
        {"gold": selectors.gold_accuracy(), "agreement": selectors.run_agreement()},
    )


@reviewer_required
def adjudication(request):
    return render(request, "grading/adjudication.html", {"queue": selectors.adjudication_queue(request.user)})


@reviewer_required
def adjudicate(request, item_id: int):
    item = get_object_or_404(selectors.open_to_adjudicate(request.user).select_related("problem"), pk=item_id)
    form = AdjudicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.adjudicate(request.user, item.id, form.cleaned_data["label"], form.cleaned_data["note"])
        except services.GradingError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Adjudicated.")
            return redirect("grading:adjudication")
    grades = item.grades.select_related("annotator").order_by("created_at")
    return render(request, "grading/adjudicate.html", {"item": item, "grades": grades, "form": form})


def _spreadsheet_safe(value):
    """Text a spreadsheet would run as a formula gets a leading quote (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@reviewer_required
def export(request, fmt: str):
    rows = selectors.export_rows()
    if fmt == "json":
        response = HttpResponse(json.dumps(rows, indent=1), content_type="application/json")
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        writer = csv.DictWriter(response, fieldnames=selectors.EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            row = {**row, "reasons": ";".join(row["reasons"])}
            writer.writerow({key: _spreadsheet_safe(value) for key, value in row.items()})
    response["Content-Disposition"] = f'attachment; filename="docstring-grades.{fmt}"'
    return response
