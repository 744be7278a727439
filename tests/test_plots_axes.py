"""The charts' axes and legends in the cases a fresh board meets: all figures 0, a single series."""

from __future__ import annotations

from leaderboard import plots


def test_an_all_zero_chart_spans_0_to_100_percent_not_minus_one_to_one():
    flat = plots.pass_at_k_figure({"T=0.8": [(1, 0.0), (10, 0.0)]})
    assert flat["layout"]["yaxis"]["range"] == [0, 100] and flat["layout"]["yaxis"]["rangemode"] == "tozero"
    ranking = plots.ranking_figure({"oracle": [(1, 0.0)], "random": [(1, 0.0)]})
    assert ranking["layout"]["yaxis"]["range"] == [0, 100]
    sizes = plots.size_figure({"pass@1": [("Tiny", 10**6, 0.0)]})
    assert sizes["layout"]["yaxis"]["range"] == [0, 100]


def test_a_chart_with_a_figure_above_zero_starts_at_zero_and_fits_its_data():
    low = plots.pass_at_k_figure({"T=0.8": [(1, 0.0018), (10, 0.0122)]})
    assert "range" not in low["layout"]["yaxis"] and low["layout"]["yaxis"]["rangemode"] == "tozero"
    assert low["data"][0]["y"] == [0.18, 1.22]


def test_the_size_chart_always_has_a_legend():
    one = plots.size_figure({"pass@1": [("A", 10**9, 0.3), ("B", 10**10, 0.5)]})
    assert one["layout"]["showlegend"] is True and [trace["name"] for trace in one["data"]] == ["pass@1"]
    two = plots.size_figure({"pass@1": [("A", 10**9, 0.3)], "pass@100": [("A", 10**9, 0.6)]})
    assert two["layout"]["showlegend"] is True and len(two["data"]) == 2
