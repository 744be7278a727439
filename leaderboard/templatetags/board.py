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
def percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


@register.filter
def figure(row, key: str):
    return row.figures.get(key)


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


@register.simple_tag
def figure_cell(figure, show_temperature: bool = False) -> str:
    """A table cell with a pass rate in percent, linked to its run; the interval shows on hover."""
    if figure is None:
        return mark_safe('<td class="num"><span class="muted">–</span></td>')
    title = interval(figure)
    t = getattr(figure, "temperature", None)
    if t is not None:
        title = f"{title}, T={t:g}" if title else f"T={t:g}"
    temperature = (
        format_html(' <small class="t">T={}</small>', f"{t:g}") if show_temperature and t is not None else ""
    )
    return format_html(
        '<td class="num fig" title="{}"><a href="{}">{}</a>{}</td>',
        title,
        reverse("run", args=[figure.run_id]),
        percent(figure.value),
        temperature,
    )


@register.filter
def size(parameters: int | None) -> str:
    """A parameter count the way papers write it: 350M, 6.7B."""
    if parameters is None:
        return ""
    for unit, scale in (("T", 10**12), ("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if parameters >= scale:
            return f"{parameters / scale:.3g}{unit}"
    return str(parameters)
