"""Picking one sample out of k without running tests (Figure 7 of the Codex paper).

For each number k of samples drawn, the expected pass rate when one of them is chosen:
- `random`: uniformly at random: the problem's fraction of correct samples, whatever k;
- `mean_logprob` / `sum_logprob`: the one with the highest mean / total token log-probability;
- `oracle`: a correct one if any was drawn, which is pass@k;
- `back_translation`: the one whose code best explains the reference docstring, by a docstring
  model's log P(docstring | sample), where every sample has that score.

Expectations are exact, not Monte Carlo: over the C(n, k) equally likely k-subsets of a
problem's n samples, the chosen sample is the best-scored member of the subset. With samples
sorted by score, the best of a random subset lies in a group of equal scores with h better
samples and m members with probability (C(n-h, k) - C(n-h-m, k)) / C(n, k) (evaluated as a
product, in floating point, like pass@k); within the group every member is equally likely to be
the one picked, so the group contributes its fraction of correct samples. Averages are then
taken over problems.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.metrics import pass_at_k


@dataclass(frozen=True)
class ScoredSample:
    passed: bool
    mean_logprob: float
    sum_logprob: float
    back_translation: float | None = None  # log P(reference docstring | sample), by a docstring model


@dataclass(frozen=True)
class RankingPoint:
    """Expected pass rates over problems when one sample is picked from k drawn."""

    k: int
    random: float
    mean_logprob: float
    sum_logprob: float
    oracle: float
    back_translation: float | None = None


def k_grid(n: int) -> tuple[int, ...]:
    """1, 2, 5, 10, 20, 50, ... up to n: the x axis of Figure 7."""
    ks, scale = [], 1
    while scale <= n:
        ks.extend(k for k in (scale, 2 * scale, 5 * scale) if k <= n)
        scale *= 10
    return tuple(ks)


def expected_pick(samples: Sequence[ScoredSample], k: int, score: Callable[[ScoredSample], float]) -> float:
    """Exact expected correctness of the highest-scored sample among k drawn without replacement."""
    n = len(samples)
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    scores = np.array([score(s) for s in samples], dtype=float)
    order = np.argsort(-scores, kind="stable")
    scores, passed = scores[order], np.array([samples[i].passed for i in order], dtype=float)
    starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
    ends = np.r_[starts[1:], n]
    # none_of_first[h] = C(n - h, k) / C(n, k): the chance that the h best samples were all left out.
    none_of_first = np.r_[1.0, np.cumprod(np.clip((n - k - np.arange(n)) / (n - np.arange(n)), 0.0, None))]
    chance = none_of_first[starts] - none_of_first[ends]
    return float(np.sum(chance * np.add.reduceat(passed, starts) / (ends - starts)))


def ranking_curves(
    problems: Sequence[Sequence[ScoredSample]], ks: Sequence[int] | None = None
) -> list[RankingPoint]:
    """One point per k (by default `k_grid` of the smallest n), each averaged over problems."""
    if not problems or any(not samples for samples in problems):
        raise ValueError("every problem needs at least one sample")
    for samples in problems:
        for sample in samples:
            if math.isnan(sample.mean_logprob) or math.isnan(sample.sum_logprob):
                raise ValueError("log-probabilities must not be NaN")
    smallest_n = min(len(samples) for samples in problems)
    ks = k_grid(smallest_n) if ks is None else tuple(ks)
    translated = all(s.back_translation is not None for samples in problems for s in samples)
    points = []
    for k in ks:
        if not 1 <= k <= smallest_n:
            raise ValueError(
                f"k={k} is outside 1..{smallest_n} (the smallest number of samples of a problem)"
            )
        points.append(
            RankingPoint(
                k=k,
                random=_mean([sum(s.passed for s in samples) / len(samples) for samples in problems]),
                mean_logprob=_mean([expected_pick(samples, k, _by_mean) for samples in problems]),
                sum_logprob=_mean([expected_pick(samples, k, _by_sum) for samples in problems]),
                oracle=_mean(
                    [pass_at_k(len(samples), sum(s.passed for s in samples), k) for samples in problems]
                ),
                back_translation=_mean(
                    [expected_pick(samples, k, _by_back_translation) for samples in problems]
                )
                if translated
                else None,
            )
        )
    return points


def _by_mean(sample: ScoredSample) -> float:
    return sample.mean_logprob


def _by_sum(sample: ScoredSample) -> float:
    return sample.sum_logprob


def _by_back_translation(sample: ScoredSample) -> float:
    return sample.back_translation  # type: ignore[return-value]


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)
