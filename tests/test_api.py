"""The read-only JSON API: every endpoint of docs/api.md, its errors, and that it only reads."""

from __future__ import annotations

import pytest
from test_leaderboard_pages import apps_benchmark, model, sampled_run, stored_run

from leaderboard import api

pytestmark = pytest.mark.django_db


def get(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_index_links_every_collection(client):
    data = get(client, "/api/")
    assert data["board"] == "/api/board/" and data["models"] == "/api/models/"
    assert data["tables"] == ["/api/tables/humaneval/", "/api/tables/apps/", "/api/tables/docstrings/"]
    for url in [data["board"], data["models"], data["submissions"], *data["tables"]]:
        get(client, url)


def test_board_and_tables_are_the_pages_rows(client, benchmark):
    stored_run(model("Alpha", family="A", parameters=10**9), benchmark, 0.2, {"pass@1": 0.3})
    stored_run(model("Beta", family="B"), apps_benchmark(), 0.8, {"pass@1": 0.1}, subset="interview")
    board = get(client, "/api/board/?family=A")
    assert board == client.get("/?family=A&format=json").json()
    assert [row["model"] for row in board["rows"]] == ["Alpha"]
    assert "apps:interview:raw" in board["columns"]
    assert [row["model"] for row in get(client, "/api/tables/apps/")["rows"]] == ["Beta"]
    assert get(client, "/api/tables/nothing/", 404) == {
        "error": "no table 'nothing'; tables: humaneval, apps, docstrings"
    }


def test_models_are_listed_by_page(client, benchmark, monkeypatch):
    monkeypatch.setattr(api, "PAGE_SIZE", 2)
    for name in ("C", "A", "B"):
        stored_run(model(name), benchmark, 0.8, {"pass@1": 0.1})
    first = get(client, "/api/models/")
    assert (first["count"], first["page"], first["pages"]) == (3, 1, 2)
    assert [m["model"] for m in first["results"]] == ["A", "B"]
    assert [m["model"] for m in get(client, "/api/models/?page=2")["results"]] == ["C"]
    assert first["results"][0]["url"] == f"/api/models/{first['results'][0]['model_id']}/"


def test_model_run_problem_and_samples(client, benchmark):
    run = sampled_run(benchmark, "Alpha", n=3, passes=lambda p, i: i == 0, completion="    return '<b>'\n")
    detail = get(client, f"/api/models/{run.model.id}/")
    assert detail["model"] == "Alpha" and len(detail["runs"]) == 1
    assert (
        detail["runs"][0]["pass@1"] == pytest.approx(1 / 3)
        and detail["runs"][0]["url"] == f"/api/runs/{run.id}/"
    )
    data = get(client, f"/api/runs/{run.id}/")
    assert data["status"] == "finished" and data["samples_total"] == 492 and data["model"] == "Alpha"
    figures = {(r["metric"], r["subset"], r["variant"]) for r in data["results"]}
    assert ("pass@1", "all", "raw") in figures and ("k=2", "all", "ranking:mean_logprob") in figures
    problems = get(client, data["problems"])
    assert len(problems["rows"]) == 164 and problems["rows"][0]["passed"] == 1
    samples = get(client, f"/api/runs/{run.id}/samples/?problem=HumanEval/1")
    assert [s["verdict"] for s in samples["samples"]] == ["passed", "failed", "failed"]
    assert samples["samples"][0]["completion"] == "    return '<b>'\n"
    assert get(client, f"/api/runs/{run.id}/samples/", 400) == {"error": "give ?problem=<task_id>"}
    assert get(client, f"/api/runs/{run.id}/samples/?problem=nope", 404)["error"].startswith("no problem")
    problem_id = problems["rows"][0]["problem_id"]
    problem = get(client, f"/api/problems/{problem_id}/")
    assert problem["task_id"] == "HumanEval/0" and problem["runs"][0]["passed"] == 1


def test_missing_objects_and_writes_are_refused_in_json(client):
    for url in (
        "/api/models/999999/",
        "/api/runs/999999/",
        "/api/runs/999999/problems/",
        "/api/problems/999999/",
    ):
        assert get(client, url, 404) == {"error": "not found"}
    response = client.post("/api/models/")
    assert response.status_code == 405
