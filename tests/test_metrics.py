import itertools
import math

import pytest

from evaluation.metrics import (
    bootstrap_interval,
    mean_pass_at_k,
    paired_difference,
    pass_at_k,
    pass_at_ks,
    rank_intervals,
)


def brute_force_pass_at_k(n: int, c: int, k: int) -> float:
    """The share of all k-subsets of n samples (c of them correct) holding at least one correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in subset) for subset in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_estimator_equals_enumeration_of_all_subsets(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(n, c, k), abs=1e-12)


def test_edge_cases():
    assert pass_at_k(200, 0, 1) == 0.0
    assert pass_at_k(200, 0, 100) == 0.0
    assert pass_at_k(200, 200, 1) == 1.0
    assert pass_at_k(10, 5, 6) == 1.0  # n - c < k: every subset holds a correct sample
    assert pass_at_k(10, 1, 1) == pytest.approx(0.1)
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)


def test_product_form_is_stable_where_binomials_overflow_floats():
    n, c, k = 2000, 3, 1000
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("n,c,k", [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_invalid_arguments_are_refused(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_figures_only_for_k_within_every_problems_n():
    counts = [(100, 10), (100, 0), (20, 20)]
    figures = pass_at_ks(counts)
    assert set(figures) == {"pass@1", "pass@10"}
    assert figures["pass@1"] == pytest.approx((0.1 + 0 + 1) / 3)
    assert mean_pass_at_k(counts, 10) == pytest.approx(figures["pass@10"])


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible():
    counts = [(10, c) for c in (0, 1, 3, 5, 10, 10, 2, 0, 7, 9)]
    low, high = bootstrap_interval(counts, 1)
    mean = mean_pass_at_k(counts, 1)
    assert low < mean < high
    assert (low, high) == bootstrap_interval(counts, 1)
    assert bootstrap_interval([(10, 4)] * 5, 1) == pytest.approx((0.4, 0.4))


def brute_force_p_value(differences):
    """Every sign pattern, by itertools: the exact two-sided sign-flip p-value."""
    observed = abs(sum(differences))
    patterns = list(itertools.product((1, -1), repeat=len(differences)))
    extreme = sum(
        abs(sum(s * d for s, d in zip(signs, differences, strict=True))) >= observed - 1e-9
        for signs in patterns
    )
    return extreme / len(patterns)


def brute_force_bootstrap(differences, confidence=0.95):
    """Every resample with replacement, by itertools: the exact bootstrap distribution's percentiles."""
    size = len(differences)
    means = sorted(sum(pick) / size for pick in itertools.product(differences, repeat=size))
    tail = (1 - confidence) / 2
    return means[math.ceil(tail * len(means)) - 1], means[math.ceil((1 - tail) * len(means)) - 1]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([(10, 3), (10, 0), (10, 10), (10, 5)], [(10, 1), (10, 0), (10, 9), (10, 2)]),
        ([(5, 5), (5, 0), (5, 1)], [(5, 0), (5, 5), (5, 1)]),
        ([(4, 1), (4, 2), (4, 3), (4, 4), (4, 0)], [(4, 0), (4, 0), (4, 1), (4, 2), (4, 0)]),
    ],
)
def test_paired_difference_against_brute_force(a, b):
    for k in (1, 2):
        result = paired_difference(a, b, k, resamples=20_000)
        differences = [pass_at_k(*x, k) - pass_at_k(*y, k) for x, y in zip(a, b, strict=True)]
        assert result.difference == pytest.approx(sum(differences) / len(differences))
        assert result.p_value == pytest.approx(brute_force_p_value(differences))
        low, high = brute_force_bootstrap(differences)
        assert result.ci_low == pytest.approx(low, abs=0.03) and result.ci_high == pytest.approx(
            high, abs=0.03
        )
        assert result.problems == len(a)


def test_a_large_consistent_gap_is_significant_and_no_gap_is_not():
    better = [(10, 8)] * 40
    worse = [(10, 2)] * 40
    gap = paired_difference(better, worse, 1)
    assert gap.p_value < 0.001 and gap.ci_low > 0.5
    same = paired_difference(better, better, 1)
    assert same.difference == 0 and same.p_value == 1.0
    with pytest.raises(ValueError, match="same, non-empty"):
        paired_difference(better, worse[:3], 1)


def test_rank_intervals_separate_clear_gaps_and_tie_close_systems():
    problems = 60
    strong = [1.0] * 50 + [0.0] * 10
    close = [1.0] * 49 + [0.0] * 11
    weak = [1.0] * 10 + [0.0] * 50
    intervals = rank_intervals([strong, close, weak], resamples=400)
    (s_low, s_high), (c_low, c_high), (w_low, w_high) = intervals
    assert s_low == 1 and c_low == 1 and c_high == 2 and (w_low, w_high) == (3, 3)
    assert s_high in (1, 2)
    assert rank_intervals([[0.5] * problems, [0.5] * problems]) == [(1, 1), (1, 1)]  # a tie shares rank 1


def test_rank_intervals_against_brute_force_ranks_on_tiny_tables():
    table = [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.5]]
    every = list(itertools.product(range(3), repeat=3))  # every resample of three problems
    ranks = [[] for _ in table]
    for pick in every:
        means = [sum(row[i] for i in pick) / 3 for row in table]
        for s, mean in enumerate(means):
            ranks[s].append(1 + sum(other > mean for other in means))
    intervals = rank_intervals(table, resamples=20_000)
    for s, observed in enumerate(ranks):
        observed.sort()
        exact = (
            observed[math.ceil(0.025 * len(observed)) - 1],
            observed[math.ceil(0.975 * len(observed)) - 1],
        )
        assert intervals[s] == exact
