"""The figures benchmarks publish, built once for all of them from judged samples."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from evaluation.benchmarks.contract import Figure, JudgedSample
from evaluation.metrics import DEFAULT_KS, bootstrap_interval, mean_pass_at_k, usable_ks

PASSED = "passed"
RANKING = "ranking:"  # variant prefix of Figure 7's curves; the metric is "k=<k>"
HEURISTICS = ("random", "mean_logprob", "sum_logprob", "oracle", "back_translation")


def counts(samples: Iterable[JudgedSample]) -> dict[str, tuple[int, int]]:
    """(n, c) per task."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sample in samples:
        tally[sample.task_id][0] += 1
        tally[sample.task_id][1] += sample.verdict == PASSED
    return {task_id: (n, c) for task_id, (n, c) in tally.items()}


def pass_at_k_figures(samples: Sequence[JudgedSample], ks: Sequence[int] = DEFAULT_KS) -> list[Figure]:
    """pass@k for each usable k, with a 95% bootstrap interval over problems."""
    per_task = list(counts(samples).values())
    figures = []
    for k in usable_ks(ks, (n for n, _ in per_task)):
        low, high = bootstrap_interval(per_task, k)
        figures.append(Figure(f"pass@{k}", mean_pass_at_k(per_task, k), ci_low=low, ci_high=high))
    return figures


def ranking_figures(samples: Sequence[JudgedSample]) -> list[Figure]:
    """Figure 7's curves, when every sample carries its log-probabilities (generated, not imported)."""
    from evaluation.generation.ranking import ScoredSample, ranking_curves

    if not samples or any(s.mean_logprob is None or s.sum_logprob is None for s in samples):
        return []
    per_task: dict[str, list[ScoredSample]] = defaultdict(list)
    for s in samples:
        per_task[s.task_id].append(
            ScoredSample(s.verdict == PASSED, s.mean_logprob, s.sum_logprob, s.back_translation)
        )
    return [
        Figure(f"k={point.k}", getattr(point, heuristic), variant=f"{RANKING}{heuristic}")
        for point in ranking_curves(list(per_task.values()))
        for heuristic in HEURISTICS
        if getattr(point, heuristic) is not None
    ]
