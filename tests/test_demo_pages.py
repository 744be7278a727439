"""Pages over the shipped sets: model facts, error pages like the rest of the site, the board on a phone."""

from __future__ import annotations

import io

import pytest
from conftest import SCREENSHOTS
from django.contrib.auth.models import User
from django.core.management import call_command
from django.template.loader import render_to_string

from leaderboard.runs.models import CodeModel, Run, Sample
from leaderboard.runs.services import update_results

SETS = ("gpt-neo-125m", "humaneval-gpt4turbo-mapcoder", "apps-gpt4turbo-mapcoder")


def load(*keys: str) -> None:
    call_command("load_demo", "--only", *keys, stdout=io.StringIO())


def judge_humaneval(verdict: str = Sample.Verdict.FAILED) -> None:
    """The HumanEval samples judged at once (all 0, as a fresh board may be), their figures stored."""
    Sample.objects.filter(run__benchmark__name="humaneval").update(verdict=verdict, status=verdict)
    for run in Run.objects.filter(benchmark__name="humaneval"):
        update_results(run.id)


@pytest.mark.django_db
def test_a_model_page_gives_the_models_facts_and_each_runs_sampling(client):
    load(*SETS)
    turbo = CodeModel.objects.get(name="GPT-4-Turbo · MapCoder")
    html = client.get(f"/models/{turbo.id}/").content.decode()
    for fact in (
        "GPT-4",
        "closed",
        "2023-11-06",
        "MapCoder",
        "Md-Ashraful-Pramanik/MapCoder",
        "MIT (of the samples)",
    ):
        assert fact in html, fact
    assert "not published" in html  # its parameter count
    assert "T=0.0 · top_p 0.95 · n=1" in html and "train split" in html
    assert html.count('<td><a href="/runs/') == 2 and "gpt-4-1106-preview" in html

    neo = CodeModel.objects.get(name="GPT-Neo 125M")
    html = client.get(f"/models/{neo.id}/").content.decode()
    assert "125M (125000000)" in html and "open" in html and "2021-03-21" in html and "Apache-2.0" in html
    assert "T=0.8 · top_p 1.0 · n=10 · 64 new tokens" in html and "Not the Codex protocol" in html


@pytest.mark.django_db
def test_not_found_and_forbidden_pages_look_like_the_site(client):
    missing = client.get("/models/999999/")
    assert missing.status_code == 404
    html = missing.content.decode()
    assert '<header class="site">' in html and 'class="error-page"' in html and "favicon.svg" in html
    assert "/models/999999/" in html and 'href="/"' in html

    User.objects.create_user("visitor", password="a long enough password")
    client.login(username="visitor", password="a long enough password")
    forbidden = client.post("/submissions/1/approve/")
    assert forbidden.status_code == 403
    html = forbidden.content.decode()
    assert '<header class="site">' in html and 'class="error-page"' in html and "visitor" in html


def test_the_server_error_page_stands_alone():
    """Rendered without a request or the database: no tag of it may need either."""
    html = render_to_string("500.html")
    assert '<header class="site">' in html and 'class="error-page"' in html and "site.css" in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_board_on_a_390_pixel_phone(browser, live_server):
    """Nothing but the table scrolls sideways; every navigation link is on screen; the last figure
    of a row is reached by scrolling the table."""
    load(*SETS)
    judge_humaneval()
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    for url in ("/", "/tables/apps/", f"/models/{CodeModel.objects.get(name='GPT-Neo 125M').id}/"):
        page.goto(live_server.url + url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
    page.goto(live_server.url + "/")
    links = page.locator("header.site a, header.site button")
    assert links.count() >= 8
    for index in range(links.count()):
        box = links.nth(index).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, links.nth(index).inner_text()
    last = page.locator("#board thead tr:last-child th:last-child")
    assert last.bounding_box()["x"] > 390  # off screen until the table scrolls
    scrolled = page.evaluate(
        """() => {
            const table = document.getElementById('board');
            const box = [table, table.closest('.scroll')].find(e => e && e.scrollWidth > e.clientWidth);
            if (!box) return false;
            box.scrollLeft = box.scrollWidth;
            return true;
        }"""
    )
    assert scrolled
    box = last.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "board-390px.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_the_papers_pages_on_the_shipped_data_at_desktop_and_phone_widths(
    browser, live_server, width, height
):
    load(*SETS, "codegen-16b")
    judge_humaneval(Sample.Verdict.PASSED)
    page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=width < 500)
    model = CodeModel.objects.get(name="CodeGen-Mono-16B")
    pages = {
        "board": ("/", "#board tbody tr"),
        "table1": ("/tables/humaneval/", "#table tbody tr"),
        "table2": ("/tables/apps/", "main table"),
        "table3": ("/tables/docstrings/", "main table"),
        "charts": ("/charts/", ".plot .main-svg"),
        "model": (f"/models/{model.id}/", ".plot .main-svg"),
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (url, selector) in pages.items():
        response = page.goto(live_server.url + url)
        assert response.status == 200, url
        page.wait_for_selector(selector, timeout=15_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= max(width, 1280), url
        page.screenshot(path=str(SCREENSHOTS / f"shipped-{name}-{width}px.png"), full_page=True)
    page.goto(live_server.url + "/")
    assert "CodeGen-Mono-16B" in page.locator("#board").inner_text()
