"""pass@k and the statistics built on it."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_KS: tuple[int, ...] = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimator 1 - C(n-c, k) / C(n, k), in the Codex paper's stable product form."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    result = 1.0
    for i in range(n - c + 1, n + 1):
        result *= 1.0 - k / i
    return 1.0 - result


def mean_pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> float:
    """pass@k averaged over problems, from (n, c) per problem."""
    if not counts:
        raise ValueError("no problems")
    return sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)


def usable_ks(ks: Iterable[int], ns: Iterable[int]) -> list[int]:
    """The k that do not exceed the smallest n: pass@k is defined only where every problem has k samples."""
    smallest_n = min(ns, default=0)
    return [k for k in ks if k <= smallest_n]


def pass_at_ks(counts: Sequence[tuple[int, int]], ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """pass@k for every usable k (see `usable_ks`)."""
    return {f"pass@{k}": mean_pass_at_k(counts, k) for k in usable_ks(ks, (n for n, _ in counts))}


def bootstrap_interval(
    counts: Sequence[tuple[int, int]],
    k: int,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile bootstrap over problems for mean pass@k: the uncertainty of a finite benchmark."""
    per_problem = [pass_at_k(n, c, k) for n, c in counts]
    rng = random.Random(seed)
    size = len(per_problem)
    means = sorted(sum(rng.choices(per_problem, k=size)) / size for _ in range(resamples))
    tail = (1.0 - confidence) / 2
    return means[int(tail * (resamples - 1))], means[int((1.0 - tail) * (resamples - 1))]


def filtered_pass_at_k(n: int, c: int, kept: int, kept_correct: int, k: int) -> float:
    """pass@k when submissions are drawn first from the `kept` samples that pass a filter.

    The Codex paper's filtered pass@k for APPS keeps the samples that pass the public examples.
    With at least k kept samples this is pass@k among them; with fewer, all kept samples are
    submitted and the remaining k - kept are drawn from the others, so no kept sample gives the
    raw pass@k. This is the expected result of that submission rule, not an upper bound."""
    if not 0 <= kept_correct <= kept <= n or not kept_correct <= c <= n or c - kept_correct > n - kept:
        raise ValueError(f"inconsistent counts n={n}, c={c}, kept={kept}, kept_correct={kept_correct}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if kept >= k:
        return pass_at_k(kept, kept_correct, k)
    if kept_correct > 0:
        return 1.0
    return pass_at_k(n - kept, c - kept_correct, k - kept)


@dataclass(frozen=True)
class PairedDifference:
    """pass@k of system A minus system B over the problems both solved, with its uncertainty."""

    k: int
    problems: int
    difference: float
    ci_low: float
    ci_high: float
    p_value: float


def paired_difference(
    counts_a: Sequence[tuple[int, int]],
    counts_b: Sequence[tuple[int, int]],
    k: int,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """Is the gap real? (n, c) per problem of two systems, aligned problem by problem.

    The interval is a percentile bootstrap over problems of the mean per-problem difference
    (problems resampled together for both systems: the pairing is what makes it narrow). The
    p-value is a paired sign-flip (permutation) test of "no difference": each problem's difference
    keeps its size and gets a random sign; exact over every sign pattern when there are at most
    `resamples` of them, Monte Carlo otherwise (with the observed pattern counted once)."""
    if len(counts_a) != len(counts_b) or not counts_a:
        raise ValueError("need the same, non-empty list of problems for both systems")
    differences = [pass_at_k(*a, k) - pass_at_k(*b, k) for a, b in zip(counts_a, counts_b, strict=True)]
    size = len(differences)
    observed = sum(differences) / size
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(differences, k=size)) / size for _ in range(resamples))
    tail = (1.0 - confidence) / 2
    low, high = means[int(tail * (resamples - 1))], means[int((1.0 - tail) * (resamples - 1))]
    return PairedDifference(k, size, observed, low, high, sign_flip_p_value(differences, resamples, rng))


def sign_flip_p_value(differences: Sequence[float], resamples: int, rng: random.Random) -> float:
    """Two-sided p-value of a mean of paired differences under random signs (see paired_difference)."""
    size = len(differences)
    observed = abs(sum(differences)) - 1e-12 * size  # ties with the observed mean count as extreme
    if 2**size <= resamples:
        extreme = sum(
            abs(sum(d if (pattern >> i) & 1 else -d for i, d in enumerate(differences))) >= observed
            for pattern in range(2**size)
        )
        return extreme / 2**size
    extreme = sum(
        abs(sum(d if rng.random() < 0.5 else -d for d in differences)) >= observed
        for _ in range(resamples - 1)
    )
    return (extreme + 1) / resamples


def rank_intervals(
    per_problem: Sequence[Sequence[float]],
    *,
    resamples: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[tuple[int, int]]:
    """A 95% interval of each system's rank (1 is best) from a bootstrap over problems.

    `per_problem[s][p]` is system s's pass@k on problem p, the same problems for every system.
    Each resample draws problems with replacement for all systems at once, ranks the systems by
    their mean (a system's rank is 1 + the number that score strictly higher), and the interval is
    the percentile range of each system's ranks: rows whose intervals overlap are statistically tied."""
    import numpy as np

    scores = np.asarray(per_problem, dtype=float)
    if scores.ndim != 2 or not scores.size:
        raise ValueError("need a systems x problems table of per-problem pass@k")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, scores.shape[1], size=(resamples, scores.shape[1]))
    means = scores[:, picks].mean(axis=2).T  # resamples x systems
    ranks = 1 + (means[:, None, :] > means[:, :, None]).sum(axis=2)  # [r, s] = 1 + #better than s
    tail = (1.0 - confidence) / 2
    low = np.quantile(ranks, tail, axis=0, method="lower")
    high = np.quantile(ranks, 1.0 - tail, axis=0, method="higher")
    return [(int(a), int(b)) for a, b in zip(low, high, strict=True)]
