from django.core.management.base import BaseCommand, CommandError

from evaluation.benchmarks import registry
from leaderboard.runs.services import load_benchmark


class Command(BaseCommand):
    help = "Store a registered benchmark's shipped problems (a changed file is a new version)."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=registry.names())
        parser.add_argument(
            "--source", help="a problem file of the benchmark's format (default: the shipped one)"
        )

    def handle(self, *args, **options):
        try:
            problems = registry.get(options["name"]).load(options["source"])
        except (OSError, ValueError) as error:
            raise CommandError(f"cannot load {options['name']}: {error}") from None
        row, created = load_benchmark(problems)
        state = "loaded" if created else "already loaded"
        self.stdout.write(f"{row.name} version {row.version} {state} ({row.problems.count()} problems)")
