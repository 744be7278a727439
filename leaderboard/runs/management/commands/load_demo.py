from django.core.management.base import BaseCommand

from evaluation.benchmarks import humaneval
from evaluation.samples import SHIPPED
from leaderboard.runs.models import CodeModel, Run
from leaderboard.runs.services import (
    import_samples,
    load_benchmark,
    reference_run,
)
from leaderboard.runs.tasks import start_execution

CODEGEN = SHIPPED / "humaneval_codegen16b_t0.8_n100_raw.jsonl.gz"


class Command(BaseCommand):
    help = "Load HumanEval, the shipped CodeGen-16B samples and the canonical solutions; queue what is new."

    def handle(self, *args, **options):
        benchmark, _ = load_benchmark(humaneval.load())
        runs = []
        if not Run.objects.filter(benchmark=benchmark, model__source=CodeModel.Source.REFERENCE).exists():
            runs.append(reference_run(benchmark))
        if not Run.objects.filter(benchmark=benchmark, model__name="CodeGen-Mono-16B").exists():
            runs.append(
                import_samples(
                    "CodeGen-Mono-16B",
                    benchmark,
                    CODEGEN.read_bytes(),
                    model_fields={
                        "family": "CodeGen",
                        "parameters": 16_000_000_000,
                        "hub_id": "Salesforce/codegen-16B-mono",
                    },
                    truncate=True,
                    temperature=0.8,
                    top_p=0.95,
                    note="published samples (microsoft/CodeT, MIT)",
                )
            )
        for run in runs:
            start_execution(run)
            self.stdout.write(f"run {run.id} ({run.model}): {run.samples_total} samples queued")
        if not runs:
            self.stdout.write("demo data already loaded")
