from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = "Docstring grading"

    def ready(self) -> None:
        from evaluation.signals import samples_generated
        from grading import services

        samples_generated.connect(services.on_samples_generated, dispatch_uid="grading-items")
