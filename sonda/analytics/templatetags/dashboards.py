"""Figures as the dashboards show them: never without their base, never from too few answers.

`{% score s %}` renders a value with its 95% interval and n, or a greyed "too few answers
(n = 12)" with no number at all when the base is below the program's minimum; `{% change d %}`
renders a difference with its p-value and whether it is significant.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from sonda.analytics.significance import Difference
from sonda.analytics.stats import Measure, Score

register = template.Library()

SIGNIFICANCE = 0.05


def figure(value: float, measure: Measure) -> str:
    """A score as people read it: NPS in whole points (signed), shares in percent, means with two
    decimals."""
    if measure == Measure.NPS:
        return f"{value:+.0f}"
    if measure == Measure.SHARE:
        return f"{value * 100:.0f}%"
    return f"{value:.2f}"


def difference_figure(value: float, measure: Measure) -> str:
    """A change: NPS points, percentage points for shares, the measure's units for means."""
    if measure == Measure.NPS:
        return _("%(value)s points") % {"value": f"{value:+.1f}"}
    if measure == Measure.SHARE:
        return _("%(value)s pp") % {"value": f"{value * 100:+.1f}"}
    return f"{value:+.2f}"


def p_value_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def is_shown(score: Score | None) -> bool:
    return score is not None and not score.too_few and score.shown_value is not None


@register.simple_tag
def score(value: Score | None) -> SafeString:
    """The score with its interval and n, or "too few answers (n = …)" greyed, with no number."""
    if value is None or value.n == 0:
        return format_html('<span class="score score-none muted">{}</span>', _("no answers"))
    shown = value.shown_value
    if value.too_few or shown is None:
        return format_html(
            '<span class="score score-too-few muted">{}</span>',
            _("too few answers (n = %(n)s)") % {"n": value.n},
        )
    interval = ""
    if value.low is not None and value.high is not None:
        interval = _("%(low)s to %(high)s") % {
            "low": figure(value.low, value.measure),
            "high": figure(value.high, value.measure),
        }
    base = _("n = %(n)s") % {"n": value.n}
    if value.effective_n is not None:
        base = _("n = %(n)s, effective %(effective)s") % {
            "n": value.n,
            "effective": f"{value.effective_n:.0f}",
        }
    return format_html(
        '<span class="score"><strong class="score-value">{}</strong> '
        '<span class="score-interval">({})</span> <span class="score-n">{}</span></span>',
        figure(shown, value.measure),
        interval or _("no interval"),
        base,
    )


@register.simple_tag
def change(value: Difference | None) -> SafeString:
    """The change against the previous period with its p-value; "significant" when p < 0.05.
    A change is only shown when both periods could be tested."""
    if value is None or value.difference is None or value.p_value is None:
        return format_html('<span class="change change-none muted">{}</span>', _("no comparison"))
    significant = value.p_value < SIGNIFICANCE
    return format_html(
        '<span class="change{}">{} <span class="change-p">({})</span>{}</span>',
        " change-significant" if significant else "",
        difference_figure(value.difference, value.measure),
        p_value_text(value.p_value),
        format_html(' <span class="badge">{}</span>', _("significant")) if significant else "",
    )


@register.filter
def shown(value: Score | None) -> bool:
    """Whether a score may be shown as a number."""
    return is_shown(value)


@register.filter
def p_value(value: float | None) -> str:
    return "—" if value is None else p_value_text(value)


@register.filter
def effect(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"
