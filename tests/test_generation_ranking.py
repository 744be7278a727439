"""Figure 7's ranking heuristics, checked on hand-made problems and against brute force."""

from __future__ import annotations

import itertools
import random
from dataclasses import astuple

import pytest

from evaluation.generation.ranking import ScoredSample, expected_pick, k_grid, ranking_curves
from evaluation.metrics import pass_at_k


def sample(passed: bool, mean: float, total: float | None = None) -> ScoredSample:
    return ScoredSample(passed=passed, mean_logprob=mean, sum_logprob=mean * 10 if total is None else total)


def brute_force(samples: list[ScoredSample], k: int, score) -> float:
    """Average over every k-subset of the best-scored member's correctness, ties shared evenly."""
    outcomes = []
    for subset in itertools.combinations(samples, k):
        best = max(score(s) for s in subset)
        tied = [s for s in subset if score(s) == best]
        outcomes.append(sum(s.passed for s in tied) / len(tied))
    return sum(outcomes) / len(outcomes)


def test_k_grid():
    assert k_grid(1) == (1,)
    assert k_grid(7) == (1, 2, 5)
    assert k_grid(100) == (1, 2, 5, 10, 20, 50, 100)
    assert k_grid(1000)[-4:] == (100, 200, 500, 1000)


def test_heuristic_that_knows_the_answer_picks_it_once_it_is_drawn():
    # Only the most likely sample (by mean) is correct; by total the correct one is the least likely.
    problem = [sample(True, -0.1, -50.0)] + [sample(False, -1.0 - i, -1.0 - i) for i in range(4)]
    points = {p.k: p for p in ranking_curves([problem], ks=[1, 2, 5])}
    assert astuple(points[1])[:5] == pytest.approx((1, 0.2, 0.2, 0.2, 0.2))
    assert points[1].back_translation is None  # no sample was scored by a docstring model
    assert points[2].mean_logprob == pytest.approx(pass_at_k(5, 1, 2)) == pytest.approx(0.4)
    assert points[5].mean_logprob == 1.0
    assert points[5].sum_logprob == 0.0
    assert points[5].random == 0.2
    assert points[5].oracle == 1.0


def test_random_is_the_fraction_correct_and_oracle_is_pass_at_k():
    problems = [
        [sample(i < 3, -0.5 * i) for i in range(10)],
        [sample(False, -1.0) for _ in range(10)],
        [sample(i % 2 == 0, -0.1 * (i % 3)) for i in range(12)],
    ]
    for point in ranking_curves(problems):
        assert point.random == pytest.approx((0.3 + 0.0 + 0.5) / 3)
        expected = (pass_at_k(10, 3, point.k) + 0.0 + pass_at_k(12, 6, point.k)) / 3
        assert point.oracle == pytest.approx(expected)
    assert [p.k for p in ranking_curves(problems)] == [1, 2, 5, 10], "k stops at the smallest n"


def test_exact_expectation_equals_brute_force_with_ties():
    rng = random.Random(3)
    for _ in range(20):
        n = rng.randint(1, 8)
        samples = [sample(rng.random() < 0.4, rng.choice([-0.5, -1.0, -1.5]), rng.random()) for _ in range(n)]
        for k in range(1, n + 1):
            for score in (lambda s: s.mean_logprob, lambda s: s.sum_logprob):
                assert expected_pick(samples, k, score) == pytest.approx(
                    brute_force(samples, k, score), abs=1e-12
                )


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        ranking_curves([])
    with pytest.raises(ValueError):
        ranking_curves([[sample(True, -1.0)], []])
    with pytest.raises(ValueError, match="outside"):
        ranking_curves([[sample(True, -1.0)] * 3], ks=[5])
    with pytest.raises(ValueError, match="NaN"):
        ranking_curves([[sample(True, float("nan"))]])


def test_back_translation_that_prefers_correct_samples_picks_as_well_as_the_oracle():
    problems = [
        [ScoredSample(passed, -1.0, -5.0, 0.0 if passed else -9.0) for passed in (True, False, False, False)],
        [ScoredSample(passed, -1.0, -5.0, -2.0 if passed else -3.0) for passed in (False, True, True, False)],
    ]
    for point in ranking_curves(problems):
        assert point.back_translation == pytest.approx(point.oracle)
    without = [[ScoredSample(s.passed, s.mean_logprob, s.sum_logprob) for s in p] for p in problems]
    assert all(point.back_translation is None for point in ranking_curves(without))
