"""The paper's figures as Plotly JSON (plain dicts), built from selector output without queries.

Text that reaches Plotly is HTML-escaped: Plotly renders a few tags (<b>, <a>, <br>) in labels, so
a model called "<a href=...>" must arrive as entities, which Plotly shows as plain characters.
"""

from __future__ import annotations

import html
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from evaluation.metrics import pass_at_k

COLORS = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|\S")


def curve_ks(n: int, points: int = 24) -> list[int]:
    """Every k up to 10, then about log-spaced up to n: a smooth curve on a log axis for little work."""
    ks = {k for k in range(1, min(n, 10) + 1)}
    ks |= {min(n, max(1, round(n ** (i / points)))) for i in range(points + 1)}
    return sorted(ks | {n}) if n >= 1 else []


def pass_at_k_curve(
    counts: Sequence[tuple[int, int]], ks: Iterable[int] | None = None
) -> list[tuple[int, float]]:
    """Mean pass@k over problems for each k within the smallest n; equal (n, c) pairs are computed once."""
    if not counts:
        return []
    smallest = min(n for n, _ in counts)
    pairs = Counter(counts)
    total = len(counts)
    ks = [k for k in (ks or curve_ks(smallest)) if 1 <= k <= smallest]
    return [(k, sum(m * pass_at_k(n, c, k) for (n, c), m in pairs.items()) / total) for k in ks]


def best_temperatures(curves: dict[float, list[tuple[int, float]]]) -> list[tuple[int, float]]:
    """For each k, the temperature whose curve is highest there (Figure 5, right)."""
    best: dict[int, tuple[float, float]] = {}
    for temperature, points in curves.items():
        for k, value in points:
            if k not in best or value > best[k][0]:
                best[k] = (value, temperature)
    return [(k, best[k][1]) for k in sorted(best)]


def tokens(code: str) -> list[str]:
    return TOKEN.findall(code)


def bleu(candidate: str, reference: str, max_n: int = 4) -> float:
    """Sentence-level BLEU-4 in 0..100 on code tokens, add-one smoothed above unigrams (Lin and Och)."""
    hypothesis, truth = tokens(candidate), tokens(reference)
    if not hypothesis or not truth:
        return 0.0
    log_precision = 0.0
    for n in range(1, max_n + 1):
        grams = Counter(tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n + 1))
        truth_grams = Counter(tuple(truth[i : i + n]) for i in range(len(truth) - n + 1))
        matches = sum(min(count, truth_grams[gram]) for gram, count in grams.items())
        possible = sum(grams.values())
        if n == 1:
            if matches == 0:
                return 0.0
            log_precision += math.log(matches / possible)
        else:
            log_precision += math.log((matches + 1) / (possible + 1))
    brevity = min(0.0, 1 - len(truth) / len(hypothesis))
    return 100 * math.exp(brevity + log_precision / max_n)


def _layout(title: str, xaxis: dict, yaxis: dict) -> dict:
    return {
        "title": {"text": title},
        "xaxis": xaxis,
        "yaxis": yaxis,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        "height": 380,
    }


def label(text: str) -> str:
    return html.escape(text)


def percent_axis(title: str, data: list[dict]) -> dict:
    """A pass-rate axis from 0: Plotly centres a flat line of zeros on 0 (an axis from -1 to 1), so
    when every value is 0 the axis spans the whole 0-100% range instead."""
    values = [y for trace in data for y in trace["y"]]
    axis = {"title": {"text": title}, "rangemode": "tozero"}
    if not any(values):
        axis["range"] = [0, 100]
    return axis


def pass_at_k_figure(curves: dict[str, list[tuple[int, float]]]) -> dict:
    """Figure 5, left: pass@k against k, one line per run (named by its temperature)."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": label(name),
            "x": [k for k, _ in points],
            "y": [100 * value for _, value in points],
            "line": {"color": COLORS[i % len(COLORS)]},
        }
        for i, (name, points) in enumerate(curves.items())
    ]
    return {
        "data": data,
        "layout": _layout(
            "pass@k against k", {"title": {"text": "k"}, "type": "log"}, percent_axis("pass@k (%)", data)
        ),
    }


def best_temperature_figure(points: list[tuple[int, float]]) -> dict:
    """Figure 5, right: the best sampling temperature for each k."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "best temperature",
            "x": [k for k, _ in points],
            "y": [t for _, t in points],
            "line": {"shape": "hv", "color": COLORS[1]},
        }
    ]
    return {
        "data": data,
        "layout": _layout(
            "Best temperature for each k",
            {"title": {"text": "k"}, "type": "log"},
            {"title": {"text": "temperature"}, "rangemode": "tozero"},
        ),
    }


def size_figure(points: dict[str, list[tuple[str, int, float]]]) -> dict:
    """Figure 6: pass@k against the number of parameters on a log axis, one series per k."""
    data = [
        {
            "type": "scatter",
            "mode": "markers+lines",
            "name": label(metric),
            "x": [parameters for _, parameters, _ in sorted(series, key=lambda p: p[1])],
            "y": [100 * value for _, _, value in sorted(series, key=lambda p: p[1])],
            "text": [label(name) for name, _, _ in sorted(series, key=lambda p: p[1])],
            "hovertemplate": "%{text}<br>%{x:.3s} parameters<br>%{y:.1f}%<extra></extra>",
            "line": {"color": COLORS[i % len(COLORS)]},
        }
        for i, (metric, series) in enumerate(points.items())
    ]
    layout = _layout(
        "HumanEval against model size",
        {"title": {"text": "parameters"}, "type": "log"},
        percent_axis("pass rate (%)", data),
    )
    layout["showlegend"] = True  # Plotly hides the legend of a single series: say which k it is
    return {"data": data, "layout": layout}


RANKING_NAMES = {
    "oracle": "Oracle (pass@k)",
    "mean_logprob": "Highest mean log p",
    "sum_logprob": "Highest sum log p",
    "back_translation": "Back-translation",
    "random": "Random (pass@1)",
}


def outcome_figure(counts: dict[str, dict[str, int]]) -> dict:
    """Why samples fail: the share of each outcome class, one horizontal bar per run (or problem)."""
    from evaluation.outcomes import ordered

    classes = ordered({outcome for row in counts.values() for outcome in row})
    names = list(counts)
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": label(outcome),
            "y": [label(name) for name in names],
            "x": [100 * counts[name].get(outcome, 0) / (sum(counts[name].values()) or 1) for name in names],
            "marker": {"color": COLORS[i % len(COLORS)]},
        }
        for i, outcome in enumerate(classes)
    ]
    layout = _layout(
        "Why samples fail",
        {"title": {"text": "share of samples (%)"}, "range": [0, 100]},
        {"title": {"text": ""}},
    )
    return {"data": data, "layout": {**layout, "barmode": "stack"}}


def ranking_figure(curves: dict[str, list[tuple[int, float]]]) -> dict:
    """Figure 7: the pass rate of one chosen sample against the number of samples drawn."""
    order = [name for name in RANKING_NAMES if name in curves] + sorted(set(curves) - set(RANKING_NAMES))
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": label(RANKING_NAMES.get(name, name)),
            "x": [k for k, _ in curves[name]],
            "y": [100 * value for _, value in curves[name]],
            "line": {
                "color": COLORS[i % len(COLORS)],
                "dash": "dot" if name in ("oracle", "random") else "solid",
            },
        }
        for i, name in enumerate(order)
    ]
    return {
        "data": data,
        "layout": _layout(
            "Ranking heuristics against the number of samples",
            {"title": {"text": "number of samples k"}, "type": "log"},
            percent_axis("pass rate of the chosen sample (%)", data),
        ),
    }


def bleu_figure(correct: list[float], incorrect: list[float]) -> dict:
    """Figure 8: BLEU against the canonical solution, of the correct and of the incorrect samples."""
    data = [
        {
            "type": "box",
            "name": name,
            "y": scores,
            "boxpoints": "all",
            "jitter": 0.4,
            "pointpos": 0,
            "marker": {"color": color},
        }
        for name, scores, color in (("correct", correct, COLORS[2]), ("incorrect", incorrect, COLORS[1]))
        if scores
    ]
    return {
        "data": data,
        "layout": _layout(
            "BLEU of correct and incorrect samples", {}, {"title": {"text": "BLEU"}, "range": [0, 100]}
        ),
    }
