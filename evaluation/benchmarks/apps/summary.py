"""Table 2's figures: raw and filtered pass@k per difficulty and overall, each also counting
timeouts (the paper's parentheses), from judged samples; and the strict comparison's raw pass@1
beside them, a diagnostic (docs/apps.md, Figures)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from evaluation.benchmarks.apps.checker import STRICT
from evaluation.benchmarks.apps.loading import DIFFICULTIES
from evaluation.benchmarks.contract import Figure, JudgedSample
from evaluation.metrics import filtered_pass_at_k, pass_at_k, usable_ks

SUBSETS: tuple[str, ...] = (*DIFFICULTIES, "all")
KS: tuple[int, ...] = (1, 5, 1000)
# Table 2's variants; each also has a "+timeouts" twin (the paper's parentheses).
VARIANTS: tuple[str, ...] = ("raw", "filtered")
TIMEOUTS = "+timeouts"
# The strict diagnostic beside them (variant STRICT, the comparison's name): raw pass@k of the
# samples' strict verdicts, for these k.
STRICT_KS: tuple[int, ...] = (1,)

FILTERED_RULE = (
    "Filtered pass@k: of each problem's samples, those that pass all of the problem's public "
    "examples are submitted first (the Codex paper's filter); when fewer than k pass them, all of "
    "those are submitted and the remaining submissions are drawn from the other samples, so a "
    "problem where no sample passes its examples scores its raw pass@k. In parentheses, a sample "
    "that failed no test but timed out on some also counts, for the examples and for the hidden tests."
)


@dataclass
class _Tally:
    """One problem's sample counts; `lenient` counts also samples that only timed out."""

    n: int = 0
    passed: int = 0
    passed_lenient: int = 0
    kept: int = 0
    kept_passed: int = 0
    kept_lenient: int = 0
    kept_lenient_passed: int = 0
    passed_strict: int = 0


def summarize(results: Iterable[Any], ks: Sequence[int] = KS) -> dict[str, Any]:
    """Raw and filtered pass@k, as judged and counting timeouts, overall and per difficulty; and
    the strict diagnostic (raw pass@1 by `strict_verdict`) when every judged sample carries one.

    `results` are `SampleResult`s or the rows their `as_json()` gives. Samples
    with verdict None (not run on our side) are left out and counted as `unjudged`; a k above a
    group's smallest number of samples per problem is left out of that group."""
    tallies: dict[str, dict[str, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    unjudged = samples = 0
    strict_known = True
    for result in results:
        row = result.as_json() if hasattr(result, "as_json") else result
        if row["verdict"] is None:
            unjudged += 1
            continue
        samples += 1
        passed = row["verdict"] == "passed"
        lenient = passed or row["verdict"] == "timeout"
        kept = bool(row["public_passed"])
        kept_lenient = kept or bool(row["public_timed_out_only"])
        tally = tallies[row["difficulty"]][str(row["task_id"])]
        tally.n += 1
        tally.passed += passed
        tally.passed_lenient += lenient
        tally.kept += kept
        tally.kept_passed += kept and passed
        tally.kept_lenient += kept_lenient
        tally.kept_lenient_passed += kept_lenient and lenient
        tally.passed_strict += row.get("strict_verdict") == "passed"
        strict_known = strict_known and row.get("strict_verdict") is not None
    groups = {difficulty: tallies[difficulty] for difficulty in DIFFICULTIES if difficulty in tallies}
    overall = {task_id: tally for group in groups.values() for task_id, tally in group.items()}
    figures = {
        name: _group_figures(group, ks, strict_known)
        for name, group in (("overall", overall), *groups.items())
        if group
    }
    return {"samples": samples, "unjudged": unjudged, "figures": figures, "filtered_rule": FILTERED_RULE}


def _group_figures(problems: dict[str, _Tally], ks: Sequence[int], strict: bool) -> dict[str, Any]:
    smallest = min(tally.n for tally in problems.values())
    figures: dict[str, Any] = {"problems": len(problems), "samples_per_problem": smallest}
    estimators = {
        "raw": lambda t, k: pass_at_k(t.n, t.passed, k),
        "raw" + TIMEOUTS: lambda t, k: pass_at_k(t.n, t.passed_lenient, k),
        "filtered": lambda t, k: filtered_pass_at_k(t.n, t.passed, t.kept, t.kept_passed, k),
        "filtered" + TIMEOUTS: lambda t, k: filtered_pass_at_k(
            t.n, t.passed_lenient, t.kept_lenient, t.kept_lenient_passed, k
        ),
    }
    variants: list[tuple[str, Any, Sequence[int]]] = [(name, e, ks) for name, e in estimators.items()]
    if strict:
        variants.append((STRICT, lambda t, k: pass_at_k(t.n, t.passed_strict, k), STRICT_KS))
    for name, estimate, chosen in variants:
        figures[name] = {
            f"pass@{k}": sum(estimate(t, k) for t in problems.values()) / len(problems)
            for k in usable_ks(chosen, [smallest])
        }
    return figures


def figures(samples: Sequence[JudgedSample]) -> list[Figure]:
    """Table 2's figures: every variant of `summarize`, overall (subset "all") and per difficulty,
    and beside them the strict diagnostic (variant `STRICT`) where the samples carry it."""
    rows = [{**s.extra, "task_id": s.task_id, "verdict": s.verdict} for s in samples]
    published = [v + suffix for v in VARIANTS for suffix in ("", TIMEOUTS)]
    return [
        Figure(metric, value, subset="all" if group == "overall" else group, variant=variant)
        for group, values in summarize(rows)["figures"].items()
        for variant in (*published, STRICT)
        if variant in values
        for metric, value in values[variant].items()
    ]
