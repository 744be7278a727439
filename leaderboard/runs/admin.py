from django.contrib import admin, messages

from leaderboard.runs.models import Benchmark, CodeModel, Problem, Result, Run, Sample
from leaderboard.runs.tasks import execute_recheck

RECHECK_SHARE = 0.1


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "loaded_at")


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ("task_id", "benchmark", "entry_point")
    list_filter = ("benchmark",)
    search_fields = ("task_id", "entry_point")


@admin.register(CodeModel)
class CodeModelAdmin(admin.ModelAdmin):
    list_display = ("name", "family", "parameters", "source", "open_weights")
    search_fields = ("name", "family")


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
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

    @admin.action(description="Re-execute 10% of the samples and record how many verdicts agree")
    def recheck(self, request, queryset):
        for run in queryset:
            if run.status != Run.Status.FINISHED:
                self.message_user(request, f"Run {run.id} is not finished.", messages.ERROR)
                continue
            execute_recheck.delay(run.id, RECHECK_SHARE)
            self.message_user(request, f"Run {run.id}: a recheck is queued; its receipt will show it.")


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ("run", "problem", "index", "verdict", "status")
    list_filter = ("verdict",)
    raw_id_fields = ("run", "problem")


admin.site.register(Result)
