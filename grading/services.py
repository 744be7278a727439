"""Writes: docstring runs and imports, the annotator queue (claim, grade, skip, expire), adjudication.

The queue hands out one item at a time. Claiming locks the item's row (PostgreSQL
`SELECT ... FOR UPDATE SKIP LOCKED`), and so do grading and skipping, so the counts read under
that lock are exact: an item never has more live claims than the grades it still needs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Count, Exists, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import MD5, Cast, Coalesce, Concat
from django.utils import timezone

from evaluation.benchmarks import humaneval_docstrings as docstrings
from evaluation.samples import SampleRecord
from grading.models import DISPUTED, Adjudication, BackTranslation, Claim, Grade, Item, Label, Reason, Skip
from leaderboard.runs.models import Benchmark, CodeModel, PublicVersion, Run, Sample
from leaderboard.runs.services import (
    create_generation_run,
    create_run_from_records,
    get_or_create_model,
    load_benchmark,
    update_results,
)

CLAIM_TTL = timedelta(seconds=getattr(settings, "GRADING_CLAIM_SECONDS", 600))
MAX_SECONDS = 3600.0
DECOY_OFFSET = 82
_CLAIM_ATTEMPTS = 50


class GradingError(Exception):
    """A refusal a user can act on; the message is shown as is."""


# Docstring runs ---------------------------------------------------------------------------------


def docstring_benchmark() -> Benchmark:
    """The stored version of the docstring benchmark, loaded on first use."""
    row, _ = load_benchmark(docstrings.load())
    return row


def create_docstring_run(
    model: CodeModel,
    *,
    temperature: float = docstrings.SAMPLING.temperatures[0],
    n: int = docstrings.SAMPLING.n,
    seed: int = 0,
) -> Run:
    """A Codex-D run for the generation workers: n docstrings per problem, cut at the closing quotes."""
    return create_generation_run(
        model,
        docstring_benchmark(),
        temperature=temperature,
        n=n,
        top_p=docstrings.SAMPLING.top_p,
        max_new_tokens=docstrings.SAMPLING.max_new_tokens,
        prompt_template=docstrings.DEFAULT_TEMPLATE,
        seed=seed,
    )


@transaction.atomic
def items_from_run(run: Run, codes: dict[tuple[str, int], str] | None = None) -> int:
    """An item for every sample of a docstring run that has none yet; returns how many were made.

    Each wants one grade, or `GRADING_AGREEMENT_TARGET` on a reproducible share of the run
    (`GRADING_AGREEMENT_SHARE`), so every published table has its agreement figures."""
    imported = run.prompt_template == "import"
    samples = run.samples.filter(docstring_item__isnull=True).select_related("problem")
    share, wanted = settings.GRADING_AGREEMENT_SHARE, settings.GRADING_AGREEMENT_TARGET
    items = [
        Item(
            problem=s.problem,
            run=run,
            sample=s,
            index=s.index,
            code=(codes or {}).get((s.problem.task_id, s.index)) or s.problem.metadata["code"],
            docstring=s.completion if imported else docstrings.docstring_from_completion(s.completion),
            source=Item.Source.IMPORTED if imported else Item.Source.GENERATED,
            target=wanted if _stable_fraction(run.id, s.problem.task_id, s.index) < share else 1,
        )
        for s in samples
    ]
    Item.objects.bulk_create(items, batch_size=1000)
    return len(items)


@dataclass(frozen=True)
class DocstringRow:
    line: int
    task_id: str
    solution_id: int
    code: str
    docstring: str


REQUIRED_COLUMNS = ("task_id", "solution_id", "code", "comment")


def parse_docstring_csv(data: bytes) -> list[DocstringRow]:
    """Rows of a docstring CSV (task_id, solution_id, code, comment, ...); errors name the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise GradingError(f"the file is not UTF-8 text: {error}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise GradingError(
            f"line 1: missing column(s) {', '.join(missing)}; need {', '.join(REQUIRED_COLUMNS)}"
        )
    rows: list[DocstringRow] = []
    seen: dict[tuple[str, int], int] = {}
    line = reader.line_num + 1
    try:
        for record in reader:
            rows.append(_docstring_row(record, line, seen))
            line = reader.line_num + 1
    except csv.Error as error:
        raise GradingError(f"line {line}: {error}") from None
    if not rows:
        raise GradingError("the file has no rows")
    return rows


def _docstring_row(record: dict, line: int, seen: dict[tuple[str, int], int]) -> DocstringRow:
    if None in record or any(record[c] is None for c in REQUIRED_COLUMNS):
        raise GradingError(f"line {line}: wrong number of fields")
    raw_task = record["task_id"].strip()
    task_id = f"HumanEval/{raw_task}" if raw_task.isdigit() else raw_task
    try:
        solution_id = int(record["solution_id"])
    except ValueError:
        raise GradingError(
            f"line {line}: solution_id {record['solution_id']!r} is not a whole number"
        ) from None
    if not record["comment"].strip():
        raise GradingError(f"line {line}: empty comment (the docstring) for {task_id}")
    if not record["code"].strip():
        raise GradingError(f"line {line}: empty code for {task_id}")
    key = (task_id, solution_id)
    if key in seen:
        raise GradingError(f"line {line}: {task_id} solution {solution_id} already given on line {seen[key]}")
    seen[key] = line
    return DocstringRow(line, task_id, solution_id, record["code"], record["comment"].strip())


def _shown_code(code: str, entry_point: str) -> str:
    """Imported code without its own docstring, when it has one and parses."""
    try:
        return docstrings.function_code(code, "", entry_point)
    except (SyntaxError, ValueError):
        return code.strip("\n") + "\n"


@transaction.atomic
def import_docstrings(
    rows: list[DocstringRow],
    model_name: str,
    *,
    temperature: float | None = None,
    note: str = "",
) -> Run:
    """Store imported docstrings as a run of the docstring benchmark with one item per row; all or nothing."""
    benchmark = docstring_benchmark()
    problems = {p.task_id: p for p in benchmark.problems.all()}
    for row in rows:
        if row.task_id not in problems:
            raise GradingError(f"line {row.line}: unknown task_id {row.task_id!r} (not a HumanEval problem)")
    index_of: dict[tuple[str, int], int] = {}
    for task_id in {r.task_id for r in rows}:
        for index, solution_id in enumerate(sorted(r.solution_id for r in rows if r.task_id == task_id)):
            index_of[task_id, solution_id] = index
    records = [SampleRecord(r.task_id, index_of[r.task_id, r.solution_id], r.docstring) for r in rows]
    model = get_or_create_model(model_name, source=CodeModel.Source.IMPORTED)
    run = create_run_from_records(
        model, benchmark, records, temperature=temperature, prompt_template="import", note=note
    )
    codes = {
        (r.task_id, index_of[r.task_id, r.solution_id]): _shown_code(r.code, problems[r.task_id].entry_point)
        for r in rows
    }
    items_from_run(run, codes)
    return run


def _stable_fraction(*parts: object) -> float:
    digest = hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@transaction.atomic
def set_targets(run: Run, target: int = 1, agreement_share: float = 0.0, agreement_target: int = 3) -> int:
    """Grades wanted per item: `target`, and `agreement_target` on a reproducible share of the run."""
    if not 1 <= target <= agreement_target <= 10 or not 0 <= agreement_share <= 1:
        raise GradingError("need 1 <= target <= agreement target <= 10 and a share between 0 and 1")
    chosen = []
    for item_id, task_id, index in run.docstring_items.values_list("id", "problem__task_id", "index"):
        if _stable_fraction(run.id, task_id, index) < agreement_share:
            chosen.append(item_id)
    run.docstring_items.update(target=target)
    run.docstring_items.filter(id__in=chosen).update(target=agreement_target)
    for item in run.docstring_items.filter(grade_count__gt=0):
        _settle(item)
    return len(chosen)


def parse_reference_docstrings(data: bytes) -> dict[str, str]:
    """task_id -> docstring from a humanevalpack-style JSONL (`task_id` Python/N, `docstring`)."""
    docstrings = {}
    for line, text in enumerate(data.decode("utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
            task_id, docstring = str(row["task_id"]), str(row["docstring"])
        except (ValueError, KeyError, TypeError) as error:
            raise GradingError(f"line {line}: not a row with task_id and docstring ({error})") from None
        docstrings["HumanEval/" + task_id.rsplit("/", 1)[-1]] = docstring.strip()
    return docstrings


@transaction.atomic
def create_gold_items(docstrings: dict[str, str] | None = None) -> int:
    """Hidden known-answer items: each problem with its reference docstring (correct) and with another
    problem's docstring (a decoy, incorrect). By default the references are HumanEval's own docstrings."""
    benchmark = docstring_benchmark()
    problems = list(benchmark.problems.order_by("position"))
    reference = {p.task_id: p.canonical_solution for p in problems}
    if docstrings is not None:
        unknown = sorted(set(docstrings) - set(reference))
        if unknown:
            raise GradingError(f"unknown task_id(s) in the reference docstrings: {', '.join(unknown[:5])}")
        reference.update(docstrings)
    made = 0
    for position, problem in enumerate(problems):
        decoy = problems[(position + DECOY_OFFSET) % len(problems)]
        for source, docstring, label in (
            (Item.Source.REFERENCE, reference[problem.task_id], Label.CORRECT),
            (Item.Source.DECOY, reference[decoy.task_id], Label.INCORRECT),
        ):
            _, created = Item.objects.get_or_create(
                problem=problem,
                source=source,
                is_gold=True,
                defaults={
                    "code": problem.metadata["code"],
                    "docstring": docstring,
                    "gold_label": label,
                    "label": label,
                    "label_status": Item.Status.GOLD,
                },
            )
            made += created
    return made


# The queue ---------------------------------------------------------------------------------------


def _live_claims_of_others(annotator, now: datetime) -> Subquery:
    return Coalesce(
        Subquery(
            Claim.objects.filter(item=OuterRef("pk"), expires_at__gt=now)
            .exclude(annotator=annotator)
            .order_by()
            .values("item")
            .annotate(count=Count("id"))
            .values("count")
        ),
        0,
    )


def _open_to(annotator) -> QuerySet[Item]:
    """Items the annotator has neither graded nor skipped, in their own reproducible shuffle."""
    return (
        Item.objects.filter(
            ~Exists(Grade.objects.filter(item=OuterRef("pk"), annotator=annotator)),
            ~Exists(Skip.objects.filter(item=OuterRef("pk"), annotator=annotator)),
        )
        .annotate(shuffle=MD5(Concat(Value(f"{annotator.pk}:"), Cast("id", CharField()))))
        .order_by()
    )


def _regular_candidates(annotator, now: datetime) -> QuerySet[Item]:
    """Items still short of their target counting live claims: fewest grades first (breadth-first)."""
    return (
        _open_to(annotator)
        .filter(is_gold=False)
        .annotate(held=_live_claims_of_others(annotator, now))
        .annotate(filled=F("grade_count") + F("held"))
        .filter(filled__lt=F("target"))
        .order_by("filled", "shuffle")
    )


def _claim(item: Item, annotator, now: datetime) -> Item:
    Claim.objects.update_or_create(
        item=item, annotator=annotator, defaults={"claimed_at": now, "expires_at": now + CLAIM_TTL}
    )
    return item


def _has_room(item: Item, annotator, now: datetime) -> bool:
    """Read under the item's row lock: grades plus others' live claims below the target."""
    if item.is_gold:
        return True
    held = Claim.objects.filter(item=item, expires_at__gt=now).exclude(annotator=annotator).count()
    return item.grade_count + held < item.target


def next_item(annotator, now: datetime | None = None) -> Item | None:
    """The annotator's current item: the one they hold, or a newly claimed one; None when none is left."""
    now = now or timezone.now()
    with transaction.atomic():
        Claim.objects.filter(annotator=annotator, expires_at__lte=now).delete()
        held = Claim.objects.filter(annotator=annotator).select_related("item").order_by("claimed_at").first()
        if held:
            return held.item
        regular = _regular_candidates(annotator, now)
        if _gold_turn(annotator) and regular.exists():
            gold = _open_to(annotator).filter(is_gold=True).order_by("shuffle").first()
            if gold:
                return _claim(gold, annotator, now)
        tried: list[int] = []
        for _ in range(_CLAIM_ATTEMPTS):
            candidate = (
                regular.exclude(pk__in=tried).select_for_update(skip_locked=True, of=("self",)).first()
            )
            if candidate is None:
                return None
            item = Item.objects.get(pk=candidate.pk)
            if _has_room(item, annotator, now):
                return _claim(item, annotator, now)
            tried.append(item.pk)
    return None


def _gold_turn(annotator) -> bool:
    every = settings.GRADING_GOLD_EVERY
    return every > 0 and Grade.objects.filter(annotator=annotator).count() % every == every - 1


def _clean_reasons(label: str, reasons: Iterable[str]) -> list[str]:
    reasons = list(dict.fromkeys(reasons))
    unknown = [r for r in reasons if r not in Reason.values]
    if unknown:
        raise GradingError(f"unknown reason(s): {', '.join(unknown)}")
    return reasons if label == Label.INCORRECT else []


def grade(
    annotator,
    item_id: int,
    label: str,
    reasons: Iterable[str] = (),
    note: str = "",
    seconds: float | None = None,
    now: datetime | None = None,
) -> Grade:
    """Record the annotator's grade on an item they hold, or revise the grade they gave it before."""
    now = now or timezone.now()
    if label not in Label.values:
        raise GradingError(f"unknown label {label!r}")
    reasons = _clean_reasons(label, reasons)
    with transaction.atomic():
        item = Item.objects.select_for_update().get(pk=item_id)
        result = Grade.objects.filter(item=item, annotator=annotator).first()
        if result:
            result.label, result.reasons, result.note = label, reasons, note
            result.time_spent += _seconds(seconds, None)
            result.revisions += 1
            result.save()
        else:
            claim = Claim.objects.filter(item=item, annotator=annotator).first()
            if claim is None:
                raise GradingError("This item is not assigned to you: take the next one from the queue.")
            claim.delete()
            if _has_room(item, annotator, now):
                result = Grade.objects.create(
                    item=item,
                    annotator=annotator,
                    label=label,
                    reasons=reasons,
                    note=note,
                    time_spent=_seconds(seconds, (now - claim.claimed_at).total_seconds()),
                )
                item.grade_count = F("grade_count") + 1
                item.save(update_fields=["grade_count"])
                item.refresh_from_db(fields=["grade_count"])
        if result:
            _settle(item)
    if result is None:
        raise GradingError("Your claim on this item expired and it went to someone else.")
    return result


def _seconds(given: float | None, fallback: float | None) -> float:
    value = given if given is not None and given >= 0 else fallback
    return min(float(value or 0.0), MAX_SECONDS)


@transaction.atomic
def skip(annotator, item_id: int, reason: str, note: str = "") -> Skip:
    """Pass on an item for good, with a reason; it goes back to the others at once."""
    if reason not in Skip.Reason.values:
        raise GradingError(f"unknown skip reason {reason!r}")
    item = Item.objects.select_for_update().get(pk=item_id)
    if Grade.objects.filter(item=item, annotator=annotator).exists():
        raise GradingError("You have graded this item already: revise your grade instead.")
    Claim.objects.filter(item=item, annotator=annotator).delete()
    skipped, _ = Skip.objects.get_or_create(
        item=item, annotator=annotator, defaults={"reason": reason, "note": note}
    )
    return skipped


# Final labels and published results ---------------------------------------------------------------


def _vote(labels: list[str], target: int) -> tuple[str, str]:
    if len(labels) < target or not labels:
        return "", Item.Status.PENDING
    (top, top_count), *rest = Counter(labels).most_common()
    if not rest:
        return top, Item.Status.UNANIMOUS
    if top_count > rest[0][1]:
        return top, Item.Status.MAJORITY
    return "", Item.Status.UNRESOLVED


def _settle(item: Item) -> None:
    """The item's final label from its grades or adjudication; a docstring run's sample verdict follows it."""
    if item.is_gold:
        return
    adjudication = Adjudication.objects.filter(item=item).first()
    if adjudication:
        label, status = adjudication.label, Item.Status.ADJUDICATED
    else:
        label, status = _vote(list(item.grades.values_list("label", flat=True)), item.target)
    Item.objects.filter(pk=item.pk).update(label=label, label_status=status)
    item.label, item.label_status = label, status
    if item.sample_id:
        verdict = {Label.CORRECT: Sample.Verdict.PASSED, Label.INCORRECT: Sample.Verdict.FAILED}.get(
            label, ""
        )
        Sample.objects.filter(pk=item.sample_id).update(verdict=verdict, status=status)
        run_id = item.run_id
        transaction.on_commit(lambda: update_results(run_id))


@transaction.atomic
def set_item_target(item: Item, target: int) -> Item:
    """Staff change how many grades one item wants; its label follows at once."""
    if not 1 <= target <= 10:
        raise GradingError("An item wants between 1 and 10 grades.")
    locked = Item.objects.select_for_update().get(pk=item.pk)
    Item.objects.filter(pk=locked.pk).update(target=target)
    locked.target = target
    _settle(locked)
    return locked


@transaction.atomic
def adjudicate(reviewer, item_id: int, label: str, note: str = "") -> Adjudication:
    """A reviewer's final word on an item whose graders disagree; it replaces the vote.

    Only a reviewer who did not grade the item decides, and a unanimous item stays as its graders
    left it."""
    if label not in Label.values:
        raise GradingError(f"unknown label {label!r}")
    item = Item.objects.select_for_update().get(pk=item_id)
    if item.is_gold:
        raise GradingError("Gold items have a known label.")
    if item.grade_count < item.target:
        raise GradingError("This item still waits for grades.")
    if item.label_status not in DISPUTED:
        raise GradingError("Its graders agree: only a disputed item is adjudicated.")
    if item.grades.filter(annotator=reviewer).exists():
        raise GradingError("You graded this item: another reviewer decides it.")
    adjudication, _ = Adjudication.objects.update_or_create(
        item=item, defaults={"reviewer": reviewer, "label": label, "note": note}
    )
    _settle(item)
    return adjudication


# Back-translation -------------------------------------------------------------------------------


def back_translation_prompt(item: Item) -> str:
    """The problem's own signature with the graded docstring: what a code model completes."""
    problem = item.problem
    return docstrings.back_translation_prompt(
        problem.metadata["humaneval_prompt"], problem.entry_point, item.docstring
    )


def check_back_translations(
    items: list[Item],
    completions: list[str],
    backend: str,
    *,
    timeout: float | None = None,
    **sandbox: object,
) -> list[BackTranslation]:
    """Run the problem's tests on each completed function in the sandbox and store the verdicts."""
    from evaluation.sandbox import Job, run_jobs

    if len(items) != len(completions):
        raise ValueError("one completion per item")
    jobs = [
        Job(
            program=back_translation_prompt(item) + completion,
            test=item.problem.test,
            entry_point=item.problem.entry_point,
            prompt=item.problem.metadata["humaneval_prompt"],
            timeout=timeout or settings.EXECUTION_TIMEOUT,
        )
        for item, completion in zip(items, completions, strict=True)
    ]
    outcomes = run_jobs(jobs, **sandbox) if jobs else []
    stored = []
    with transaction.atomic():
        for item, completion, outcome in zip(items, completions, outcomes, strict=True):
            if outcome.verdict is None:
                continue
            row, _ = BackTranslation.objects.update_or_create(
                item=item,
                backend=backend,
                defaults={
                    "completion": completion,
                    "passed": outcome.verdict == "passed",
                    "status": outcome.status,
                    "detail": outcome.detail[:2000],
                },
            )
            stored.append(row)
        PublicVersion.bump()  # Table 3 shows how the back-translations agree with the grades
    return stored


def back_translate(items: list[Item], backend: object, name: str, **sandbox: object) -> list[BackTranslation]:
    """Greedy-decode a function from each docstring with a code model, then check it with the tests."""
    from evaluation.generation import SamplingSettings, sample_seed

    settings_ = SamplingSettings(temperature=0.0, max_new_tokens=300)
    completions = backend.sample_many(  # type: ignore[attr-defined]
        [back_translation_prompt(item) for item in items],
        settings_,
        [sample_seed(name, item.problem.task_id, item.id) for item in items],
    )
    return check_back_translations(items, [c.text for c in completions], name, **sandbox)


def on_samples_generated(sender, run: Run, sample_ids: list[int], **kwargs) -> None:
    """Generated docstrings become items to grade as soon as their chunk is stored."""
    if not run.executed:
        items_from_run(run)
