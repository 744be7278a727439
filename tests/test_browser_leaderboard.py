"""A visitor and a model author in Debian's chromium: browse, sort, filter, open a sample; submit,
watch the state change without a reload, cancel; staff reject from their own browser."""

from __future__ import annotations

import re

import pytest
from conftest import SCREENSHOTS
from django.contrib.auth.models import User
from django.test import override_settings
from test_leaderboard_pages import sampled_run

from evaluation.benchmarks import humaneval
from leaderboard.models import Submission
from leaderboard.runs.models import Benchmark, CodeModel, Run
from leaderboard.runs.services import create_generation_run, get_or_create_model, load_benchmark

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
WAIT = 15_000


@pytest.fixture
def board():
    benchmark = load_benchmark(humaneval.load())[0]
    sampled_run(benchmark, "Strong", n=4, passes=lambda p, i: i < 3, family="Alpha", parameters=6 * 10**9)
    sampled_run(benchmark, "Strong", n=4, passes=lambda p, i: i < 2 or p % 3 == 0, temperature=0.2)
    sampled_run(
        benchmark,
        "Weak",
        n=4,
        passes=lambda p, i: p % 4 == 0 and i == 0,
        completion=f"    return '{HOSTILE}'\n",
        family="Beta",
        parameters=10**8,
    )
    sampled_run(benchmark, "Middle", n=4, passes=lambda p, i: i == 0, family="Alpha", parameters=10**9)
    return benchmark


def names(page) -> list[str]:
    return page.locator("#board tbody td.model > a").all_inner_texts()


def test_the_comparison_page_says_whether_a_gap_is_real(browser, live_server, board):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(live_server.url + "/compare/")
    page.select_option("select[name=a]", label="Strong")
    page.select_option("select[name=b]", label="Weak")
    page.click("#compare-form button[type=submit]")
    page.wait_for_selector("#differences")
    cells = page.locator("#differences tbody tr").first.locator("td.num").all_inner_texts()
    difference, low, high = (float(x) for x in re.findall(r"-?\d+\.\d", cells[0]))
    assert low <= difference <= high and difference > 0
    p_values = [float(x) for x in page.locator("#differences td.p-value").all_inner_texts()]
    assert p_values and all(0 < p <= 0.001 for p in p_values[:1])
    page.screenshot(path=SCREENSHOTS / "compare.png", full_page=True)


def test_browse_sort_filter_and_open_a_sample(browser, live_server, board):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(live_server.url + "/")
    assert names(page) == ["Strong", "Middle", "Weak"]
    title = page.locator("#board tbody tr").first.locator("td.fig").first.get_attribute("title")
    assert title.startswith("95% CI ") and "T=0.8" in title
    page.screenshot(path=SCREENSHOTS / "board.png", full_page=True)

    page.click('a[data-sort="model"]')
    page.wait_for_url("**sort=model**")
    assert names(page) == ["Middle", "Strong", "Weak"]
    page.click('a[data-sort="parameters"]')
    page.wait_for_url("**sort=parameters**")
    assert names(page) == ["Strong", "Middle", "Weak"]

    page.select_option("select[name=family]", "Alpha")
    page.fill("input[name=q]", "mid")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**family=Alpha**")
    assert names(page) == ["Middle"]
    page.click("text=Clear")
    assert names(page) == ["Strong", "Middle", "Weak"]

    page.click("#board >> text=Strong")
    page.wait_for_selector("#pass-figure-plot .main-svg", timeout=WAIT)
    assert page.locator("#pass-figure-plot .legendtext").all_text_contents() == ["T=0.2", "T=0.8"]
    page.wait_for_selector("#ranking-figure-plot .main-svg", timeout=WAIT)
    page.screenshot(path=SCREENSHOTS / "model.png", full_page=True)

    page.goto(live_server.url + "/?q=weak")
    page.click("#board >> text=Weak")
    page.click("#runs tbody a >> nth=0")
    page.click(".grid .cell >> nth=0")
    page.wait_for_url("**problem=HumanEval/0**")
    sample = page.locator("details.sample").first
    assert not sample.evaluate("node => node.open")
    sample.locator("summary").click()
    assert sample.evaluate("node => node.open")
    assert HOSTILE in sample.locator(".code").inner_text()
    assert page.evaluate("window.pwned") is None
    page.wait_for_selector("#bleu-figure-plot .main-svg", timeout=WAIT)
    page.screenshot(path=SCREENSHOTS / "run-sample.png", full_page=True)


def sign_up(page, base: str, username: str) -> None:
    page.goto(base + "/accounts/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", "a long enough password")
    page.fill("input[name=password2]", "a long enough password")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/submit/")


def fill_submission(page, name: str, temperatures: str) -> None:
    page.fill("input[name=display_name]", name)
    page.fill("input[name=location]", "bigcode/santacoder")
    page.fill("input[name=parameters]", "1.1B")
    page.check("input[name=benchmarks][value=humaneval]")
    page.fill("input[name=temperatures]", temperatures)
    page.fill("input[name=n]", "10")
    page.click("#submit-form button[type=submit]")


def state(page, submission: Submission):
    return page.locator(f'#submission-{submission.id} [data-field="state"]')


def approve_without_workers(submission: Submission) -> list[Run]:
    """What approval writes, minus the Celery tasks it queues (no workers here): model and unstarted runs."""
    model = get_or_create_model(
        submission.display_name, source=CodeModel.Source.HUB, hub_id=submission.hub_id
    )
    benchmark = Benchmark.objects.get(name="humaneval")
    runs = [
        create_generation_run(model, benchmark, temperature=t, n=submission.n)
        for t in submission.temperatures
    ]
    submission.runs.set(runs)
    Submission.objects.filter(id=submission.id).update(status=Submission.Status.APPROVED, model=model)
    return runs


@override_settings(SUBMISSIONS_NEED_APPROVAL=True)
def test_submit_watch_the_state_change_cancel_and_reject(browser, live_server, board):
    author = browser.new_page(viewport={"width": 1400, "height": 900})
    base = live_server.url
    author.goto(base + "/submit/")
    assert "/accounts/login/" in author.url
    sign_up(author, base, "author")

    fill_submission(author, HOSTILE, "5")
    assert "Temperature 5 is out of range" in author.locator("#field-temperatures .errorlist").inner_text()
    author.screenshot(path=SCREENSHOTS / "submit-errors.png", full_page=True)
    assert not Submission.objects.exists()
    author.fill("input[name=temperatures]", "0.2, 0.8")
    author.click("#submit-form button[type=submit]")
    author.wait_for_url("**/queue/**")
    first = Submission.objects.get()
    assert state(author, first).inner_text() == "pending"
    assert author.locator(f"#submission-{first.id} td").nth(1).inner_text().startswith(HOSTILE)
    assert author.evaluate("window.pwned") is None
    assert author.locator(".approve").count() == 0

    author.evaluate("window.marker = 'not reloaded'")
    low, high = approve_without_workers(first)
    author.wait_for_function(
        f"() => document.querySelector('#submission-{first.id} [data-field=state]').textContent"
        " === 'approved'",
        timeout=WAIT,
    )
    Run.objects.filter(id__in=[low.id, high.id]).update(status=Run.Status.GENERATING)
    author.wait_for_function(
        f"() => document.querySelector('#submission-{first.id} [data-field=state]').textContent"
        " === 'generating'",
        timeout=WAIT,
    )
    Run.objects.filter(id__in=[low.id, high.id]).update(status=Run.Status.EXECUTING, samples_executed=820)
    author.wait_for_function(
        f"() => document.querySelector('#submission-{first.id} [data-field=progress]').value === 1640",
        timeout=WAIT,
    )
    assert state(author, first).inner_text() == "executing"
    author.screenshot(path=SCREENSHOTS / "queue-executing.png", full_page=True)
    Run.objects.filter(id=low.id).update(status=Run.Status.FINISHED)
    Run.objects.filter(id=high.id).update(status=Run.Status.FAILED, reason="CUDA out of memory")
    author.wait_for_function(
        f"() => document.querySelector('#submission-{first.id} [data-field=state]').textContent === 'failed'",
        timeout=WAIT,
    )
    assert (
        "CUDA out of memory" in author.locator(f'#submission-{first.id} [data-field="reason"]').inner_text()
    )
    assert author.evaluate("window.marker") == "not reloaded"

    for name, temperature in (("To cancel", "0.4"), ("To reject", "0.6")):
        author.goto(base + "/submit/")
        fill_submission(author, name, temperature)
        author.wait_for_url("**/queue/**")
    to_cancel = Submission.objects.get(display_name="To cancel")
    to_reject = Submission.objects.get(display_name="To reject")
    with author.expect_navigation():
        author.click(f"#submission-{to_cancel.id} button.cancel")
    assert state(author, to_cancel).inner_text() == "cancelled"
    assert author.locator(f"#submission-{to_cancel.id} button.cancel").count() == 0

    User.objects.create_user("staff", password="a long enough password", is_staff=True)
    staff = browser.new_context().new_page()
    staff.goto(base + "/accounts/login/?next=/queue/")
    staff.fill("input[name=username]", "staff")
    staff.fill("input[name=password]", "a long enough password")
    staff.click("#login-form button[type=submit]")
    staff.wait_for_url("**/queue/")
    assert staff.locator(f"#submission-{to_reject.id} .approve").count() == 1
    staff.fill(f"#submission-{to_reject.id} input[name=reason]", "No licence file")
    with staff.expect_navigation():
        staff.click(f"#submission-{to_reject.id} form.reject button")
    author.wait_for_function(
        f"() => document.querySelector('#submission-{to_reject.id} [data-field=state]').textContent"
        " === 'rejected'",
        timeout=WAIT,
    )
    assert "No licence file" in author.locator(f"#submission-{to_reject.id}").inner_text()
    assert author.locator(f"#submission-{to_reject.id} button.cancel").count() == 0
    author.screenshot(path=SCREENSHOTS / "queue.png", full_page=True)
