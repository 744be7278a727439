from django.core.management.base import BaseCommand, CommandError

from evaluation.benchmarks import apps
from leaderboard.runs.services import load_benchmark


class Command(BaseCommand):
    help = (
        "Load APPS from a JSONL/Arrow file in the Hugging Face layout, an original test/NNNN folder, "
        "a MapCoder file, or codeparrot/apps through `datasets` when no source is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="file or folder (default: the hub's codeparrot/apps)")
        parser.add_argument("--split", default="test")
        parser.add_argument("--layout", choices=apps.LAYOUTS)
        parser.add_argument("--protocol", choices=apps.PROTOCOLS, default="apps")

    def handle(self, *args, **options):
        try:
            loaded = apps.read(
                options["source"],
                split=options["split"],
                layout=options["layout"],
                protocol=options["protocol"],
            )
        except (apps.AppsDataError, OSError, ValueError, ImportError) as error:
            raise CommandError(f"cannot load APPS: {error}") from None
        for skipped in loaded.skipped:
            self.stderr.write(f"left out {skipped.task_id}: {skipped.reason}")
        benchmark, created = load_benchmark(loaded.benchmark)
        state = "loaded" if created else "already loaded"
        self.stdout.write(
            f"APPS version {benchmark.version} {state} ({benchmark.problems.count()} problems, "
            f"{len(loaded.skipped)} left out)"
        )
