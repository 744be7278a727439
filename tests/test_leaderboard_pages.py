"""The board per model, the paper's tables, model, run, problem and comparison pages, and exports."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evaluation.samples import SampleRecord
from leaderboard import views
from leaderboard.runs.models import Benchmark, CodeModel, Problem, Result, Run, Sample
from leaderboard.runs.services import (
    create_generation_run,
    create_run_from_records,
    get_or_create_model,
    update_results,
)

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"


def model(name: str, **fields) -> CodeModel:
    return get_or_create_model(name, **fields)


def stored_run(code_model, benchmark, temperature, figures, *, subset="all", variant="raw", n=100) -> Run:
    """A finished run holding only stored figures: {metric: value}, each with a ±0.05 interval."""
    run = Run.objects.create(
        model=code_model,
        benchmark=benchmark,
        temperature=temperature,
        n=n,
        status=Run.Status.FINISHED,
        finished_at=timezone.now(),
    )
    for metric, value in figures.items():
        Result.objects.create(
            run=run,
            metric=metric,
            subset=subset,
            variant=variant,
            value=value,
            ci_low=value - 0.05,
            ci_high=value + 0.05,
        )
    return run


def sampled_run(
    benchmark, name, *, n, passes, temperature=0.8, completion="    return 1\n", logprobs=True, **fields
):
    """A run with n samples of every problem; `passes(position, index)` says which pass; results computed."""
    problems = list(benchmark.problems.order_by("position"))
    records = [
        SampleRecord(
            p.task_id,
            i,
            completion,
            mean_logprob=-(i % 7) / 10 if logprobs else None,
            sum_logprob=-(i % 5) if logprobs else None,
        )
        for p in problems
        for i in range(n)
    ]
    run = create_run_from_records(model(name, **fields), benchmark, records, temperature=temperature)
    positions = {p.id: p.position for p in problems}
    passed = [
        s.id
        for s in run.samples.only("id", "problem_id", "index")
        if passes(positions[s.problem_id], s.index)
    ]
    run.samples.filter(id__in=passed).update(verdict=Sample.Verdict.PASSED, status="passed")
    run.samples.filter(verdict="").update(
        verdict=Sample.Verdict.FAILED, status="failed", detail="AssertionError"
    )
    update_results(run.id)
    run.refresh_from_db()
    return run


def apps_benchmark() -> Benchmark:
    apps = Benchmark.objects.create(name="apps", content_hash="a" * 64)
    Problem.objects.create(benchmark=apps, position=0, task_id="apps/0", prompt="Read n.", test="{}")
    return apps


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def board_order(html: str, names: list[str]) -> list[str]:
    return sorted(names, key=html.index)


def test_board_has_one_row_per_model_each_figure_at_its_best_temperature(client, benchmark):
    alpha = model("Alpha", family="A", parameters=2_000_000_000)
    stored_run(alpha, benchmark, 0.2, {"pass@1": 0.30, "pass@10": 0.50})
    stored_run(alpha, benchmark, 0.8, {"pass@1": 0.20, "pass@10": 0.60, "pass@100": 0.75})
    html = page(client, "/")
    assert html.count('data-model="') == 1
    row = html[html.index('data-model="') :]
    assert "30.0" in row and "T=0.2" in row
    assert "60.0" in row and "75.0" in row and "T=0.8" in row
    assert "95% CI 25.0–35.0, T=0.2" in row
    assert "2B" in row and "open" in row


def test_board_sorts_by_figures_size_and_name_with_blanks_last(client, benchmark):
    stored_run(model("Big", parameters=10**10), benchmark, 0.8, {"pass@1": 0.2, "pass@10": 0.9})
    stored_run(model("Small", parameters=10**8), benchmark, 0.8, {"pass@1": 0.4, "pass@10": 0.5})
    stored_run(model("Unknown"), benchmark, 0.8, {"pass@10": 0.1})
    names = ["Big", "Small", "Unknown"]
    assert board_order(page(client, "/"), names) == ["Small", "Big", "Unknown"]
    assert board_order(page(client, "/?sort=pass@1&order=asc"), names) == ["Big", "Small", "Unknown"]
    assert board_order(page(client, "/?sort=pass@10"), names) == ["Big", "Small", "Unknown"]
    assert board_order(page(client, "/?sort=parameters"), names) == ["Big", "Small", "Unknown"]
    assert board_order(page(client, "/?sort=model"), names) == ["Big", "Small", "Unknown"]
    assert board_order(page(client, "/?sort=model&order=desc"), names) == ["Unknown", "Small", "Big"]
    assert board_order(page(client, "/?sort=nonsense&order=sideways"), names) == ["Small", "Big", "Unknown"]


def test_board_filters_by_family_size_benchmark_and_search(client, benchmark):
    stored_run(model("CodeGen-2B", family="CodeGen", parameters=2 * 10**9), benchmark, 0.8, {"pass@1": 0.1})
    stored_run(model("CodeGen-16B", family="CodeGen", parameters=16 * 10**9), benchmark, 0.8, {"pass@1": 0.3})
    stored_run(model("Tiny", family="Other", parameters=10**6), apps_benchmark(), 0.8, {"pass@1": 0.01})
    names = ["CodeGen-2B", "CodeGen-16B", "Tiny"]

    def shown(query):
        html = page(client, "/?" + query)
        return {name for name in names if f">{name}</a>" in html}

    assert shown("") == set(names)
    assert shown("family=CodeGen") == {"CodeGen-2B", "CodeGen-16B"}
    assert shown("min_size=1&max_size=5") == {"CodeGen-2B"}
    assert shown("q=16b") == {"CodeGen-16B"}
    assert shown("benchmark=apps") == {"Tiny"}
    assert shown("benchmark=humaneval&max_size=3") == {"CodeGen-2B"}


def test_board_reports_bad_filters_and_ignores_them(client, benchmark):
    stored_run(model("Kept", parameters=10**9), benchmark, 0.8, {"pass@1": 0.1})
    html = page(client, "/?min_size=5&max_size=1&family=<b>nope</b>")
    assert 'id="filter-errors"' in html and "The upper size is below the lower one." in html
    assert "<b>nope</b>" not in html
    assert ">Kept</a>" in page(client, "/?min_size=abc")


def test_board_pages(client, benchmark, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i, name in enumerate(["M1", "M2", "M3"]):
        stored_run(model(name), benchmark, 0.8, {"pass@1": 0.9 - i / 10})
    first, second = page(client, "/?family="), page(client, "/?family=&page=2")
    assert ">M1</a>" in first and ">M3</a>" not in first and "page 1 of 2 (3 models)" in first
    assert ">M3</a>" in second and ">M1</a>" not in second
    assert ">M3</a>" in page(client, "/?page=999")


def test_apps_and_docstring_columns_appear_once_loaded(client, benchmark):
    stored_run(model("Alpha"), benchmark, 0.8, {"pass@1": 0.3})
    html = page(client, "/")
    assert "APPS introductory" not in html and 'class="group">Docstrings<' not in html
    apps = apps_benchmark()
    stored_run(CodeModel.objects.get(name="Alpha"), apps, 0.8, {"pass@1": 0.04}, subset="introductory")
    run = stored_run(
        CodeModel.objects.get(name="Alpha"),
        apps,
        0.8,
        {"pass@1": 0.22},
        subset="introductory",
        variant="filtered",
    )
    html = page(client, "/?sort=apps:introductory:filtered")
    assert "APPS introductory pass@1" in html and "APPS competition pass@1" in html
    assert "4.0" in html and "22.0" in html and f'href="/runs/{run.id}/"' in html


def test_board_exports_csv_and_json_with_filters(client, benchmark):
    stored_run(model("=HYPERLINK(1)", family="X"), benchmark, 0.8, {"pass@1": 0.25})
    stored_run(model("Other", family="Y"), benchmark, 0.2, {"pass@1": 0.5})
    data = client.get("/?family=X&format=json").json()
    assert [row["model"] for row in data["rows"]] == ["=HYPERLINK(1)"]
    row = data["rows"][0]
    assert (
        row["pass@1"] == 0.25
        and row["pass@1 ci_low"] == pytest.approx(0.2)
        and row["pass@1 temperature"] == 0.8
    )
    assert row["pass@100"] is None and "pass@1 ci_high" in data["columns"]
    response = client.get("/?format=csv")
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["model"] for r in rows] == ["Other", "'=HYPERLINK(1)"]
    assert rows[0]["pass@1"] == "0.5" and rows[0]["pass@1 temperature"] == "0.2"


def test_paper_tables_and_their_exports(client, benchmark):
    alpha = model("Alpha", parameters=12 * 10**9)
    stored_run(alpha, benchmark, 0.2, {"pass@1": 0.28, "pass@10": 0.46})
    stored_run(alpha, benchmark, 0.8, {"pass@100": 0.72})
    apps = apps_benchmark()
    raw = stored_run(alpha, apps, 0.8, {"pass@1": 0.04, "pass@5": 0.09}, subset="introductory")
    Result.objects.create(run=raw, metric="pass@1", subset="introductory", variant="raw+timeouts", value=0.03)
    stored_run(alpha, apps, 0.8, {"pass@1": 0.22}, subset="introductory", variant="filtered")
    docstrings = Benchmark.objects.create(name="humaneval-docstrings", content_hash="d" * 64)
    stored_run(alpha, docstrings, 0.8, {"pass@1": 0.20, "pass@10": 0.46})
    stored_run(model("No docstrings"), benchmark, 0.8, {"pass@1": 0.1})

    table1 = page(client, "/tables/humaneval/")
    assert "28.0" in table1 and "46.0" in table1 and "72.0" in table1 and "No docstrings" in table1
    table2 = page(client, "/tables/apps/")
    assert "4.0" in table2 and "(3.0)" in table2 and "22.0" in table2 and "pass@5" in table2
    rows = client.get("/tables/apps/?format=json").json()["rows"]
    assert [(r["variant"], r["metric"]) for r in rows] == [
        ("raw", "pass@1"),
        ("raw", "pass@5"),
        ("filtered", "pass@1"),
    ]
    assert rows[0]["introductory"] == 0.04 and rows[0]["introductory with timeouts"] == 0.03
    assert rows[0]["interview"] is None
    table3 = page(client, "/tables/docstrings/")
    assert "No docstrings" not in table3 and "20.0" in table3 and "28.0" in table3
    rows = list(csv.DictReader(io.StringIO(client.get("/tables/docstrings/?format=csv").content.decode())))
    assert rows[0]["docstrings:pass@1"] == "0.2" and rows[0]["pass@1"] == "0.28"


def test_table_2_keeps_each_version_of_apps_apart_and_names_its_split(client):
    """Two APPS versions (their problems and tests differ): a model's better figure on one must not
    stand in for the other, and each row says which problems and which split it is over."""
    alpha = model("Alpha")
    test_split = apps_benchmark()
    train = Benchmark.objects.create(
        name="apps", content_hash="b" * 64, split="train", source="150 train rows"
    )
    stored_run(alpha, test_split, 0.8, {"pass@1": 0.04}, subset="introductory")
    stored_run(alpha, train, 0.8, {"pass@1": 0.31}, subset="introductory")

    rows = client.get("/tables/apps/?format=json").json()["rows"]
    assert sorted((r["problems"], r["introductory"]) for r in rows) == [
        ("a" * 12, 0.04),
        ("b" * 12 + " · train split", 0.31),
    ]
    html = page(client, "/tables/apps/")
    assert "4.0" in html and "31.0" in html and "train split" in html and 'title="150 train rows"' in html
    run = Run.objects.get(benchmark=train)
    assert "train split" in page(client, f"/runs/{run.id}/") and "train split" in page(
        client, f"/models/{alpha.id}/"
    )


def test_the_board_marks_a_figure_on_a_train_split(client):
    """The board keeps one cell per model and column: a figure from a train-split version says so
    there, in the exports too, and one from the test split carries no mark."""
    train = Benchmark.objects.create(name="apps", content_hash="b" * 64, split="train")
    stored_run(model("On train"), train, 0.8, {"pass@1": 0.31}, subset="introductory")
    stored_run(model("On test"), apps_benchmark(), 0.8, {"pass@1": 0.04}, subset="introductory")

    rows = {r["model"]: r for r in client.get("/?format=json").json()["rows"]}
    assert rows["On train"]["apps:introductory:raw split"] == "train"
    assert rows["On test"]["apps:introductory:raw split"] == ""
    cells = re.findall(r'<td class="num fig[^"]*"[^>]*>(.*?)</td>', page(client, "/"))
    marked = [c for c in cells if "train split" in c]
    assert len(marked) == 1 and "31.0" in marked[0]


def test_hostile_names_are_escaped_everywhere(client, benchmark):
    run = sampled_run(
        benchmark,
        HOSTILE,
        n=2,
        passes=lambda p, i: i == 0,
        completion=f"x = '{HOSTILE}'\n",
        parameters=10**9,
        family=HOSTILE,
    )
    code_model = run.model
    problem = benchmark.problems.get(position=0)
    for url in (
        "/",
        "/tables/humaneval/",
        "/charts/",
        f"/models/{code_model.id}/",
        f"/runs/{run.id}/?problem=HumanEval/0",
        f"/problems/{problem.id}/",
        f"/compare/?a={code_model.id}&b={code_model.id}&benchmark=humaneval",
    ):
        html = page(client, url)
        assert HOSTILE not in html, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page(client, "/")


def test_model_page_lists_runs_and_draws_figures_5_and_7(client, benchmark):
    low = sampled_run(benchmark, "Curves", n=10, passes=lambda p, i: i < 2, temperature=0.2)
    sampled_run(benchmark, "Curves", n=10, passes=lambda p, i: (p + i) % 4 == 0, temperature=0.8)
    html = page(client, f"/models/{low.model.id}/")
    assert html.count('<td><a href="/runs/') == 2
    figure = json.loads(
        html.split('<script id="pass-figure" type="application/json">')[1].split("</script>")[0]
    )
    assert [trace["name"] for trace in figure["data"]] == ["T=0.2", "T=0.8"]
    assert figure["data"][0]["x"][0] == 1 and figure["data"][0]["y"][0] == pytest.approx(20.0)
    assert figure["layout"]["xaxis"]["type"] == "log"
    assert 'id="temperature-figure"' in html and 'id="ranking-figure"' in html
    assert "vendor/plotly.min.js" in html and "cdn" not in html.lower()
    runs = client.get(f"/models/{low.model.id}/?format=json").json()["rows"]
    assert [r["temperature"] for r in runs] == [0.2, 0.8] and runs[0]["pass@1"] == pytest.approx(0.2)


def test_figure_7_is_read_from_the_stored_ranking_curves(client, benchmark):
    run = sampled_run(benchmark, "Ranked", n=2, passes=lambda p, i: i == 0, logprobs=False)
    html = page(client, f"/models/{run.model.id}/")
    assert 'id="ranking-figure"' not in html and "carry their log-probabilities" in html
    for k, value in ((1, 0.3), (2, 0.4)):
        Result.objects.create(run=run, metric=f"k={k}", variant="ranking:mean_logprob", value=value)
    html = page(client, f"/models/{run.model.id}/")
    figure = json.loads(
        html.split('<script id="ranking-figure" type="application/json">')[1].split("</script>")[0]
    )
    assert figure["data"][0]["name"] == "Highest mean log p" and figure["data"][0]["y"] == [30.0, 40.0]


def test_run_page_shows_settings_figures_and_bleu_of_a_problem(client, benchmark):
    run = sampled_run(benchmark, "Runner", n=4, passes=lambda p, i: i < 2)
    html = page(client, f"/runs/{run.id}/?problem=HumanEval/0")
    assert 'id="pass-figure"' in html and 'id="ranking-figure"' in html and 'id="bleu-figure"' in html
    assert html.count('<details class="sample ') == 4 and "mean log p" in html and "sum log p" in html
    assert f'href="/problems/{benchmark.problems.get(position=0).id}/"' in html
    rows = client.get(f"/runs/{run.id}/?format=json").json()["rows"]
    assert len(rows) == 164 and rows[0] == {
        "problem_id": rows[0]["problem_id"],
        "task_id": "HumanEval/0",
        "samples": 4,
        "executed": 4,
        "passed": 2,
    }


def test_problem_page_shows_every_model_on_it(client, benchmark):
    sampled_run(benchmark, "Good", n=4, passes=lambda p, i: p == 0)
    sampled_run(benchmark, "Bad", n=4, passes=lambda p, i: False)
    problem = benchmark.problems.get(position=0)
    html = page(client, f"/problems/{problem.id}/")
    assert board_order(html, ["Good", "Bad"]) == ["Good", "Bad"]
    assert "has_close_elements" in html and "100.0" in html and "0 / 4" in html
    rows = client.get(f"/problems/{problem.id}/?format=json").json()["rows"]
    assert [(r["model"], r["passed"], r["pass_rate"]) for r in rows] == [("Good", 4, 1.0), ("Bad", 0, 0.0)]


def test_compare_two_models_problem_by_problem(client, benchmark):
    a = sampled_run(benchmark, "A", n=2, passes=lambda p, i: p < 10)
    b = sampled_run(benchmark, "B", n=2, passes=lambda p, i: 5 <= p < 20 and i == 0)
    url = f"/compare/?a={a.model.id}&b={b.model.id}&benchmark=humaneval"
    html = page(client, url)
    assert "both 5, only A 5, only B 10, neither 144" in html
    assert 'id="differences"' in html
    record = client.get(f"/api/compare/?a={a.model.id}&b={b.model.id}&benchmark=humaneval").json()
    (pass_1,) = [d for d in record["differences"] if d["k"] == 1]
    a_rates = [1.0 if p < 10 else 0.0 for p in range(164)]
    b_rates = [0.5 if 5 <= p < 20 else 0.0 for p in range(164)]
    assert pass_1["difference"] == pytest.approx((sum(a_rates) - sum(b_rates)) / 164)
    assert pass_1["ci_low"] < pass_1["difference"] < pass_1["ci_high"] and 0 < pass_1["p_value"] <= 1
    assert record["run_a"] == a.id and len(record["problems"]) == 164
    assert client.get("/api/compare/?a=x").status_code == 400
    rows = client.get(url + "&format=json").json()["rows"]
    assert rows[5] == {
        "task_id": "HumanEval/5",
        "a_executed": 2,
        "a_passed": 2,
        "a_rate": 1.0,
        "b_executed": 2,
        "b_passed": 1,
        "b_rate": 0.5,
    }
    html = page(client, f"/compare/?a={a.model.id}&benchmark=humaneval")
    assert f'<option value="{a.model.id}" selected>A</option>' in html and "errorlist" not in html
    html = page(client, f"/compare/?a={a.model.id}&b=999999&benchmark=humaneval")
    assert "Select a valid choice" in html
    nothing = model("Never ran")
    stored_run(nothing, apps_benchmark(), 0.8, {"pass@1": 0.1})
    html = page(client, f"/compare/?a={a.model.id}&b={nothing.id}&benchmark=humaneval")
    assert "This model has no finished run on humaneval." in html


def test_run_progress_counts_generated_samples_while_generating(client, benchmark):
    run = create_generation_run(model("Generating"), benchmark, temperature=0.8, n=2)
    Run.objects.filter(id=run.id).update(status=Run.Status.GENERATING)
    problem = benchmark.problems.get(position=0)
    Sample.objects.create(run=run, problem=problem, index=0, completion="    pass\n")
    assert client.get(f"/runs/{run.id}/progress.json").json() == {
        "status": "generating",
        "line": "Generating: 1 of 328 samples",
        "generated": 1,
        "executed": 0,
        "total": 328,
        "reason": "",
    }


def test_unknown_objects_are_404s(client, benchmark):
    for url in ("/models/999999/", "/runs/999999/", "/problems/999999/", "/runs/999999/progress.json"):
        assert client.get(url).status_code == 404, url


def test_charts_page_plots_size_against_pass_rates(client, benchmark):
    stored_run(model("Small", parameters=10**8), benchmark, 0.8, {"pass@1": 0.1, "pass@100": 0.3})
    stored_run(model("Large", parameters=10**10), benchmark, 0.8, {"pass@1": 0.3, "pass@100": 0.7})
    stored_run(model("Sizeless"), benchmark, 0.8, {"pass@1": 0.5})
    html = page(client, "/charts/")
    figure = json.loads(
        html.split('<script id="size-figure" type="application/json">')[1].split("</script>")[0]
    )
    assert [t["name"] for t in figure["data"]] == ["pass@1", "pass@100"]
    assert figure["data"][0]["x"] == [10**8, 10**10] and figure["data"][1]["y"] == [30.0, 70.0]
    assert figure["layout"]["xaxis"]["type"] == "log" and "Sizeless" not in html


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_board_model_and_run_pages_issue_a_bounded_number_of_queries(client, benchmark):
    apps = apps_benchmark()
    first = sampled_run(benchmark, "First", n=2, passes=lambda p, i: i == 0, family="F", parameters=10**9)
    stored_run(first.model, apps, 0.8, {"pass@1": 0.1}, subset="interview", variant="filtered")
    urls = [
        "/",
        "/?sort=apps:interview:filtered&family=F",
        "/tables/humaneval/",
        "/tables/apps/",
        f"/models/{first.model.id}/",
        f"/runs/{first.id}/?problem=HumanEval/3",
        f"/runs/{first.id}/progress.json",
        f"/problems/{benchmark.problems.get(position=3).id}/",
        "/charts/",
    ]
    few = {url: queries(client, url) for url in urls}
    for i in range(4):
        sampled_run(benchmark, "First", n=3, passes=lambda p, i: i < 2, temperature=0.1 * i)
        other = model(f"Other {i}", family="F", parameters=10**9 + i)
        stored_run(other, benchmark, 0.8, {"pass@1": 0.1, "pass@10": 0.2})
        stored_run(other, apps, 0.8, {"pass@1": 0.1}, subset="interview", variant="filtered")
    many = {url: queries(client, url) for url in urls}
    assert many == few
    assert max(few.values()) <= 10


def judged_run(benchmark, name: str, task_ids: list[str], passed: set[str]) -> Run:
    """A run of one sample per given problem, judged as `passed` says, closed by the real service."""
    records = [SampleRecord(task_id, 0, "    return 1\n") for task_id in task_ids]
    run = create_run_from_records(model(name), benchmark, records, temperature=0.2)
    run.samples.update(verdict=Sample.Verdict.FAILED)
    run.samples.filter(problem__task_id__in=passed).update(verdict=Sample.Verdict.PASSED)
    update_results(run.id)
    run.refresh_from_db()
    return run


def test_a_run_covering_part_of_the_benchmark_shows_its_coverage_and_ranks_apart(client, benchmark):
    every = list(benchmark.problems.values_list("task_id", flat=True))
    complete = judged_run(benchmark, "Complete", every, set(every[:41]))
    partial = judged_run(benchmark, "Three problems", every[:3], set(every[:3]))
    assert complete.complete and complete.coverage == ""
    assert not partial.complete and partial.status == Run.Status.FINISHED
    assert partial.coverage == f"3 of {len(every)} problems"
    rows = {r["model"]: r for r in client.get("/?format=json").json()["rows"]}
    assert rows["Three problems"]["pass@1"] == 1.0 and rows["Complete"]["pass@1"] == 0.25
    assert rows["Three problems"]["pass@1 coverage"] == "3 of 164 problems"
    assert rows["Complete"]["pass@1 coverage"] == ""
    page = client.get("/").content.decode()
    assert page.index("Complete") < page.index("Three problems")  # a higher figure, ranked apart
    assert "3 of 164 problems" in page
    record = client.get(f"/api/runs/{partial.id}/").json()
    assert (record["complete"], record["coverage"], record["problems_covered"]) == (
        False,
        "3 of 164 problems",
        3,
    )


def test_a_problem_page_lists_the_samples_a_second_comparison_judges_otherwise(client, benchmark):
    run = judged_run(benchmark, "Lenient", ["HumanEval/0", "HumanEval/1"], {"HumanEval/0"})
    differs = {"strict_verdict": "failed", "strict_reason": "wrong answer <b>on</b> hidden test 1 of 1"}
    run.samples.filter(problem__task_id="HumanEval/0").update(extra=differs)
    run.samples.filter(problem__task_id="HumanEval/1").update(extra={"strict_verdict": "failed"})
    problem = benchmark.problems.get(task_id="HumanEval/0")
    page = client.get(f"/problems/{problem.id}/").content.decode()
    assert 'id="verdict-differences"' in page and "wrong answer &lt;b&gt;on&lt;/b&gt; hidden test" in page
    other = benchmark.problems.get(task_id="HumanEval/1")
    assert 'id="verdict-differences"' not in client.get(f"/problems/{other.id}/").content.decode()


def test_the_board_shows_each_rank_with_its_interval(client, benchmark):
    every = list(benchmark.problems.values_list("task_id", flat=True))
    judged_run(benchmark, "Strong", every, set(every[:100]))
    judged_run(benchmark, "Close", every, set(every[:99]))
    judged_run(benchmark, "Weak", every, set(every[:20]))
    judged_run(benchmark, "Partial", every[:3], set(every[:3]))
    ranks = views.selectors.rank_intervals(views.selectors.COLUMNS["pass@1"])
    by_name = {CodeModel.objects.get(id=m).name: r for m, r in ranks.items()}
    assert set(by_name) == {"Strong", "Close", "Weak"}  # an incomplete run is not ranked
    assert (by_name["Strong"].rank, by_name["Close"].rank, by_name["Weak"].rank) == (1, 2, 3)
    assert by_name["Strong"].low == 1 and by_name["Close"].low == 1 and by_name["Close"].tied
    assert (by_name["Weak"].low, by_name["Weak"].high) == (3, 3)
    html = client.get("/").content.decode()
    assert '<td class="num rank">2 <small class="muted">(1–2)</small></td>' in html
