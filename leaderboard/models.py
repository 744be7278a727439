"""What the public site stores of its own: model submissions made through the web form."""

from django.conf import settings
from django.db import models

from leaderboard.runs.models import CodeModel, Run


class Submission(models.Model):
    """A request to evaluate a model; once approved, its runs say how far it got.

    `status` records only the decisions people make (approve, reject, cancel); the states a
    visitor sees after approval (generating, executing, finished, failed) are read from the runs,
    so they can never disagree with what the workers wrote.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    class Precision(models.TextChoices):
        BFLOAT16 = "bfloat16", "bfloat16"
        FLOAT16 = "float16", "float16"
        FLOAT32 = "float32", "float32"

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    display_name = models.CharField(max_length=200)
    family = models.CharField(max_length=100, blank=True)
    hub_id = models.CharField(max_length=200, blank=True)
    local_path = models.CharField(max_length=500, blank=True)
    revision = models.CharField(max_length=100, default="main")
    precision = models.CharField(max_length=10, choices=Precision.choices, default=Precision.BFLOAT16)
    parameters = models.BigIntegerField(null=True, blank=True)
    parameters_source = models.CharField(max_length=100, blank=True, help_text="Where the count came from")
    benchmarks = models.JSONField(default=list, help_text="Benchmark names")
    temperatures = models.JSONField(default=list)
    ks = models.JSONField(default=list, help_text="The k of pass@k asked for")
    n = models.PositiveIntegerField(help_text="Samples per problem")
    max_new_tokens = models.PositiveIntegerField(default=300)
    prompt_template = models.CharField(max_length=100, blank=True)
    fingerprint = models.CharField(max_length=64, db_index=True, help_text="Model, revision and settings")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True, help_text="Why it was rejected")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    model = models.ForeignKey(CodeModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    runs = models.ManyToManyField(Run, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["author", "created_at"])]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.location}@{self.revision})"

    @property
    def location(self) -> str:
        return self.hub_id or self.local_path
