"""pass@k and the statistics built on it."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

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
