"""Docstring grading: prompts, imports, the queue, final labels and published pass@k."""

import ast
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.utils import timezone

from evaluation.benchmarks import humaneval
from evaluation.benchmarks import humaneval_docstrings as prompts
from evaluation.metrics import mean_pass_at_k
from grading import services
from grading.models import Claim, Grade, Item, Skip
from grading.services import GradingError
from leaderboard.runs.models import Run, Sample
from leaderboard.runs.services import get_or_create_model

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_grade_per_item(settings):
    """These tests settle an item with one grade; the agreement share has a test of its own."""
    settings.GRADING_AGREEMENT_SHARE = 0.0


def csv_text(rows):
    lines = ["task_id,solution_id,full_id,function_signature,code,comment,success"]
    for task, solution, code, comment in rows:
        quoted = [
            f'"{str(v).replace(chr(34), chr(34) * 2)}"'
            for v in (task, solution, f"{task}_{solution}", "", code, comment)
        ]
        lines.append(",".join(quoted) + ",True")
    return ("\n".join(lines) + "\n").encode()


def small_run(problems=3, samples=2, name="Model A"):
    rows = [
        (task, solution, f"def f{task}():\n    return {solution}", f"Returns {solution} for task {task}.")
        for task in range(problems)
        for solution in range(1, samples + 1)
    ]
    return services.import_docstrings(services.parse_docstring_csv(csv_text(rows)), name, temperature=0.8)


def annotator(name):
    user = User.objects.create_user(name, password="pw-" + name)
    user.groups.add(Group.objects.get_or_create(name="annotators")[0])
    return user


def grade_all(user, label="correct"):
    graded = []
    while (item := services.next_item(user)) is not None:
        services.grade(user, item.id, label)
        graded.append(item)
    return graded


# Prompts and code shown ---------------------------------------------------------------------------


def test_code_shown_has_no_docstring_for_every_humaneval_problem():
    for problem in humaneval.load().problems:
        code = prompts.function_code(problem.prompt, problem.canonical_solution, problem.entry_point)
        tree = ast.parse(code)
        function = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == problem.entry_point][
            -1
        ]
        assert ast.get_docstring(function) is None, problem.task_id
        assert problem.canonical_solution.strip().splitlines()[-1].strip() in code
        assert prompts.reference_docstring(problem.prompt, problem.entry_point)


def test_codex_d_prompt_opens_a_docstring_after_the_body_and_completions_close_it():
    problem = humaneval.load().by_task_id()["HumanEval/115"]
    prompt = prompts.codex_d_prompt(problem.prompt, problem.canonical_solution, problem.entry_point)
    assert prompt.endswith('return sum([math.ceil(sum(arr)/capacity) for arr in grid])\n    """')
    assert "rectangular grid of wells" not in prompt
    assert "import math" in prompt
    assert prompts.docstring_from_completion(' Count bucket lowerings.\n    Per well.\n    """\n') == (
        "Count bucket lowerings.\nPer well."
    )


def test_back_translation_prompt_keeps_the_docstring_a_string():
    problem = humaneval.load().by_task_id()["HumanEval/10"]
    prompt = prompts.back_translation_prompt(
        problem.prompt, problem.entry_point, 'Evil """ quote \\ and more'
    )
    assert "def is_palindrome" in prompt and "Find the shortest palindrome" not in prompt
    tree = ast.parse(prompt + "    pass\n")
    function = [n for n in tree.body if isinstance(n, ast.FunctionDef)][-1]
    assert ast.get_docstring(function) == 'Evil """ quote \\ and more'


# Import -------------------------------------------------------------------------------------------


def test_import_makes_a_run_of_the_docstring_benchmark_with_one_item_per_row(settings):
    settings.GRADING_AGREEMENT_SHARE = 0.0
    run = small_run(problems=3, samples=2)
    assert run.benchmark.name == "humaneval-docstrings" and run.n == 2 and run.temperature == 0.8
    assert run.samples.count() == 6 and Item.objects.filter(run=run).count() == 6
    item = Item.objects.get(run=run, problem__task_id="HumanEval/1", index=1)
    assert item.docstring == "Returns 2 for task 1." and item.code == "def f1():\n    return 2\n"
    assert item.sample.completion == item.docstring and item.target == 1 and not item.is_gold


def test_import_command_reads_the_shared_csv(shared_data, tmp_path):
    call_command(
        "import_docstrings", str(shared_data / "docstrings" / "humaneval_with_comments.csv"), model="IRSE"
    )
    run = Run.objects.get(model__name="IRSE")
    assert run.samples.count() == 1640 and run.n == 10
    assert Item.objects.filter(run=run).count() == 1640
    assert set(Item.objects.filter(run=run).values_list("index", flat=True)) == set(range(10))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"task_id,code,comment\n0,x,y\n", "line 1: missing column(s) solution_id"),
        (
            csv_text([(0, 1, "def f(): pass", "ok"), (999, 1, "def g(): pass", "no")]),
            "line 3: unknown task_id",
        ),
        (
            csv_text([(0, 1, "def f(): pass", "ok"), (0, 1, "def g(): pass", "again")]),
            "already given on line 2",
        ),
        (
            csv_text([(0, 1, "def f(): pass", "ok"), (1, "x", "def g(): pass", "no")]),
            "line 3: solution_id 'x'",
        ),
        (
            csv_text([(0, 1, "def f():\n    pass", "ok"), (1, 2, "def g(): pass", " ")]),
            "line 4: empty comment",
        ),
    ],
)
def test_bad_files_change_nothing_and_name_the_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_docstrings", str(path), model="Broken")
    assert not Run.objects.exists() and not Item.objects.exists()


def test_gold_items_come_from_humaneval_or_a_humanevalpack_file(shared_data):
    assert services.create_gold_items() == 328
    assert services.create_gold_items() == 0
    gold = Item.objects.get(problem__task_id="HumanEval/2", source=Item.Source.REFERENCE)
    assert gold.is_gold and gold.gold_label == "correct" and "decimal part" in gold.docstring
    decoy = Item.objects.get(problem__task_id="HumanEval/2", source=Item.Source.DECOY)
    assert decoy.gold_label == "incorrect" and decoy.docstring != gold.docstring
    Item.objects.all().delete()
    call_command("import_docstrings", gold=str(shared_data / "humaneval" / "humanevalpack_python.jsonl"))
    gold = Item.objects.get(problem__task_id="HumanEval/2", source=Item.Source.REFERENCE)
    assert gold.docstring.startswith("Given a positive floating point number")
    assert "decimal part" not in gold.code


def test_agreement_subset_is_reproducible():
    run = small_run(problems=20, samples=5)
    chosen = services.set_targets(run, target=1, agreement_share=0.2, agreement_target=3)
    first = set(Item.objects.filter(run=run, target=3).values_list("id", flat=True))
    assert chosen == len(first) and 8 <= chosen <= 35
    services.set_targets(run, target=1, agreement_share=0.2, agreement_target=3)
    assert set(Item.objects.filter(run=run, target=3).values_list("id", flat=True)) == first


# The queue ----------------------------------------------------------------------------------------


def test_queue_is_breadth_first_shuffled_per_annotator_and_never_repeats():
    run = small_run(problems=5, samples=2)
    Item.objects.filter(run=run).update(target=2)
    ann, bob = annotator("ann"), annotator("bob")
    first_ann = [i.id for i in grade_all(ann)]
    assert len(first_ann) == 10 and len(set(first_ann)) == 10
    assert services.next_item(ann) is None
    first_bob = [i.id for i in grade_all(bob)]
    assert sorted(first_bob) == sorted(first_ann) and first_bob != first_ann
    assert all(i.grade_count == 2 for i in Item.objects.filter(run=run))
    carol = annotator("carol")
    assert services.next_item(carol) is None


def test_breadth_first_serves_ungraded_items_before_second_grades():
    run = small_run(problems=3, samples=2)
    Item.objects.filter(run=run).update(target=3)
    ann, bob = annotator("ann"), annotator("bob")
    for _ in range(3):
        services.grade(ann, services.next_item(ann).id, "correct")
    for _ in range(3):
        item = services.next_item(bob)
        assert item.grade_count == 0
        services.grade(bob, item.id, "correct")


def test_a_claim_is_kept_on_reload_and_hidden_from_others_until_it_expires():
    small_run(problems=1, samples=1)
    ann, bob = annotator("ann"), annotator("bob")
    now = timezone.now()
    item = services.next_item(ann, now)
    assert services.next_item(ann, now) == item
    assert services.next_item(bob, now) is None
    later = now + services.CLAIM_TTL + timedelta(seconds=1)
    assert services.next_item(bob, later) == item
    with pytest.raises(GradingError, match="expired"):
        services.grade(ann, item.id, "correct", now=later)
    services.grade(bob, item.id, "incorrect", ["missing_detail"], now=later)
    assert Grade.objects.get().annotator == bob and not Claim.objects.exists()


def test_a_late_grade_is_kept_when_nobody_took_the_item():
    small_run(problems=1, samples=1)
    ann = annotator("ann")
    now = timezone.now()
    item = services.next_item(ann, now)
    services.grade(ann, item.id, "correct", now=now + timedelta(hours=2))
    assert Grade.objects.get().time_spent == services.MAX_SECONDS


def test_skip_with_a_reason_passes_the_item_to_others():
    small_run(problems=1, samples=1)
    ann, bob = annotator("ann"), annotator("bob")
    item = services.next_item(ann)
    services.skip(ann, item.id, "unsure", "never heard of this")
    assert Skip.objects.get().reason == "unsure"
    assert services.next_item(ann) is None
    assert services.next_item(bob) == item
    with pytest.raises(GradingError, match="unknown skip reason"):
        services.skip(bob, item.id, "bored")


def test_grading_needs_a_claim_and_revising_changes_the_grade():
    run = small_run(problems=1, samples=1)
    ann, bob = annotator("ann"), annotator("bob")
    item = Item.objects.get(run=run)
    with pytest.raises(GradingError, match="not assigned to you"):
        services.grade(ann, item.id, "correct")
    services.grade(ann, services.next_item(ann).id, "incorrect", ["invented", "other"], "made up", seconds=12)
    with pytest.raises(GradingError, match="not assigned"):
        services.grade(bob, item.id, "correct")
    services.grade(ann, item.id, "correct", ["invented"], "", seconds=3)
    grade = Grade.objects.get()
    assert (grade.label, grade.reasons, grade.revisions, grade.time_spent) == ("correct", [], 1, 15)
    with pytest.raises(GradingError, match="unknown reason"):
        services.grade(ann, item.id, "incorrect", ["boring"])


def test_gold_items_are_mixed_in_every_tenth_grade():
    small_run(problems=5, samples=4)
    services.create_gold_items()
    ann = annotator("ann")
    served = grade_all(ann)
    gold_positions = [n for n, item in enumerate(served, 1) if item.is_gold]
    assert gold_positions == [10, 20]
    assert len(served) == 22


# Final labels and results -------------------------------------------------------------------------


def test_final_labels_record_unanimous_majority_unresolved_and_adjudicated():
    run = small_run(problems=1, samples=3)
    items = list(Item.objects.filter(run=run).order_by("index"))
    items[0].target = items[1].target = 3
    items[2].target = 2
    for item in items:
        item.save()
    votes = {
        items[0].id: ["correct"] * 3,
        items[1].id: ["correct", "incorrect", "incorrect"],
        items[2].id: ["correct", "incorrect"],
    }
    users = [annotator(f"u{n}") for n in range(3)]
    for user_number, user in enumerate(users):
        while (item := services.next_item(user)) is not None:
            services.grade(user, item.id, votes[item.id][user_number])
    statuses = {i.id: (i.label, i.label_status) for i in Item.objects.all()}
    assert statuses[items[0].id] == ("correct", "unanimous")
    assert statuses[items[1].id] == ("incorrect", "majority")
    assert statuses[items[2].id] == ("", "unresolved")
    reviewer = User.objects.create_user("rev", is_staff=True)
    services.adjudicate(reviewer, items[2].id, "correct", "matches the body")
    assert Item.objects.get(pk=items[2].id).label_status == "adjudicated"
    verdicts = dict(Sample.objects.values_list("index", "verdict"))
    assert verdicts == {0: "passed", 1: "failed", 2: "passed"}


def test_a_share_of_every_run_wants_a_second_grade(settings):
    settings.GRADING_AGREEMENT_SHARE, settings.GRADING_AGREEMENT_TARGET = 0.2, 2
    run = small_run(problems=20, samples=10)
    targets = list(run.docstring_items.values_list("target", flat=True))
    assert set(targets) == {1, 2} and 0.1 < targets.count(2) / len(targets) < 0.3
    settings.GRADING_AGREEMENT_SHARE = 0.0
    assert set(
        small_run(problems=3, samples=2, name="Model B").docstring_items.values_list("target", flat=True)
    ) == {1}


def test_grades_publish_pass_at_k_as_results_of_the_docstring_run(
    django_capture_on_commit_callbacks, settings
):
    settings.GRADING_AGREEMENT_SHARE = 0.0
    run = small_run(problems=2, samples=10)
    ann = annotator("ann")
    with django_capture_on_commit_callbacks(execute=True):
        while (item := services.next_item(ann)) is not None:
            correct = item.problem.task_id == "HumanEval/0" and item.index < 3
            services.grade(ann, item.id, "correct" if correct else "incorrect")
    run.refresh_from_db()
    figures = {r.metric: r.value for r in run.results.all()}
    assert figures["pass@1"] == pytest.approx(mean_pass_at_k([(10, 3), (10, 0)], 1))
    assert figures["pass@10"] == pytest.approx(0.5)
    assert run.status == Run.Status.FINISHED and run.samples_executed == 20
    item = Item.objects.get(run=run, problem__task_id="HumanEval/1", index=4)
    with django_capture_on_commit_callbacks(execute=True):
        services.grade(ann, item.id, "correct")
    assert run.results.get(metric="pass@10").value == pytest.approx(1.0)


def test_a_codex_d_run_is_made_for_the_generation_workers_and_its_samples_become_items():
    run = services.create_docstring_run(get_or_create_model("Generator"))
    assert (run.prompt_template, run.stop_sequences, run.temperature, run.n) == (
        "codex-d-v1",
        ['"""'],
        0.8,
        10,
    )
    assert run.samples_total == 1640 and run.benchmark == services.docstring_benchmark()
    problem = run.benchmark.problems.get(task_id="HumanEval/2")
    assert problem.prompt.endswith('    return number % 1.0\n    """')
    assert "Given a positive floating point number" in problem.canonical_solution
    Sample.objects.create(run=run, problem=problem, index=0, completion=" Return the decimal part.\n    ")
    assert services.items_from_run(run) == 1 and services.items_from_run(run) == 0
    item = Item.objects.get(run=run)
    assert (item.docstring, item.source, item.code) == (
        "Return the decimal part.",
        "generated",
        problem.metadata["code"],
    )
