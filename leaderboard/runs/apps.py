from django.apps import AppConfig


class RunsConfig(AppConfig):
    """The app that stores benchmarks, models, runs, samples and results, and works them through Celery."""

    name = "leaderboard.runs"
    label = "runs"
    verbose_name = "Evaluation runs"

    def ready(self) -> None:
        from leaderboard.runs import logs, tasks  # noqa: F401 - connect the Celery signal handlers
