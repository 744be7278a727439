from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluation.samples import SampleFileError
from leaderboard.runs.models import Benchmark, CodeModel
from leaderboard.runs.services import import_samples
from leaderboard.runs.tasks import start_execution


class Command(BaseCommand):
    help = "Import a JSONL sample file for a model into a new run and queue its execution."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--model", required=True, help="display name of the model")
        parser.add_argument("--benchmark", default="humaneval")
        parser.add_argument("--benchmark-version", help="benchmark version (default: the latest loaded)")
        parser.add_argument(
            "--truncate",
            action="store_true",
            help="cut samples at the Codex stop sequences",
        )
        parser.add_argument(
            "--allow-missing",
            action="store_true",
            help="accept files without some problems",
        )
        parser.add_argument("--temperature", type=float)
        parser.add_argument("--top-p", type=float)
        parser.add_argument("--family", default="")
        parser.add_argument("--parameters", type=int)
        parser.add_argument("--closed-weights", action="store_true")
        parser.add_argument("--note", default="")
        parser.add_argument(
            "--no-execute",
            action="store_true",
            help="store the samples without queueing them",
        )

    def handle(self, *args, **options):
        benchmarks = Benchmark.objects.filter(name=options["benchmark"]).order_by("-loaded_at")
        if options["benchmark_version"]:
            benchmarks = benchmarks.filter(content_hash__startswith=options["benchmark_version"])
        benchmark = benchmarks.first()
        if benchmark is None:
            raise CommandError(
                f"benchmark {options['benchmark']} is not loaded: run load_{options['benchmark']}"
            )
        try:
            data = options["file"].read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {options['file']}: {error.strerror}") from None
        model_fields = {
            "family": options["family"],
            "parameters": options["parameters"],
            "source": CodeModel.Source.IMPORTED,
            "open_weights": not options["closed_weights"],
        }
        try:
            run = import_samples(
                options["model"],
                benchmark,
                data,
                model_fields=model_fields,
                truncate=options["truncate"],
                allow_missing=options["allow_missing"],
                temperature=options["temperature"],
                top_p=options["top_p"],
                note=options["note"],
            )
        except SampleFileError as error:
            raise CommandError(f"{options['file']}: {error}; nothing was imported") from None
        queued = 0 if options["no_execute"] else start_execution(run)
        self.stdout.write(f"run {run.id}: {run.samples_total} samples imported, {queued} batches queued")
