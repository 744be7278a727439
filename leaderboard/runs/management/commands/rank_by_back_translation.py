from django.core.management.base import BaseCommand, CommandError

from leaderboard.runs.models import Run
from leaderboard.runs.tasks import start_back_translation


class Command(BaseCommand):
    help = (
        "Figure 7's back-translation curve: a docstring model scores every sample of a finished run by "
        "log P(reference docstring | sample), through the generation workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, required=True, help="id of a finished HumanEval run")
        parser.add_argument("--model", required=True, help="the docstring model: a hub id or a local folder")

    def handle(self, *args, **options):
        run = Run.objects.select_related("benchmark").filter(id=options["run"]).first()
        if run is None:
            raise CommandError(f"no run {options['run']}")
        try:
            queued = start_back_translation(run, options["model"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"run {run.id}: {queued} problems queued for back-translation scoring")
