"""Twenty annotators grading at once against PostgreSQL: the queue's locking under real contention."""

import random
import threading
import traceback
from collections import Counter, defaultdict

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection, connections
from django.test import override_settings

from evaluation.metrics import mean_pass_at_k
from grading import services
from grading.models import Claim, Grade, Item

ANNOTATORS = 20


def docstring_csv(problems: int, samples: int) -> bytes:
    lines = ["task_id,solution_id,function_signature,code,comment"]
    for task in range(problems):
        for solution in range(1, samples + 1):
            lines.append(f'{task},{solution},"",return {solution},"Returns {solution} (task {task})."')
    return ("\n".join(lines) + "\n").encode()


# About 180 grades among 20 annotators: someone grades at least 9, so with a gold item every 5th
# grade the gold path is always taken (every 10th, the default, it was taken only by chance).
@override_settings(GRADING_GOLD_EVERY=5)
def test_twenty_annotators_grade_concurrently_without_double_claims_or_lost_grades(transactional_db):
    if connection.vendor != "postgresql":
        pytest.fail(
            "this test needs PostgreSQL (DATABASE_URL=postgres://...): it checks row locking "
            f"(SELECT ... FOR UPDATE SKIP LOCKED) under contention, and the database is {connection.vendor}"
        )
    run = services.import_docstrings(services.parse_docstring_csv(docstring_csv(30, 4)), "Contended")
    on_subset = services.set_targets(run, target=1, agreement_share=0.25, agreement_target=3)
    assert 15 <= on_subset <= 45
    services.create_gold_items()
    group, _ = Group.objects.get_or_create(name="annotators")
    users = []
    for number in range(ANNOTATORS):
        user = User.objects.create_user(f"annotator{number}")
        user.groups.add(group)
        users.append(user)

    barrier = threading.Barrier(ANNOTATORS)
    lock = threading.Lock()
    handed: list[tuple[int, int]] = []
    graded: list[tuple[int, int, str]] = []
    skipped: list[tuple[int, int]] = []
    errors: list[str] = []

    def annotate(user: User, seed: int) -> None:
        rng = random.Random(seed)
        try:
            barrier.wait()
            while (item := services.next_item(user)) is not None:
                with lock:
                    handed.append((item.id, user.id))
                if not item.is_gold and rng.random() < 0.05:
                    services.skip(user, item.id, "unsure")
                    with lock:
                        skipped.append((item.id, user.id))
                    continue
                label = rng.choice(["correct", "incorrect"])
                services.grade(user, item.id, label, ["other"] if label == "incorrect" else [], seconds=1.0)
                with lock:
                    graded.append((item.id, user.id, label))
        except Exception:
            with lock:
                errors.append(traceback.format_exc())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=annotate, args=(user, n)) for n, user in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    stored = set(Grade.objects.values_list("item_id", "annotator_id", "label"))
    assert len(graded) == len(set(graded)) == Grade.objects.count()
    assert stored == set(graded), "a grade was lost or written twice"
    assert len(handed) == len(set(handed)), "an annotator was handed the same item twice"
    assert Counter(item for item, _ in handed) == Counter(item for item, _, _ in graded) + Counter(
        item for item, _ in skipped
    ), "an item was handed out beyond its target"
    assert not Claim.objects.exists()

    per_item = Counter(item for item, _, _ in graded)
    for item in Item.objects.filter(is_gold=False):
        assert item.grade_count == per_item[item.id] == item.target, item
        assert item.label_status in ("unanimous", "majority", "unresolved")
    gold_grades = Counter(
        item
        for item, _, _ in graded
        if item in set(Item.objects.filter(is_gold=True).values_list("id", flat=True))
    )
    assert gold_grades and max(gold_grades.values()) <= ANNOTATORS

    run.refresh_from_db()
    counts = defaultdict(lambda: [0, 0])
    for item in Item.objects.filter(run=run).exclude(label=""):
        counts[item.problem_id][0] += 1
        counts[item.problem_id][1] += item.label == "correct"
    assert run.samples_executed == sum(n for n, _ in counts.values())
    assert run.results.get(metric="pass@1").value == pytest.approx(
        mean_pass_at_k([tuple(c) for c in counts.values()], 1)
    )
