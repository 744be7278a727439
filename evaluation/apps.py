from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation runs"

    def ready(self) -> None:
        from evaluation import logging  # noqa: F401 - connects the task signal handlers
