from django.contrib import admin

from leaderboard.runs.models import Benchmark, CodeModel, Problem, Result, Run, Sample


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


@admin.register(Sample)
class SampleAdmin(admin.ModelAdmin):
    list_display = ("run", "problem", "index", "verdict", "status")
    list_filter = ("verdict",)
    raw_id_fields = ("run", "problem")


admin.site.register(Result)
