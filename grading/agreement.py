"""Inter-annotator agreement on binary labels: raw pairwise agreement and Krippendorff's alpha (nominal).

Alpha handles any number of graders per item (2 on some items, 3 on others), which Cohen's kappa
does not. Both come with a percentile bootstrap over items: items, not grades, are the unit sampled.
Each item is given as (number of "correct" grades, number of "incorrect" grades).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RELIABLE = 0.8
TENTATIVE = 0.667


@dataclass(frozen=True)
class Agreement:
    items: int
    raw: float | None
    raw_interval: tuple[float, float] | None
    alpha: float | None
    alpha_interval: tuple[float, float] | None

    @property
    def reading(self) -> str:
        """Krippendorff's own thresholds: 0.8 reliable, 0.667 tentative conclusions only."""
        if self.alpha is None:
            return "not enough data"
        if self.alpha >= RELIABLE:
            return "reliable"
        return "tentative" if self.alpha >= TENTATIVE else "unreliable"


def _statistics(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw agreement and alpha for each row of a (resamples, items, 2) array of pairable counts."""
    correct, incorrect = counts[..., 0], counts[..., 1]
    graders = correct + incorrect
    pairs = graders * (graders - 1) / 2
    agreeing = correct * (correct - 1) / 2 + incorrect * (incorrect - 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = agreeing.sum(-1) / pairs.sum(-1)
        disagreement = (correct * incorrect / (graders - 1)).sum(-1)
        n_correct, n_incorrect = correct.sum(-1), incorrect.sum(-1)
        total = n_correct + n_incorrect
        alpha = 1.0 - (total - 1) * disagreement / (n_correct * n_incorrect)
    return raw, alpha


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def agreement(
    items: Sequence[tuple[int, int]], *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> Agreement:
    """Agreement over the items graded at least twice; alpha is None when every grade is the same."""
    counts = np.array([c for c in items if c[0] + c[1] >= 2], dtype=float).reshape(-1, 2)
    if len(counts) == 0:
        return Agreement(0, None, None, None, None)
    raw, alpha = _statistics(counts)
    rng = np.random.default_rng(seed)
    resampled = counts[rng.integers(0, len(counts), size=(resamples, len(counts)))]
    raw_boot, alpha_boot = _statistics(resampled)
    alpha_value = float(alpha) if np.isfinite(alpha) else None
    return Agreement(
        items=len(counts),
        raw=float(raw),
        raw_interval=_interval(raw_boot, confidence),
        alpha=alpha_value,
        alpha_interval=_interval(alpha_boot, confidence) if alpha_value is not None else None,
    )
