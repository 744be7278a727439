from django import template
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
def figure(row, metric: str):
    return row.figures.get(metric)
