from django.core.management.base import BaseCommand, CommandError

from evaluation.samples import SampleFileError
from leaderboard.runs import demo


class Command(BaseCommand):
    help = (
        "Load the shipped benchmarks and sample sets (leaderboard/runs/demo.py): each set a run of its own, "
        "stored once; queue the new runs, the cheapest first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="+", default=[], metavar="SET", help="load only these sets")
        parser.add_argument("--list", action="store_true", help="list the shipped sets and load nothing")

    def handle(self, *args, **options):
        if options["list"]:
            for entry in demo.SETS:
                self.stdout.write(entry.describe())
            return
        try:
            loaded = demo.load(demo.select(options["only"]))
        except (demo.UnknownSet, SampleFileError) as error:
            raise CommandError(str(error)) from None
        for run in loaded.created:
            self.stdout.write(f"run {run.id} ({run.model}): {run.samples_total} samples queued")
        if loaded.reused:
            self.stdout.write(f"{len(loaded.reused)} sets already loaded, their runs reused")
