from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = "Docstring grading"

    def ready(self) -> None:
        from grading import services
        from leaderboard.runs.signals import samples_generated

        samples_generated.connect(services.on_samples_generated, dispatch_uid="grading-items")
