"""An annotator in Debian's chromium: signs in, grades with the keyboard only, revises, moves Table 3."""

import csv
import io
import re

import pytest
from conftest import SCREENSHOTS
from django.contrib.auth.models import Group, User

from grading import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = 'P0 S1: returns True <img src=x onerror="window.pwned=1"></pre><script>window.pwned=2</script>'
DOCSTRINGS = {
    (0, 1): HOSTILE,
    (0, 2): "P0 S2: returns False whatever the input.",
    (1, 1): "P1 S1: joins the strings with commas.",
    (1, 2): "P1 S2: separates groups of balanced parentheses.",
}
CORRECT_AT_FIRST = {"P0 S1"}


@pytest.fixture
def docstring_run(settings):
    settings.GRADING_AGREEMENT_SHARE = 0.0  # one annotator settles every item here
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["task_id", "solution_id", "function_signature", "code", "comment"])
    for (task, solution), docstring in DOCSTRINGS.items():
        writer.writerow([task, solution, "", f"def f():\n    return {task * 10 + solution}", docstring])
    rows = services.parse_docstring_csv(out.getvalue().encode())
    return services.import_docstrings(rows, "Browser model", temperature=0.8)


def table_figure(page, live_server, run) -> str:
    page.goto(f"{live_server.url}/grading/table/")
    return page.locator(f'tr[data-run="{run.id}"] td[data-metric="pass@1"]').inner_text().split()[0]


def test_annotator_grades_with_the_keyboard_revises_and_the_table_follows(
    browser, live_server, docstring_run
):
    user = User.objects.create_user("ann", password="a long password 1")
    user.groups.add(Group.objects.get_or_create(name="annotators")[0])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/grading/")
    assert "/accounts/login/" in page.url
    page.focus("input[name=username]")
    page.keyboard.type("ann")
    page.keyboard.press("Tab")
    page.keyboard.type("a long password 1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/grading/")

    seen = []
    for number in range(len(DOCSTRINGS)):
        docstring = page.locator("#docstring").inner_text()
        seen.append(docstring[:5])
        assert page.locator("strong.mine").inner_text() == str(number)
        if docstring.startswith("P0 S1"):
            assert docstring == HOSTILE
            assert page.evaluate("window.pwned") is None
            assert page.locator("#docstring img, #docstring script").count() == 0
            page.screenshot(path=str(SCREENSHOTS / "grading-screen.png"), full_page=True)
        with page.expect_navigation():
            if docstring[:5] in CORRECT_AT_FIRST:
                page.keyboard.press("c")
            else:
                page.keyboard.press("2")
                page.keyboard.press("4")
                page.keyboard.press("i")
    assert sorted(seen) == sorted(d[:5] for d in DOCSTRINGS.values())
    assert "Nothing left to grade" in page.content()
    assert page.locator("strong.mine").inner_text() == "4"

    before = table_figure(page, live_server, docstring_run)
    assert before == "25.0"

    page.goto(f"{live_server.url}/grading/")
    for _ in range(len(DOCSTRINGS)):
        with page.expect_navigation():
            page.keyboard.press("b")
        if page.locator("#docstring").inner_text().startswith("P1"):
            break
    assert "Revise your grade" in page.content()
    assert page.locator('input[value="wrong_behaviour"]').is_checked()
    assert page.locator('input[value="invented"]').is_checked()
    with page.expect_navigation():
        page.keyboard.press("c")
    page.screenshot(path=str(SCREENSHOTS / "grading-revised.png"), full_page=True)

    after = table_figure(page, live_server, docstring_run)
    page.screenshot(path=str(SCREENSHOTS / "docstring-table.png"), full_page=True)
    assert after == "50.0"
    assert re.search(r"4 of 4 graded", page.locator(f'tr[data-run="{docstring_run.id}"]').inner_text())
    assert user.docstring_grades.filter(revisions=1).count() == 1
