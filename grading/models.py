"""Docstring items, the claims and grades annotators make on them, and the labels that result."""

from django.conf import settings
from django.db import models

from leaderboard.runs.models import Problem, Run, Sample


class Label(models.TextChoices):
    CORRECT = "correct", "Correct"
    INCORRECT = "incorrect", "Incorrect"


class Reason(models.TextChoices):
    """Why a docstring is incorrect: the paper's frequent failures first."""

    MISSING_DETAIL = "missing_detail", "Missing detail"
    WRONG_BEHAVIOUR = "wrong_behaviour", "Wrong behaviour"
    COPIES_CODE = "copies_code", "Copies the code"
    INVENTED = "invented", "Invented from the name"
    OTHER = "other", "Other"


class Item(models.Model):
    """One docstring to grade: a sample of a docstring run, or a hidden gold item with a known label."""

    class Source(models.TextChoices):
        GENERATED = "generated", "Generated"
        IMPORTED = "imported", "Imported"
        REFERENCE = "reference", "Reference docstring"
        DECOY = "decoy", "Another problem's docstring"

    class Status(models.TextChoices):
        PENDING = "", "Pending"
        UNANIMOUS = "unanimous", "Unanimous"
        MAJORITY = "majority", "Majority"
        ADJUDICATED = "adjudicated", "Adjudicated"
        UNRESOLVED = "unresolved", "Unresolved"
        GOLD = "gold", "Gold"

    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="docstring_items")
    run = models.ForeignKey(
        Run, on_delete=models.CASCADE, null=True, blank=True, related_name="docstring_items"
    )
    sample = models.OneToOneField(
        Sample, on_delete=models.CASCADE, null=True, blank=True, related_name="docstring_item"
    )
    index = models.PositiveIntegerField(default=0, help_text="Sample index within the problem")
    code = models.TextField(help_text="The function the docstring describes, without its own docstring")
    docstring = models.TextField()
    source = models.CharField(max_length=20, choices=Source.choices)
    is_gold = models.BooleanField(default=False)
    gold_label = models.CharField(max_length=10, choices=Label.choices, blank=True)
    target = models.PositiveSmallIntegerField(
        default=1, help_text="Grades wanted; 2 or 3 on the agreement subset"
    )
    grade_count = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=10, choices=Label.choices, blank=True, help_text="The final label")
    label_status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "problem", "index"],
                condition=models.Q(run__isnull=False),
                name="unique_docstring_sample",
            ),
            models.UniqueConstraint(
                fields=["problem", "source"],
                condition=models.Q(is_gold=True),
                name="unique_gold_item",
            ),
            models.CheckConstraint(
                condition=models.Q(is_gold=False, gold_label="")
                | models.Q(is_gold=True) & ~models.Q(gold_label=""),
                name="gold_items_have_a_label",
            ),
        ]
        indexes = [models.Index(fields=["is_gold", "grade_count"])]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.problem.task_id} #{self.index}" + (" (gold)" if self.is_gold else "")


# Items whose graders disagree (a majority or a tie); an adjudicated one may be decided again.
DISPUTED = (Item.Status.MAJORITY, Item.Status.UNRESOLVED, Item.Status.ADJUDICATED)


class Claim(models.Model):
    """An annotator's hold on an item; past `expires_at` it no longer counts and the item comes back."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="claims")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grading_claims"
    )
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="one_claim_per_annotator_item")
        ]
        indexes = [models.Index(fields=["item", "expires_at"])]


class Grade(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="grades")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="docstring_grades"
    )
    label = models.CharField(max_length=10, choices=Label.choices)
    reasons = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    time_spent = models.FloatField(default=0.0, help_text="Seconds, over the first grade and its revisions")
    revisions = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="one_grade_per_annotator_item")
        ]
        ordering = ["created_at", "id"]


class Skip(models.Model):
    class Reason(models.TextChoices):
        UNSURE = "unsure", "Not sure"
        UNREADABLE = "unreadable", "Cannot read the code"
        BROKEN = "broken", "Broken item"
        OTHER = "other", "Other"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="skips")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="docstring_skips"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="one_skip_per_annotator_item")
        ]


class Adjudication(models.Model):
    """A reviewer's decision on a disputed item: it overrides the grades' vote."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="adjudication")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjudications"
    )
    label = models.CharField(max_length=10, choices=Label.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)


class BackTranslation(models.Model):
    """The automatic companion: a code model wrote the function from the docstring; did it pass the tests?"""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="back_translations")
    backend = models.CharField(max_length=300)
    completion = models.TextField()
    passed = models.BooleanField()
    status = models.CharField(max_length=20)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "backend"], name="one_back_translation_per_backend")
        ]
