from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from grading import services

BUILTIN = "humaneval"


class Command(BaseCommand):
    help = (
        "Import docstrings to grade from a CSV (task_id, solution_id, function_signature, code, comment) "
        "as a run of MODEL, and/or add hidden gold items (--gold: HumanEval's own docstrings, or a "
        "humanevalpack JSONL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="CSV of docstrings, 10 per problem in the Codex paper")
        parser.add_argument("--model", help="Name of the model that wrote the docstrings")
        parser.add_argument("--temperature", type=float, default=None, help="Sampling temperature, if known")
        parser.add_argument("--note", default="")
        parser.add_argument("--target", type=int, default=1, help="Grades wanted per item (default 1)")
        parser.add_argument(
            "--agreement-share", type=float, default=0.0, help="Share of items graded more often"
        )
        parser.add_argument("--agreement-target", type=int, default=3, help="Grades wanted on that share")
        parser.add_argument(
            "--gold",
            nargs="?",
            const=BUILTIN,
            help="Add gold items: reference docstrings from HumanEval, or from this humanevalpack JSONL",
        )

    def handle(self, *args, **options):
        if not options["file"] and not options["gold"]:
            raise CommandError("give a CSV file to import, --gold, or both")
        if options["file"] and not options["model"]:
            raise CommandError("--model NAME is required with a file")
        try:
            with transaction.atomic():
                if options["file"]:
                    self.import_file(options)
                if options["gold"]:
                    self.import_gold(options["gold"])
        except services.GradingError as error:
            raise CommandError(f"nothing imported: {error}") from None

    def import_file(self, options):
        rows = services.parse_docstring_csv(self.read(options["file"]))
        run = services.import_docstrings(
            rows, options["model"], temperature=options["temperature"], note=options["note"]
        )
        subset = services.set_targets(
            run, options["target"], options["agreement_share"], options["agreement_target"]
        )
        self.stdout.write(
            f"run {run.id}: {len(rows)} docstrings of {options['model']}, {subset} on the agreement subset"
        )

    def import_gold(self, source):
        docstrings = (
            None if source in (BUILTIN, True) else services.parse_reference_docstrings(self.read(source))
        )
        made = services.create_gold_items(docstrings)
        self.stdout.write(f"{made} gold items added")

    def read(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
