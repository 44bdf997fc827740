"""A period's report as one self-contained HTML file: headline measures, the units, a trend.

Everything the file shows is in the file: inline CSS and charts drawn here as inline SVG, no
script, font or image fetched from anywhere, so it can be mailed or archived and still read the
same. Figures come from the metrics facade with the reader's scope (a manager's report covers
their subtree); below the minimum base a figure reads "too few answers".
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.analytics.metrics import (
    MetricQuery,
    MetricRow,
    MetricTable,
    metric_table,
    period_range,
    unit_filter_path,
)
from sonda.analytics.queries import Dimension, Filters, Metric, Period
from sonda.core.errors import NotFound, ValidationFailed
from sonda.org.models import Unit
from sonda.surveys.models import Question

TREND_MONTHS = 12
_KIND_ORDER = ("nps", "csat", "ces", "rating", "yes_no")
_HEADLINE_KINDS = frozenset(_KIND_ORDER)


@dataclass(frozen=True)
class Report:
    organisation: str
    period: str
    start: date
    end: date
    unit_name: str
    headlines: list[MetricTable]
    by_unit: MetricTable | None
    trend: MetricTable | None


def unit_by_code(*, scope: Scope, code: str) -> Unit:
    """The organisation's unit with this code, within a manager's subtree."""
    unit = Unit.objects.filter(organisation_id=scope.organisation_id, code=code).first()
    if unit is None:
        raise ValidationFailed.on("unit", f"no unit '{code}'")
    try:
        unit_filter_path(scope=scope, unit_id=unit.pk)
    except NotFound as exc:
        raise ValidationFailed.on("unit", f"no unit '{code}'") from exc
    return unit


def _headline_questions(scope: Scope) -> list[str]:
    """The organisation's measured question keys (not those about competitors), NPS first."""
    keys = (
        Question.objects.filter(
            organisation_id=scope.organisation_id, kind__in=list(_HEADLINE_KINDS), competitor=""
        )
        .values_list("key", "kind")
        .distinct()
        .order_by()
    )
    kinds: dict[str, str] = {}
    for key, kind in keys:
        kinds.setdefault(key, kind)
    return sorted(kinds, key=lambda k: (_KIND_ORDER.index(kinds[k]), k))


def report_build(*, scope: Scope, period: str, unit_code: str = "", question: str = "") -> Report:
    """The report of `period` (2026-Q3, 2026-09, 2026, 2026-W36), for a unit's subtree when a
    code is given: each measured question's figure and change against the previous period,
    the main question (`question`, else the first NPS one) by unit with below/above flags, and
    its monthly trend over the twelve months to the period's end."""
    start, end = period_range(period)
    unit_name = ""
    unit_path = ""
    if unit_code:
        unit = unit_by_code(scope=scope, code=unit_code)
        unit_name, unit_path = unit.name, unit.path
    filters = Filters(unit_path=unit_path, start=start, end=end)
    keys = _headline_questions(scope)
    if question and question not in keys:
        raise ValidationFailed.on("question", f"no measured question '{question}'")
    headlines: list[MetricTable] = []
    for key in keys:
        table = metric_table(
            scope=scope, query=MetricQuery(question=key, filters=filters, compare_previous=True)
        )
        previous = table.overall.previous
        if table.overall.score.n or (previous is not None and previous.n):
            headlines.append(table)
    main = question or (headlines[0].measure.question_key if headlines else "")
    by_unit = trend = None
    if main:
        by_unit = metric_table(
            scope=scope,
            query=MetricQuery(
                question=main,
                by=(Dimension.UNIT,),
                filters=filters,
                compare_previous=True,
                flag_below_average=True,
            ),
        )
        first_month = _months_back(end.replace(day=1), TREND_MONTHS - 1)
        trend = metric_table(
            scope=scope,
            query=MetricQuery(
                question=main,
                period=Period.MONTH,
                filters=Filters(unit_path=unit_path, start=first_month, end=end),
            ),
        )
    return Report(
        organisation=scope.organisation.name,
        period=period.strip().upper(),
        start=start,
        end=end,
        unit_name=unit_name,
        headlines=headlines,
        by_unit=by_unit,
        trend=trend,
    )


def _months_back(first_day: date, months: int) -> date:
    index = first_day.year * 12 + first_day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


# --- Figures as text ----------------------------------------------------------------------------


def format_value(value: float | None, metric: Metric) -> str:
    """NPS in points (+12.3), shares in percent (81.0%), means with two decimals."""
    if value is None:
        return "—"
    if metric == Metric.NPS:
        return f"{value:+.1f}"
    if metric in (Metric.TOP_BOX, Metric.YES_SHARE):
        return f"{100 * value:.1f}%"
    return f"{value:.2f}"


def format_change(value: float | None, metric: Metric) -> str:
    if value is None:
        return "—"
    if metric in (Metric.TOP_BOX, Metric.YES_SHARE):
        return f"{100 * value:+.1f} pp"
    if metric == Metric.NPS:
        return f"{value:+.1f}"
    return f"{value:+.2f}"


def _row_view(row: MetricRow, metric: Metric) -> dict[str, Any]:
    score, previous, change = row.score, row.previous, row.change
    comparable = (
        change is not None and previous is not None and not previous.too_few and not score.too_few
    )
    return {
        "label": " · ".join(row.labels),
        "n": score.n,
        "too_few": score.too_few,
        "value": format_value(score.shown_value, metric),
        "interval": (
            f"{format_value(score.low, metric)} … {format_value(score.high, metric)}"
            if not score.too_few and score.low is not None
            else ""
        ),
        "previous": format_value(previous.shown_value, metric) if previous else "—",
        "change": format_change(change.difference, metric) if comparable and change else "—",
        "p_value": _p(change.p_value) if comparable and change else "",
        "significant": bool(comparable and change and (change.p_value or 1) < 0.05),
        "flag": row.flag,
        "p_adjusted": _p(row.p_adjusted),
    }


def _p(value: float | None) -> str:
    if value is None:
        return ""
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


_METRIC_NAMES = {
    Metric.NPS: "NPS",
    Metric.TOP_BOX: "top box",
    Metric.MEAN: "mean",
    Metric.YES_SHARE: "yes",
}


def _metric_name(table: MetricTable) -> str:
    return f"{table.measure.question_key} ({_METRIC_NAMES[table.measure.metric]})"


# --- Charts as inline SVG -----------------------------------------------------------------------


def _domain(metric: Metric, rows: Sequence[MetricRow]) -> tuple[float, float]:
    if metric == Metric.NPS:
        return -100.0, 100.0
    if metric in (Metric.TOP_BOX, Metric.YES_SHARE):
        return 0.0, 1.0
    ends = [v for r in rows for v in (r.score.low, r.score.high, r.score.value) if v is not None]
    if not ends:
        return 0.0, 1.0
    low, high = min(ends), max(ends)
    pad = (high - low) * 0.1 or 1.0
    return low - pad, high + pad


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{_escape(label)}">'
    )


def units_svg(table: MetricTable) -> str:
    """Each unit's figure as a dot on its 95% interval, the overall figure as a line; small
    bases get no dot, only "too few answers"."""
    metric = table.measure.metric
    rows = table.rows
    label_width, width, row_height, top = 160, 620, 22, 24
    plot = width - label_width - 20
    low, high = _domain(metric, rows)

    def x(value: float) -> float:
        return label_width + (value - low) / (high - low) * plot

    height = top + row_height * len(rows) + 10
    parts = [_svg_open(width, height, _("Figures by unit with 95% intervals"))]
    for tick in (low, (low + high) / 2, high):
        parts.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" y2="{height - 6}" '
            'class="grid"/>'
            f'<text x="{x(tick):.1f}" y="{top - 10}" class="tick">'
            f"{_escape(format_value(tick, metric))}</text>"
        )
    overall = table.overall.score.shown_value
    if overall is not None:
        parts.append(
            f'<line x1="{x(overall):.1f}" y1="{top - 6}" x2="{x(overall):.1f}" '
            f'y2="{height - 6}" class="overall"/>'
        )
    for i, row in enumerate(rows):
        y = top + i * row_height + row_height / 2
        score = row.score
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 4:.1f}" class="label">'
            f"{_escape(' · '.join(row.labels))}</text>"
        )
        if score.too_few or score.value is None:
            parts.append(
                f'<text x="{label_width + 4}" y="{y + 4:.1f}" class="few">'
                f"{_escape(_('too few answers'))} (n = {score.n})</text>"
            )
            continue
        css = {"below": "below", "above": "above"}.get(row.flag, "dot")
        if score.low is not None and score.high is not None:
            parts.append(
                f'<line x1="{x(score.low):.1f}" y1="{y:.1f}" x2="{x(score.high):.1f}" '
                f'y2="{y:.1f}" class="whisker"/>'
            )
        parts.append(f'<circle cx="{x(score.value):.1f}" cy="{y:.1f}" r="4" class="{css}"/>')
    parts.append("</svg>")
    return "".join(parts)


def trend_svg(table: MetricTable) -> str:
    """The monthly figure as a line over its 95% interval band; months below the minimum base
    are left out of the line and marked with a hollow circle."""
    metric = table.measure.metric
    rows = table.rows
    width, height, left, top, bottom = 620, 220, 50, 16, 34
    plot_w, plot_h = width - left - 16, height - top - bottom
    low, high = _domain(metric, rows)
    # Placed by calendar month, so a month without answers leaves its gap.
    months = [r.key[-1].year * 12 + r.key[-1].month for r in rows]
    span = max(1, months[-1] - months[0]) if months else 1

    def x(i: int) -> float:
        return left + (months[i] - months[0]) / span * plot_w

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    parts = [_svg_open(width, height, _("Monthly trend with 95% intervals"))]
    for tick in (low, (low + high) / 2, high):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - 16}" y2="{y(tick):.1f}" '
            'class="grid"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" class="label">'
            f"{_escape(format_value(tick, metric))}</text>"
        )
    shown = [
        (i, r.score)
        for i, r in enumerate(rows)
        if not r.score.too_few and r.score.value is not None
    ]
    band = [(i, s) for i, s in shown if s.low is not None and s.high is not None]
    if len(band) > 1:
        upper = [f"{x(i):.1f},{y(s.high or 0):.1f}" for i, s in band]
        lower = [f"{x(i):.1f},{y(s.low or 0):.1f}" for i, s in reversed(band)]
        parts.append(f'<polygon points="{" ".join(upper + lower)}" class="band"/>')
    if len(shown) > 1:
        points = " ".join(f"{x(i):.1f},{y(s.value or 0):.1f}" for i, s in shown)
        parts.append(f'<polyline points="{points}" class="line"/>')
    for i, row in enumerate(rows):
        score = row.score
        if score.value is not None and not score.too_few:
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(score.value):.1f}" r="3" class="dot"/>')
        else:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{top + plot_h:.1f}" r="3" class="few-dot">'
                f"<title>{_escape(_('too few answers'))} (n = {score.n})</title></circle>"
            )
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 14}" class="tick">{_escape(row.labels[-1])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- Output -------------------------------------------------------------------------------------


def report_html(report: Report) -> str:
    """The report as one HTML document with nothing outside it."""
    headlines = [
        {"name": _metric_name(t), **_row_view(t.overall, t.measure.metric)}
        for t in report.headlines
    ]
    context: dict[str, Any] = {
        "report": report,
        "headlines": headlines,
        "previous_range": report.headlines[0].previous_range if report.headlines else None,
    }
    if report.by_unit is not None:
        metric = report.by_unit.measure.metric
        context["main_name"] = _metric_name(report.by_unit)
        context["units"] = [_row_view(r, metric) for r in report.by_unit.rows]
        context["units_svg"] = units_svg(report.by_unit) if report.by_unit.rows else ""
        context["min_base"] = report.by_unit.measure.min_base
    if report.trend is not None and report.trend.rows:
        context["trend_svg"] = trend_svg(report.trend)
    return render_to_string("analytics/report.html", context)


CSV_COLUMNS = [
    "unit_id",
    "unit",
    "question",
    "metric",
    "n",
    "value",
    "low",
    "high",
    "too_few",
    "min_base",
    "previous_n",
    "previous_value",
    "change",
    "change_low",
    "change_high",
    "p_value",
    "flag",
    "p_adjusted",
]


def report_csv_rows(report: Report) -> list[dict[str, Any]]:
    """The by-unit table underneath the report; figures below the minimum base are empty."""
    table = report.by_unit
    if table is None:
        return []
    out: list[dict[str, Any]] = []
    for row in [*table.rows, table.overall]:
        score, previous, change = row.score, row.previous, row.change
        comparable = previous is not None and not previous.too_few and not score.too_few
        out.append(
            {
                "unit_id": row.key[0] if row.key else "",
                "unit": " · ".join(row.labels),
                "question": table.measure.question_key,
                "metric": table.measure.metric.value,
                "n": score.n,
                "value": _number(score.shown_value),
                "low": _number(None if score.too_few else score.low),
                "high": _number(None if score.too_few else score.high),
                "too_few": "yes" if score.too_few else "no",
                "min_base": score.base_min,
                "previous_n": previous.n if previous is not None else "",
                "previous_value": _number(previous.shown_value) if previous else "",
                "change": _number(change.difference) if comparable and change else "",
                "change_low": _number(change.low) if comparable and change else "",
                "change_high": _number(change.high) if comparable and change else "",
                "p_value": _number(change.p_value) if comparable and change else "",
                "flag": row.flag,
                "p_adjusted": _number(row.p_adjusted),
            }
        )
    return out


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def report_write(report: Report, *, out: Path, csv_out: Path | None = None) -> None:
    out.write_text(report_html(report), encoding="utf-8")
    if csv_out is not None:
        with csv_out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(report_csv_rows(report))
