import itertools
import math

import pytest

from evaluation.metrics import bootstrap_interval, mean_pass_at_k, pass_at_k, pass_at_ks


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
