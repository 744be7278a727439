"""Reads behind every page: a fixed number of queries whatever the amount of data."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet

from evaluation.models import Problem, Result, Run, Sample

BOARD_METRICS = ("pass@1", "pass@10", "pass@100")


@dataclass
class BoardRow:
    run: Run
    figures: dict[str, Result] = field(default_factory=dict)

    def value(self, metric: str) -> float | None:
        result = self.figures.get(metric)
        return result.value if result else None


def board_rows(
    benchmark_name: str = "humaneval", sort: str = "pass@1", descending: bool = True
) -> list[BoardRow]:
    """One row per run of the benchmark, with its overall raw figures (two queries)."""
    runs = (
        Run.objects.filter(benchmark__name=benchmark_name)
        .select_related("model", "benchmark")
        .prefetch_related(
            Prefetch(
                "results",
                queryset=Result.objects.filter(subset="all", variant="raw"),
                to_attr="overall",
            )
        )
    )
    rows = [BoardRow(run, {r.metric: r for r in run.overall}) for run in runs]
    if sort in BOARD_METRICS:
        filled = [row for row in rows if row.value(sort) is not None]
        empty = [row for row in rows if row.value(sort) is None]
        filled.sort(key=lambda row: row.value(sort), reverse=descending)
        return filled + empty
    if sort == "model":
        return sorted(rows, key=lambda row: row.run.model.name.lower(), reverse=descending)
    return rows


def run_detail(run_id: int) -> Run:
    return Run.objects.select_related("model", "benchmark").prefetch_related("results").get(id=run_id)


def problem_grid(run: Run) -> QuerySet[Problem]:
    """Every problem of the run's benchmark with its sample, passed and executed counts."""
    return (
        Problem.objects.filter(benchmark=run.benchmark)
        .annotate(
            total=Count("samples", filter=Q(samples__run=run)),
            passed=Count(
                "samples",
                filter=Q(samples__run=run, samples__verdict=Sample.Verdict.PASSED),
            ),
            executed=Count("samples", filter=Q(samples__run=run) & ~Q(samples__verdict="")),
        )
        .order_by("position")
    )


def problem_samples(run: Run, task_id: str) -> tuple[Problem | None, QuerySet[Sample]]:
    problem = Problem.objects.filter(benchmark=run.benchmark, task_id=task_id).first()
    return problem, Sample.objects.filter(run=run, problem=problem).order_by("index")


def run_progress(run_id: int) -> dict:
    run = Run.objects.get(id=run_id)
    return {
        "status": run.status,
        "executed": run.samples_executed,
        "total": run.samples_total,
        "error": run.error,
    }
