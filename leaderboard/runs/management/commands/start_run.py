from django.core.management.base import BaseCommand, CommandError

from evaluation.benchmarks import registry
from leaderboard.runs.models import Benchmark, CodeModel
from leaderboard.runs.services import create_generation_run, get_or_create_model
from leaderboard.runs.tasks import start_generation


class Command(BaseCommand):
    help = (
        "Generate a model's samples on a benchmark through the generation workers (staff). The "
        "benchmark's own sampling is the default: humaneval-docstrings is Codex-D's 10 samples at T=0.8."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="the model's name on the board")
        parser.add_argument("--location", help="hub id or local folder, for a model not on the board yet")
        parser.add_argument("--benchmark", required=True, choices=registry.names())
        parser.add_argument("--temperature", type=float, action="append", help="repeat for several runs")
        parser.add_argument("--n", type=int, help="samples per problem")
        parser.add_argument("--max-new-tokens", type=int)
        parser.add_argument("--top-p", type=float)
        parser.add_argument("--template", default="", help="prompt template (default: the benchmark's)")
        parser.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        module = registry.get(options["benchmark"])
        benchmark = Benchmark.objects.filter(name=module.NAME).order_by("-loaded_at", "-id").first()
        if benchmark is None:
            raise CommandError(
                f"benchmark {module.NAME} is not loaded: run load_demo or load_benchmark first"
            )
        model = CodeModel.objects.filter(name=options["model"]).first()
        if model is None and not options["location"]:
            raise CommandError(f"no model called {options['model']!r}: give --location to add it")
        if model is None:
            location = options["location"]
            local = location.startswith("/")
            model = get_or_create_model(
                options["model"],
                source=CodeModel.Source.LOCAL if local else CodeModel.Source.HUB,
                local_path=location if local else "",
                hub_id="" if local else location,
            )
        if not (model.hub_id or model.local_path):
            raise CommandError(f"{model.name} has no hub id or local folder to generate from")
        template = options["template"] or module.DEFAULT_TEMPLATE
        if template not in (module.TEMPLATES or ("",)):
            raise CommandError(
                f"{module.NAME} has no template {template!r}; known: {', '.join(module.TEMPLATES)}"
            )
        sampling = module.SAMPLING
        for temperature in options["temperature"] or sampling.temperatures:
            run = create_generation_run(
                model,
                benchmark,
                temperature=temperature,
                n=options["n"] or (1 if temperature == 0 else sampling.n),
                top_p=options["top_p"] or sampling.top_p,
                max_new_tokens=options["max_new_tokens"] or sampling.max_new_tokens,
                prompt_template=template,
                seed=options["seed"],
                precision=options["precision"],
            )
            chunks = start_generation(run)
            self.stdout.write(
                f"run {run.id}: {model.name} on {module.NAME} at T={temperature}, {chunks} chunks queued"
            )
