from django.core.management.base import BaseCommand, CommandError

from leaderboard.runs.models import Run
from leaderboard.runs.services import recheck
from leaderboard.runs.tasks import worker_sandbox


class Command(BaseCommand):
    help = (
        "Judge a random share of a finished run's samples again, here, and record on the run's receipt "
        "how many verdicts agree (the run's flakiness). The admin queues the same on the workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, required=True)
        parser.add_argument("--share", type=float, default=0.1, help="share of the samples (default 0.1)")
        parser.add_argument("--seed", type=int, default=0, help="draws the share (default 0)")

    def handle(self, *args, **options):
        if not Run.objects.filter(id=options["run"]).exists():
            raise CommandError(f"no run {options['run']}")
        try:
            facts = recheck(
                options["run"], share=options["share"], sandbox=worker_sandbox(), seed=options["seed"]
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"run {options['run']}: {facts['agreeing']} of {facts['checked']} verdicts agree")
