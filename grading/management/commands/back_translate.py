from django.core.management.base import BaseCommand, CommandError

from evaluation.benchmarks import humaneval_docstrings as docstrings
from grading import services
from leaderboard.runs.models import Run


class Command(BaseCommand):
    help = (
        "Back-translation: a code model writes each docstring's function (greedy), and the problem's "
        "tests judge it; the pass rate shows beside the human grades."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, required=True, help="Id of the docstring run")
        parser.add_argument("--backend", required=True, help="A hub id, a local folder, or openai:URL#MODEL")
        parser.add_argument("--limit", type=int, default=None, help="At most this many items")
        parser.add_argument("--workers", type=int, default=None, help="Sandbox slots")

    def handle(self, *args, **options):
        from evaluation.generation import GenerationError
        from evaluation.generation.backends import load_backend

        try:
            run = Run.objects.get(pk=options["run"], benchmark__name=docstrings.NAME)
        except Run.DoesNotExist:
            raise CommandError(f"no docstring run {options['run']}") from None
        items = list(
            run.docstring_items.exclude(back_translations__backend=options["backend"])
            .select_related("problem")
            .order_by("problem__position", "index")[: options["limit"]]
        )
        try:
            backend = load_backend(options["backend"])
            stored = services.back_translate(items, backend, options["backend"], workers=options["workers"])
        except (GenerationError, OSError, ValueError) as error:
            raise CommandError(f"back-translation failed: {error}") from None
        passed = sum(row.passed for row in stored)
        self.stdout.write(f"{len(stored)} of {len(items)} docstrings checked: {passed} passed the tests")
