"""Quality control: agreement figures, gold accuracy and the order of the adjudication queue."""

import itertools
import random

import pytest
from django.contrib.auth.models import Group, User

from grading import selectors, services
from grading.agreement import agreement
from grading.models import Item


def alpha_by_definition(units: list[list[str]]) -> float:
    """Krippendorff's alpha (nominal) from the coincidence matrix, pair by pair."""
    labels = sorted({v for unit in units for v in unit})
    coincidences = {(c, k): 0.0 for c in labels for k in labels}
    for unit in units:
        if len(unit) < 2:
            continue
        for i, j in itertools.permutations(range(len(unit)), 2):
            coincidences[unit[i], unit[j]] += 1 / (len(unit) - 1)
    totals = {c: sum(coincidences[c, k] for k in labels) for c in labels}
    n = sum(totals.values())
    observed = sum(v for (c, k), v in coincidences.items() if c != k)
    expected = sum(totals[c] * totals[k] for c in labels for k in labels if c != k) / (n - 1)
    return 1 - observed / expected


def as_counts(units):
    return [(unit.count("c"), unit.count("i")) for unit in units]


def test_alpha_matches_its_definition_with_varying_numbers_of_graders():
    rng = random.Random(7)
    for _ in range(20):
        units = [[rng.choice("cci") for _ in range(rng.choice([2, 2, 3]))] for _ in range(rng.randint(5, 40))]
        if len({v for u in units for v in u}) < 2:
            continue
        result = agreement(as_counts(units), resamples=200)
        assert result.alpha == pytest.approx(alpha_by_definition(units))
        pairs = sum(len(u) * (len(u) - 1) / 2 for u in units)
        same = sum(a == b for u in units for a, b in itertools.combinations(u, 2))
        assert result.raw == pytest.approx(same / pairs)
        low, high = result.alpha_interval
        assert low <= high and result.raw_interval[0] <= result.raw <= result.raw_interval[1]


def test_agreement_edge_cases():
    assert agreement([(1, 0), (0, 1)]).items == 0
    perfect = agreement([(2, 0), (0, 2), (3, 0), (0, 3)])
    assert perfect.alpha == 1.0 and perfect.raw == 1.0 and perfect.reading == "reliable"
    one_label = agreement([(2, 0), (3, 0)])
    assert one_label.raw == 1.0 and one_label.alpha is None and one_label.reading == "not enough data"
    assert agreement([(1, 1)] * 5).alpha < 0


def docstring_run(rows):
    lines = ["task_id,solution_id,function_signature,code,comment"]
    lines += [
        f'{task},{solution},"",return {solution},"Docstring {task}-{solution}."' for task, solution in rows
    ]
    return services.import_docstrings(services.parse_docstring_csv(("\n".join(lines) + "\n").encode()), "Q")


def graders(count):
    group, _ = Group.objects.get_or_create(name="annotators")
    users = [User.objects.create_user(f"g{n}") for n in range(count)]
    for user in users:
        user.groups.add(group)
    return users


@pytest.mark.django_db
def test_adjudication_queue_puts_pivotal_items_first_then_ties():
    run = docstring_run([(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)])
    item = {
        (i.problem.task_id[-1], i.index): i for i in Item.objects.filter(run=run).select_related("problem")
    }
    plan = {
        ("0", 0): (3, "cci"),
        ("0", 1): (1, "c"),
        ("1", 0): (3, "cii"),
        ("1", 1): (1, "i"),
        ("2", 0): (2, "ci"),
        ("2", 1): (1, "c"),
    }
    for key, (target, _) in plan.items():
        Item.objects.filter(pk=item[key].pk).update(target=target)
    users = graders(3)
    for number, user in enumerate(users):
        while (claimed := services.next_item(user)) is not None:
            key = next(k for k, i in item.items() if i.pk == claimed.pk)
            labels = plan[key][1]
            services.grade(
                user, claimed.id, "correct" if labels[number % len(labels)] == "c" else "incorrect"
            )
    reviewer = User.objects.create_user("rev", is_staff=True)
    queue = selectors.adjudication_queue(reviewer)
    assert [(d.item.problem.task_id, d.item.index) for d in queue] == [
        ("HumanEval/1", 0),
        ("HumanEval/2", 0),
        ("HumanEval/0", 0),
    ]
    assert [d.pivotal for d in queue] == [True, False, False]
    assert queue[1].item.label_status == "unresolved" and queue[2].item.label_status == "majority"
    services.adjudicate(reviewer, queue[0].item.id, "correct")
    assert [d.item.problem.task_id for d in selectors.adjudication_queue(reviewer)] == [
        "HumanEval/2",
        "HumanEval/0",
    ]
    # A grader of the item is no reviewer of it, and a unanimous item is not reopened.
    assert selectors.adjudication_queue(users[0]) == []
    with pytest.raises(services.GradingError, match="You graded this item"):
        services.adjudicate(users[0], queue[1].item.id, "correct")
    unanimous = Item.objects.get(pk=item["0", 1].pk)
    assert unanimous.label_status == "unanimous"
    with pytest.raises(services.GradingError, match="only a disputed item"):
        services.adjudicate(reviewer, unanimous.id, "incorrect")
    assert selectors.run_agreement(run).items == 3


@pytest.mark.django_db
def test_gold_accuracy_per_annotator():
    run = docstring_run([(task, s) for task in range(3) for s in range(1, 5)])
    Item.objects.filter(run=run).update(target=2)
    services.create_gold_items()
    careful, careless = graders(2)
    for user in (careful, careless):
        while (claimed := services.next_item(user)) is not None:
            if claimed.is_gold and user == careful:
                label = claimed.gold_label
            elif claimed.is_gold:
                label = "incorrect" if claimed.gold_label == "correct" else "correct"
            else:
                label = "correct"
            services.grade(user, claimed.id, label)
    rows = {row.annotator: row for row in selectors.gold_accuracy()}
    assert rows["g0"].graded == rows["g1"].graded >= 1
    assert rows["g0"].accuracy == 1.0 and rows["g1"].accuracy == 0.0
    assert rows["g1"].false_correct + rows["g1"].false_incorrect == rows["g1"].graded
    assert list(rows) == ["g1", "g0"]
