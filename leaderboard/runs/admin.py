from django.contrib import admin, messages

from leaderboard.runs.models import Benchmark, CodeModel, Problem, PublicVersion, Result, Run, Sample
from leaderboard.runs.tasks import execute_recheck

RECHECK_SHARE = 0.1


class PublicAdmin(admin.ModelAdmin):
    """What staff change here shows on the public pages: each change draws a new public version."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        PublicVersion.bump()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        PublicVersion.bump()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        PublicVersion.bump()


@admin.register(Benchmark)
class BenchmarkAdmin(PublicAdmin):
    list_display = ("name", "version", "loaded_at")


@admin.register(Problem)
class ProblemAdmin(PublicAdmin):
    list_display = ("task_id", "benchmark", "entry_point")
    list_filter = ("benchmark",)
    search_fields = ("task_id", "entry_point")


@admin.register(CodeModel)
class CodeModelAdmin(PublicAdmin):
    list_display = ("name", "family", "parameters", "source", "open_weights")
    search_fields = ("name", "family")


@admin.register(Run)
class RunAdmin(PublicAdmin):
    list_display = (
        "id",
        "model",
        "benchmark",
        "temperature",
        "n",
        "status",
        "samples_executed",
        "samples_total",
    )
    list_filter = ("status", "benchmark")
    readonly_fields = ("environment",)
    actions = ["recheck"]

    # Django formats an action's description with %, so a percent sign is written twice.
    @admin.action(
        description=f"Re-execute {RECHECK_SHARE:.0%}% of the samples and record how many verdicts agree"
    )
    def recheck(self, request, queryset):
        for run in queryset:
            if run.status != Run.Status.FINISHED or not run.executed:
                self.message_user(
                    request, f"Run {run.id} is not a finished run of an executed benchmark.", messages.ERROR
                )
                continue
            execute_recheck.delay(run.id, RECHECK_SHARE)
            self.message_user(request, f"Run {run.id}: a recheck is queued; its receipt will show it.")


@admin.register(Sample)
class SampleAdmin(PublicAdmin):
    list_display = ("run", "problem", "index", "verdict", "status")
    list_filter = ("verdict",)
    raw_id_fields = ("run", "problem")


admin.site.register(Result, PublicAdmin)
