"""The figures' numbers: pass@k curves, best temperatures, BLEU, escaping."""

from __future__ import annotations

import math

import pytest

from evaluation.metrics import mean_pass_at_k
from leaderboard import plots


def test_curve_ks_cover_small_k_and_reach_n():
    assert plots.curve_ks(5) == [1, 2, 3, 4, 5]
    ks = plots.curve_ks(200)
    assert ks[:10] == list(range(1, 11)) and ks[-1] == 200 and len(ks) < 40 and ks == sorted(set(ks))
    assert plots.curve_ks(0) == []


def test_pass_at_k_curve_is_the_mean_estimator_at_every_k():
    counts = [(10, 0), (10, 3), (10, 3), (10, 10), (12, 1)]
    curve = plots.pass_at_k_curve(counts)
    assert [k for k, _ in curve] == list(range(1, 11))
    for k, value in curve:
        assert value == pytest.approx(mean_pass_at_k(counts, k))
    assert plots.pass_at_k_curve([]) == []


def test_best_temperature_for_each_k():
    curves = {0.2: [(1, 0.30), (10, 0.50)], 0.8: [(1, 0.20), (10, 0.60), (100, 0.7)]}
    assert plots.best_temperatures(curves) == [(1, 0.2), (10, 0.8), (100, 0.8)]


def test_bleu_of_code():
    reference = "    return sorted(set(numbers))[1]\n"
    assert plots.bleu(reference, reference) == pytest.approx(100.0)
    assert plots.bleu("pass", reference) == 0.0
    assert plots.bleu("", reference) == 0.0
    close = plots.bleu("    return sorted(set(values))[1]\n", reference)
    far = plots.bleu("    x = 1\n    return x\n", reference)
    assert 0 < far < close < 100
    # One token changed among 11: unigram 10/11, and (m + 1) / (p + 1) above it; no brevity penalty.
    hypothesis = plots.tokens("return sorted(set(values))[1]")
    assert len(hypothesis) == 11
    expected = 100 * math.exp((math.log(10 / 11) + math.log(9 / 11) + math.log(7 / 10) + math.log(5 / 9)) / 4)
    assert plots.bleu("return sorted(set(values))[1]", "return sorted(set(numbers))[1]") == pytest.approx(
        expected
    )


def test_figures_escape_names_for_plotly():
    figure = plots.size_figure({"pass@1": [("<a href=x>M</a>", 10**9, 0.5)]})
    assert figure["data"][0]["text"] == ["&lt;a href=x&gt;M&lt;/a&gt;"]
    assert figure["layout"]["xaxis"]["type"] == "log"
    figure = plots.pass_at_k_figure({"<b>T</b>": [(1, 0.5)]})
    assert figure["data"][0]["name"] == "&lt;b&gt;T&lt;/b&gt;" and figure["data"][0]["y"] == [50.0]
    figure = plots.bleu_figure([90.0], [])
    assert [trace["name"] for trace in figure["data"]] == ["correct"]
