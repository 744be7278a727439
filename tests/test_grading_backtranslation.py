"""Back-translation: functions written from docstrings, judged by the problem's tests in the sandbox."""

import ast

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from evaluation.benchmarks import humaneval
from grading import selectors, services
from grading.models import BackTranslation, Item

pytestmark = pytest.mark.django_db

WRONG_BODY = "    return False\n"


@pytest.fixture
def run(settings):
    settings.GRADING_AGREEMENT_SHARE = 0.0  # one annotator settles every item here
    lines = ["task_id,solution_id,function_signature,code,comment"]
    lines += [
        '0,1,"",x,"Whether any two numbers of the list are closer to each other than the threshold."',
        '0,2,"",x,"Returns True."',
        '2,1,"",x,"The fractional part of a positive float."',
    ]
    data = ("\n".join(lines) + "\n").encode()
    return services.import_docstrings(services.parse_docstring_csv(data), "BT model", temperature=0.8)


def test_prompt_is_the_signature_with_the_graded_docstring(run):
    item = Item.objects.get(run=run, problem__task_id="HumanEval/0", index=1)
    prompt = services.back_translation_prompt(item)
    assert prompt.startswith("from typing import List\n\n\ndef has_close_elements(")
    function = ast.parse(prompt + "    pass\n").body[-1]
    assert ast.get_docstring(function) == "Returns True."


def test_fixed_completions_are_judged_by_the_tests_and_compared_with_people(client, run):
    items = list(
        Item.objects.filter(run=run).select_related("problem").order_by("problem__position", "index")
    )
    reference = humaneval.load().by_task_id()
    completions = [
        reference["HumanEval/0"].canonical_solution,
        WRONG_BODY,
        reference["HumanEval/2"].canonical_solution,
    ]
    stored = services.check_back_translations(items, completions, "fixed", workers=1)
    assert [row.passed for row in stored] == [True, False, True]
    assert stored[1].status == "failed"
    annotator = User.objects.create_user("ann")
    annotator.groups.add(Group.objects.get_or_create(name="annotators")[0])
    while (item := services.next_item(annotator)) is not None:
        services.grade(annotator, item.id, "correct")
    summary = selectors.back_translation_summary(run)
    assert (summary.checked, summary.passed, summary.compared, summary.agreeing) == (3, 2, 3, 2)
    assert summary.pass_rate == pytest.approx(2 / 3)
    page = client.get("/grading/table/").content.decode()
    assert "66.7" in page
    services.check_back_translations(items[:1], [WRONG_BODY], "fixed", workers=1)
    assert BackTranslation.objects.count() == 3 and not BackTranslation.objects.get(item=items[0]).passed


def test_the_command_drives_a_tiny_code_model(run, tmp_path):
    import torch
    from tiny_model import build_tiny_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        folder = build_tiny_model(tmp_path / "tiny", train_steps=40)
        call_command("back_translate", run=run.id, backend=str(folder), limit=2, workers=1)
    finally:
        torch.set_num_threads(threads)
    rows = list(BackTranslation.objects.select_related("item"))
    assert len(rows) == 2 and {row.backend for row in rows} == {str(folder)}
    assert all(not row.passed and row.status in ("failed", "timeout") for row in rows)


def test_the_command_refuses_bad_input_clearly(run, tmp_path):
    with pytest.raises(CommandError, match="no docstring run 999"):
        call_command("back_translate", run=999, backend="x")
    with pytest.raises(CommandError, match="back-translation failed"):
        call_command("back_translate", run=run.id, backend=str(tmp_path / "missing-model"), limit=1)
    assert not BackTranslation.objects.exists()
