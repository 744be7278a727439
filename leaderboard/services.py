"""Writes of the public site: submissions, and the runs an approved submission starts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from evaluation.benchmarks import registry
from evaluation.benchmarks.contract import Judging
from leaderboard import selectors
from leaderboard.models import Submission
from leaderboard.runs.models import Benchmark, CodeModel
from leaderboard.runs.services import create_generation_run
from leaderboard.runs.tasks import start_generation


def prompt_templates(benchmark: str) -> tuple[str, ...]:
    """The prompt templates a benchmark knows; none for a benchmark that uses its problems' prompts."""
    return registry.get(benchmark).TEMPLATES


def run_template(benchmark: str, chosen: str) -> str:
    """A run's template: the chosen one if this benchmark has it, else the benchmark's default."""
    module = registry.get(benchmark)
    return chosen if chosen in module.TEMPLATES else module.DEFAULT_TEMPLATE


class SubmissionError(Exception):
    """A submission or decision that cannot be made, with a message for the person who tried."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Request:
    """What is evaluated and how: the fields a submission's fingerprint is made of, kept in one place."""

    hub_id: str
    local_path: str
    revision: str
    precision: str
    benchmarks: list[str]
    temperatures: list[float]
    n: int
    max_new_tokens: int
    prompt_template: str = ""

    def normalized(self) -> Request:
        return replace(
            self,
            benchmarks=sorted(set(self.benchmarks)),
            temperatures=sorted({float(t) for t in self.temperatures}),
        )

    def fingerprint(self) -> str:
        """Same model, revision and settings give the same fingerprint, whatever the display name."""
        key = asdict(self.normalized())
        hub_id, local_path = key.pop("hub_id"), key.pop("local_path")
        key["model"] = hub_id or local_path
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _check_name(display_name: str, hub_id: str, local_path: str, revision: str) -> None:
    other = CodeModel.objects.filter(name=display_name).first()
    if other and (other.hub_id, other.local_path, other.revision) != (hub_id, local_path, revision):
        raise SubmissionError(
            f"Another model is already called “{display_name}”: choose another name.", "display_name"
        )


@transaction.atomic
def create_submission(
    author,
    *,
    display_name: str,
    request: Request,
    ks: list[int],
    family: str = "",
    parameters: int | None = None,
    parameters_source: str = "",
) -> Submission:
    """Queue a model for evaluation, or raise SubmissionError and write nothing.

    The author's row is locked so that two forms sent at once cannot both pass the weekly limit.
    """
    get_user_model().objects.select_for_update().filter(pk=author.pk).first()
    limit = settings.SUBMISSIONS_PER_WEEK
    recent = list(selectors.submissions_since(author, selectors.week_ago()).order_by("created_at"))
    if len(recent) >= limit:
        again = recent[len(recent) - limit].created_at + timedelta(days=7)
        raise SubmissionError(
            f"You have made {len(recent)} submissions in the last 7 days, the most allowed ({limit}); "
            f"you can submit again after {date_format(again, 'DATETIME_FORMAT')} UTC."
        )
    request = request.normalized()
    missing = set(request.benchmarks) - set(
        Benchmark.objects.filter(name__in=request.benchmarks).values_list("name", flat=True)
    )
    if missing:
        raise SubmissionError(f"Not loaded on this site: {', '.join(sorted(missing))}.", "benchmarks")
    _check_name(display_name, request.hub_id, request.local_path, request.revision)
    key = request.fingerprint()
    duplicate = selectors.open_duplicate(key)
    if duplicate:
        state = selectors.submission_queue(ids=[duplicate.id])[0].state
        raise SubmissionError(
            f"This model, revision and settings were already submitted as #{duplicate.id} "
            f"(“{duplicate.display_name}”, {state})."
        )
    submission = Submission.objects.create(
        author=author,
        display_name=display_name,
        family=family,
        parameters=parameters,
        parameters_source=parameters_source,
        ks=sorted(set(ks)),
        fingerprint=key,
        **asdict(request),
    )
    if not settings.SUBMISSIONS_NEED_APPROVAL:
        approve_submission(submission, by=None)
        submission.refresh_from_db()
    return submission


def _locked_pending(submission: Submission) -> Submission:
    locked = Submission.objects.select_for_update().get(id=submission.id)
    if locked.status != Submission.Status.PENDING:
        raise SubmissionError(
            f"Submission #{locked.id} is {locked.get_status_display().lower()}, no longer pending."
        )
    return locked


def _model_for(submission: Submission) -> CodeModel:
    """The board's entry for the submitted model: found again by name, location and revision, or new."""
    _check_name(submission.display_name, submission.hub_id, submission.local_path, submission.revision)
    model, created = CodeModel.objects.get_or_create(
        name=submission.display_name,
        defaults={
            "family": submission.family,
            "parameters": submission.parameters,
            "source": CodeModel.Source.HUB if submission.hub_id else CodeModel.Source.LOCAL,
            "hub_id": submission.hub_id,
            "local_path": submission.local_path,
            "revision": submission.revision,
            "open_weights": True,
        },
    )
    return model


@transaction.atomic
def approve_submission(submission: Submission, by) -> Submission:
    """Create the model and one generation run per benchmark and temperature, and queue them.

    Greedy decoding (temperature 0) gives the same sample every time, so its runs draw one.
    """
    submission = _locked_pending(submission)
    model = _model_for(submission)
    runs = []
    for name in submission.benchmarks:
        benchmark = Benchmark.objects.filter(name=name).order_by("-loaded_at", "-id").first()
        if benchmark is None:
            raise SubmissionError(f"The benchmark {name} is no longer loaded.")
        module = registry.get(name)
        sampling = module.SAMPLING
        # People's time is what a graded benchmark costs: it is always sampled the paper's way.
        papers_way = module.JUDGING == Judging.GRADED
        for temperature in sampling.temperatures if papers_way else submission.temperatures:
            runs.append(
                create_generation_run(
                    model,
                    benchmark,
                    temperature=temperature,
                    n=sampling.n if papers_way else 1 if temperature == 0 else submission.n,
                    top_p=sampling.top_p,
                    max_new_tokens=sampling.max_new_tokens if papers_way else submission.max_new_tokens,
                    prompt_template=run_template(name, submission.prompt_template),
                    precision=submission.precision,
                )
            )
    submission.runs.set(runs)
    submission.model = model
    submission.status = Submission.Status.APPROVED
    submission.decided_by = by
    submission.decided_at = timezone.now()
    submission.save(update_fields=["model", "status", "decided_by", "decided_at"])
    for run in runs:
        start_generation(run)
    return submission


@transaction.atomic
def reject_submission(submission: Submission, by, reason: str) -> Submission:
    submission = _locked_pending(submission)
    submission.status = Submission.Status.REJECTED
    submission.reason = reason.strip()
    submission.decided_by = by
    submission.decided_at = timezone.now()
    submission.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    return submission


@transaction.atomic
def cancel_submission(submission: Submission, by) -> Submission:
    """Authors withdraw their own submissions while nothing has been spent on them."""
    if submission.author_id != by.pk:
        raise SubmissionError("Only its author can cancel a submission.")
    submission = _locked_pending(submission)
    submission.status = Submission.Status.CANCELLED
    submission.decided_by = by
    submission.decided_at = timezone.now()
    submission.save(update_fields=["status", "decided_by", "decided_at"])
    return submission
