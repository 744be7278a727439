from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from evaluation.samples import SampleFileError
from leaderboard.runs.forms import ImportSamplesForm
from leaderboard.runs.models import CodeModel
from leaderboard.runs.services import import_samples
from leaderboard.runs.tasks import start_execution


def staff_required(view):
    """Staff pages: a visitor signs in on the site's own page; a signed-in non-staff user gets a
    clear 403 page (not the admin's login, which would ask them to sign in again)."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("This page is for staff.")
        return view(request, *args, **kwargs)

    return wrapped


@staff_required
def import_samples_view(request):
    form = ImportSamplesForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = import_samples(
                data["model_name"],
                data["benchmark"],
                data["file"].read(),
                model_fields={
                    "family": data["family"],
                    "parameters": data["parameters"],
                    "source": CodeModel.Source.IMPORTED,
                },
                truncate=data["truncate"],
                allow_missing=data["allow_missing"],
                temperature=data["temperature"],
                top_p=data["top_p"],
            )
        except SampleFileError as error:
            form.add_error("file", f"{error}. Nothing was imported.")
        else:
            start_execution(run)
            messages.success(request, f"Imported {run.samples_total} samples; execution queued.")
            return redirect("run", run_id=run.id)
    return render(request, "runs/import.html", {"form": form})


@staff_required
def status(request):
    """Staff's view of the machinery: queues, workers that answer, runs in progress, failures."""
    from leaderboard.runs.operations import status_overview

    return render(request, "runs/status.html", status_overview())
