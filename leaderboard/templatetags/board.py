from functools import lru_cache

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

register = template.Library()
_FORMATTER = HtmlFormatter(cssclass="code", nowrap=False)


@register.filter
def highlight(code: str) -> str:
    """Python source as highlighted HTML; Pygments escapes every character of the source."""
    return mark_safe(pygments_highlight(code or "", PythonLexer(), _FORMATTER))


@register.filter
def visible(text: str) -> str:
    """A string with its control characters written as Python writes them: a stop sequence "\\n"."""
    return text.encode("unicode_escape").decode("ascii")


@register.filter
def percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


@register.filter
def metric(results, name: str):
    """The result of one metric among a run's prefetched results."""
    return next((result for result in results if result.metric == name), None)


@register.filter
def lookup(mapping: dict, key):
    return mapping.get(key)


@register.filter
def interval(figure) -> str:
    """ "95% CI low–high" of a figure with a bootstrap interval, else nothing."""
    if figure is None or figure.ci_low is None or figure.ci_high is None:
        return ""
    return f"95% CI {percent(figure.ci_low)}–{percent(figure.ci_high)}"


@lru_cache(maxsize=1)
def runs_prefix() -> str:
    """ "/runs/": one reverse per process instead of one per cell of a 1,000-row table."""
    return reverse("run", args=[0]).removesuffix("0/")


def cell(figure, show_temperature: bool = False, extra: str = "", show_split: bool = True) -> str:
    """A table cell with a pass rate in percent, linked to its run; the interval shows on hover.

    Every part is a number, so the cell is put together without escaping, which a 1,000-row table
    would feel; `extra` must already be safe. The one text, a split other than the test split, is
    escaped (a few cells at most).
    """
    if figure is None:
        return '<td class="num"><span class="muted">–</span></td>'
    title = interval(figure)
    t = getattr(figure, "temperature", None)
    if t is not None:
        title = f"{title}, T={t:g}" if title else f"T={t:g}"
    temperature = f' <small class="t">T={t:g}</small>' if show_temperature and t is not None else ""
    coverage = getattr(figure, "coverage", "")  # made of numbers only
    if coverage:
        extra += f' <small class="coverage">{coverage}</small>'
    split = getattr(figure, "split", "") if show_split else ""
    if split:
        extra += format_html(
            ' <small class="split" title="{} split, not the test split">{}</small>', split, split
        )
    return (
        f'<td class="num fig{" partial" if coverage else ""}" title="{title}">'
        f'<a href="{runs_prefix()}{int(figure.run_id)}/">{percent(figure.value)}</a>{temperature}{extra}</td>'
    )


@register.simple_tag
def figure_cell(figure, show_temperature: bool = False) -> str:
    return mark_safe(cell(figure, show_temperature))


@register.simple_tag
def figure_cells(row, columns, show_temperature: bool | None = None) -> str:
    """Every figure cell of a board row: one tag call per row keeps a 1,000-row table quick to render."""
    return mark_safe(
        "".join(
            cell(
                row.figures.get(c.key),
                c.shows_temperature if show_temperature is None else show_temperature,
            )
            for c in columns
        )
    )


@register.simple_tag
def extension_cells(row, pairs) -> str:
    """A larger benchmark's figure (HumanEval+) and its drop from the base one, in points."""
    cells = []
    for extension, base in pairs:
        figure, before = row.figures.get(extension.key), row.figures.get(base.key)
        cells.append(cell(figure, True))
        if figure is None or before is None:
            cells.append('<td class="num drop"><span class="muted">–</span></td>')
        else:
            cells.append(f'<td class="num drop">{100 * (figure.value - before.value):+.1f}</td>')
    return mark_safe("".join(cells))


@register.simple_tag
def apps_cells(row, subsets) -> str:
    """Table 2's cells: each difficulty's figure, the same run's figure with timeouts in parentheses."""
    cells = []
    for subset in subsets:
        figure, timeouts = row.cells.get(subset, (None, None))
        extra = format_html(' <span class="muted">({})</span>', percent(timeouts.value)) if timeouts else ""
        cells.append(cell(figure, extra=extra, show_split=False))  # the row names its problems
    return mark_safe("".join(cells))


@register.filter
def size(parameters: int | None) -> str:
    """A parameter count the way papers write it: 350M, 6.7B."""
    if parameters is None:
        return ""
    for unit, scale in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if parameters >= scale:
            return f"{parameters / scale:.3g}{unit}"
    return str(parameters)
