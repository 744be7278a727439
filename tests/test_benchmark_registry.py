"""Every registered benchmark through the same seam: load, prompt, judge or hand to people, figures."""

from __future__ import annotations

import pytest
from conftest import SANDBOX_NEEDS_ROOT

from evaluation.benchmarks import registry
from evaluation.benchmarks.contract import Contract, JudgedSample, Judging
from evaluation.execution import judged
from evaluation.sandbox import Sandbox

MODULES = registry.benchmarks()


def problems_of(module, shared_data):
    """The module's shipped problems; APPS without a local copy would need the hub, so it reads ours."""
    source = shared_data / "apps" / "codechain_train150.jsonl" if module.NAME == "apps" else None
    return module.load(source).problems


def test_the_registry_lists_every_benchmark_once_by_its_own_name():
    assert list(registry.names()) == [module.NAME for module in MODULES]
    assert {"humaneval", "humaneval-docstrings", "apps"} <= set(registry.names())
    for module in MODULES:
        assert registry.get(module.NAME) is module
    with pytest.raises(registry.UnknownBenchmark, match="unknown benchmark 'nope'; known: humaneval"):
        registry.get("nope")


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_each_benchmark_implements_the_whole_contract(module):
    assert isinstance(module, Contract)
    assert module.JUDGING in Judging
    assert module.DEFAULT_TEMPLATE in module.TEMPLATES or (
        not module.TEMPLATES and not module.DEFAULT_TEMPLATE
    )
    assert module.STOP_SEQUENCES and all(module.STOP_SEQUENCES)
    assert module.SAMPLING.n >= 1 and module.SAMPLING.temperatures
    assert len({column.key for column in module.COLUMNS}) == len(module.COLUMNS)


@SANDBOX_NEEDS_ROOT
@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
def test_each_benchmark_through_the_same_seam(module, shared_data):
    problems = problems_of(module, shared_data)[:3]
    assert problems
    for problem in problems:
        assert module.prompt(problem, module.DEFAULT_TEMPLATE).strip()
    samples = [(p.task_id, 0, p.canonical_solution) for p in problems]
    by_id = {p.task_id: p for p in problems}
    if module.JUDGING == Judging.EXECUTED:
        with Sandbox(workers=2) as sandbox:
            results = list(module.evaluate(by_id, samples, sandbox, 10.0, None))
        assert sorted((r.task_id, r.judgement.verdict) for r in results) == sorted(
            (task_id, "passed") for task_id in by_id
        )
        scored = judged(results)
    else:
        with pytest.raises(TypeError, match="graded by people"):
            list(module.evaluate(by_id, samples, None))
        scored = [JudgedSample(task_id, "passed") for task_id, _, _ in samples]
    figures = module.figures(scored)
    shown = {(f.metric, f.subset, f.variant): f.value for f in figures}
    for column in module.COLUMNS:
        key = (column.metric, column.subset, column.variant)
        if column.subset == "all" and column.metric == "pass@1":
            assert shown[key] == 1.0, key
        elif key in shown:
            assert 0.0 <= shown[key] <= 1.0
    assert shown[("pass@1", "all", "raw")] == 1.0
