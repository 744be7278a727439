from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect, render

from evaluation.samples import SampleFileError
from leaderboard.runs.forms import ImportSamplesForm
from leaderboard.runs.models import CodeModel
from leaderboard.runs.services import import_samples
from leaderboard.runs.tasks import start_execution


@staff_member_required
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


@staff_member_required
def status(request):
    """Staff's view of the machinery: queues, workers that answer, runs in progress, failures."""
    from leaderboard.runs.operations import status_overview

    return render(request, "runs/status.html", status_overview())
