"""What the site stores: benchmarks and their problems, models, runs, samples and results."""

import time
import uuid

from django.db import connection, models, transaction

from evaluation.benchmarks import TIME_LIMIT, VERSION_DIGITS, registry
from evaluation.benchmarks.contract import Judging


def problem_set(*, content_hash: str, split: str) -> str:
    """A benchmark version as pages name it, "3f2a1b0c9d8e · train split": the split is said
    wherever it is not the test split, since train-split figures are not the published ones."""
    version = content_hash[:VERSION_DIGITS]
    return f"{version} · {split} split" if split else version


class Benchmark(models.Model):
    """One version of a benchmark: a changed file is a new row, never an overwrite."""

    name = models.CharField(max_length=50)
    content_hash = models.CharField(max_length=64)
    split = models.CharField(max_length=20, blank=True, help_text="e.g. train, where not the test split")
    source = models.CharField(max_length=300, blank=True, help_text="Where the problems come from")
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "content_hash"], name="unique_benchmark_version")
        ]
        ordering = ["name", "-loaded_at"]

    @property
    def version(self) -> str:
        return self.content_hash[:VERSION_DIGITS]

    @property
    def problem_set(self) -> str:
        return problem_set(content_hash=self.content_hash, split=self.split)

    def __str__(self) -> str:
        return f"{self.name} {self.problem_set}"


class Problem(models.Model):
    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="problems")
    position = models.PositiveIntegerField()
    task_id = models.CharField(max_length=100)
    prompt = models.TextField()
    test = models.TextField()
    entry_point = models.CharField(max_length=200, blank=True)
    canonical_solution = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "task_id"], name="unique_task_per_benchmark")
        ]
        ordering = ["benchmark", "position"]

    def __str__(self) -> str:
        return self.task_id


class CodeModel(models.Model):
    """A language model on the board; `source` says where its samples come from."""

    class Source(models.TextChoices):
        HUB = "hub", "Hub id"
        LOCAL = "local", "Local path"
        IMPORTED = "imported", "Imported samples"
        REFERENCE = "reference", "Reference solutions"

    name = models.CharField(max_length=200, unique=True)
    family = models.CharField(max_length=100, blank=True)
    parameters = models.BigIntegerField(null=True, blank=True, help_text="Number of parameters")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.IMPORTED)
    hub_id = models.CharField(max_length=200, blank=True)
    revision = models.CharField(max_length=100, blank=True)
    local_path = models.CharField(max_length=500, blank=True)
    open_weights = models.BooleanField(default=True)
    released = models.DateField(null=True, blank=True)
    method = models.CharField(
        max_length=100, blank=True, help_text="Prompting method, e.g. Direct or MapCoder"
    )
    samples_source = models.CharField(max_length=300, blank=True, help_text="Where shipped samples come from")
    licence = models.CharField(max_length=100, blank=True, help_text="Licence of the shipped samples")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    """One evaluation of a model on a benchmark version with fixed sampling settings."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        GENERATING = "generating", "Generating"
        EXECUTING = "executing", "Executing"
        GRADING = "grading", "Grading"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    model = models.ForeignKey(CodeModel, on_delete=models.CASCADE, related_name="runs")
    benchmark = models.ForeignKey(Benchmark, on_delete=models.PROTECT, related_name="runs")
    temperature = models.FloatField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    n = models.PositiveIntegerField(help_text="Samples per problem")
    max_new_tokens = models.PositiveIntegerField(null=True, blank=True)
    stop_sequences = models.JSONField(default=list, blank=True)
    prompt_template = models.CharField(max_length=100, blank=True)
    precision = models.CharField(
        max_length=10, default="auto", help_text="auto, float32, bfloat16 or float16"
    )
    seed = models.BigIntegerField(default=0)
    timeout = models.FloatField(default=TIME_LIMIT, help_text="Seconds per execution")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    samples_total = models.PositiveIntegerField(default=0)
    samples_executed = models.PositiveIntegerField(default=0, help_text="Samples judged: executed or settled")
    problems_covered = models.PositiveIntegerField(default=0, help_text="Problems with judged samples")
    problems_total = models.PositiveIntegerField(default=0, help_text="Problems of its benchmark version")
    complete = models.BooleanField(
        default=False, help_text="Finished, every sample judged, every problem of the benchmark covered"
    )
    error = models.TextField(blank=True, help_text="Why a task failed, with hosts and exceptions: staff only")
    reason = models.CharField(max_length=500, blank=True, help_text="Why it failed or was cancelled: public")
    requeues = models.PositiveIntegerField(default=0, help_text="Resends by the sweep after a task failure")
    derived_from = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="derived",
        help_text="The run whose samples this one judges again on a larger benchmark (HumanEval+)",
    )
    ranked_by = models.CharField(
        max_length=500, blank=True, help_text="The docstring model that scores samples by back-translation"
    )
    environment = models.JSONField(default=dict, blank=True, help_text="Software and hardware it ran on")
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.model} on {self.benchmark} (T={self.temperature}, n={self.n})"

    @property
    def executed(self) -> bool:
        """Whether tests judge its samples (HumanEval, APPS) rather than people (Codex-D)."""
        return registry.get(self.benchmark.name).JUDGING == Judging.EXECUTED

    @property
    def progress(self) -> float:
        return self.samples_executed / self.samples_total if self.samples_total else 0.0

    @property
    def coverage(self) -> str:
        """What an incomplete run's figures stand on ("161 of 164 problems"); empty for a complete run."""
        return coverage_text(
            self.complete,
            self.problems_covered,
            self.problems_total,
            self.samples_executed,
            self.samples_total,
        )


def coverage_text(complete: bool, covered: int, problems: int, judged: int, samples: int) -> str:
    """The caveat shown beside a figure of an incomplete run, wherever the figure appears."""
    if complete:
        return ""
    if covered < problems:
        return f"{covered:,} of {problems:,} problems"
    return f"provisional: {judged:,} of {samples:,} judged"


class Sample(models.Model):
    class Verdict(models.TextChoices):
        PENDING = "", "Pending"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        TIMEOUT = "timeout", "Timed out"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="samples")
    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="samples")
    index = models.PositiveIntegerField()
    completion = models.TextField()
    mean_logprob = models.FloatField(null=True, blank=True)
    sum_logprob = models.FloatField(null=True, blank=True)
    back_translation = models.FloatField(
        null=True, blank=True, help_text="log P(reference docstring | sample) by the run's `ranked_by` model"
    )
    verdict = models.CharField(max_length=10, choices=Verdict.choices, default=Verdict.PENDING, blank=True)
    status = models.CharField(
        max_length=20,
        blank=True,
        help_text="Detailed outcome: oom, crashed, not_run, ...",
    )
    detail = models.TextField(blank=True)
    outcome = models.CharField(
        max_length=50,
        blank=True,
        help_text="Why it failed: wrong answer, NameError, timeout, ... (outcomes.py)",
    )
    run_time = models.FloatField(null=True, blank=True)
    tests = models.JSONField(
        null=True,
        blank=True,
        help_text="Per-test verdicts, where the benchmark has them",
    )
    execution = models.JSONField(
        default=dict, blank=True, help_text="Mode and isolation layers of the verdict"
    )
    extra = models.JSONField(
        default=dict, blank=True, help_text="Benchmark facts, e.g. public examples passed"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "problem", "index"], name="unique_sample")]
        indexes = [models.Index(fields=["run", "verdict"])]
        ordering = ["problem__position", "index"]


class Result(models.Model):
    """A stored figure of a run: pass@k overall or for a subset, with its bootstrap interval."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="results")
    metric = models.CharField(max_length=50, help_text="pass@1, pass@10, ...")
    subset = models.CharField(max_length=50, default="all", help_text="all, or a difficulty")
    variant = models.CharField(max_length=50, default="raw", help_text="raw, filtered, ...")
    value = models.FloatField()
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "metric", "subset", "variant"], name="unique_result")
        ]
        ordering = ["run", "subset", "variant", "metric"]


class PublicVersion(models.Model):
    """One row whose token every write that changes the public pages draws afresh (a run finished or
    stopped, a grade settled, a model edited) once its transaction commits: the key of the cached
    pages (leaderboard/caching.py), read once per request by the web server whichever process wrote.

    A token is random rather than counted, so that none comes back after a rollback or a flush."""

    ROW = 1
    token = models.CharField(max_length=32)
    changed_at = models.FloatField(help_text="When, in seconds since the epoch")

    @classmethod
    def bump(cls) -> None:
        """A new token once the caller's transaction commits (at once outside one): a page rendered
        before the commit cannot be stored under it, and no lock is held until the commit."""
        transaction.on_commit(cls.draw)

    @classmethod
    def draw(cls) -> None:
        row = cls(id=cls.ROW, token=uuid.uuid4().hex, changed_at=time.time())
        cls.objects.bulk_create(
            [row], update_conflicts=True, unique_fields=["id"], update_fields=["token", "changed_at"]
        )

    @classmethod
    def current(cls) -> "PublicVersion | None":
        """None until a first change: pages are then not cached, since nothing would say when they
        change. Read with plain SQL: it is the one query of a page served from the cache."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT token, changed_at FROM {cls._meta.db_table} WHERE id = %s", [cls.ROW])
            row = cursor.fetchone()
        return cls(id=cls.ROW, token=row[0], changed_at=row[1]) if row else None
