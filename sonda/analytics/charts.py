"""ECharts options for the dashboards, built on the server.

A page embeds each option with `json_script` and `static/analytics/charts.js` hands it to
`echarts.init`: the content security policy allows no inline script, and keeping the options
here means what a chart shows is decided (and tested) in Python. Options hold data only, never
functions, so they survive JSON.

Figures below the minimum base are left out (null), never drawn: a chart must not show what
the table greys out (the heat map greys their cells, without a score). Each point carries
`url`, the responses behind it, which charts.js follows on a click.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sonda.analytics.stats import Measure, Score
from sonda.analytics.templatetags.dashboards import is_shown

BRAND = "#1b4f8a"
BAND = "#8fb3dd"
BELOW = "#b3261e"
ABOVE = "#1e7b34"
TOO_FEW = "#d9d9d9"
FLAG_MARKERS = {"below": "▼", "above": "▲"}
WEEKDAYS = (
    gettext_lazy("Mon"),
    gettext_lazy("Tue"),
    gettext_lazy("Wed"),
    gettext_lazy("Thu"),
    gettext_lazy("Fri"),
    gettext_lazy("Sat"),
    gettext_lazy("Sun"),
)


@dataclass(frozen=True)
class Point:
    """One figure of a chart: its label, its score, where its responses are, and its flag."""

    label: str
    score: Score
    url: str = ""
    flag: str = ""


def _scaled(value: float | None, measure: Measure) -> float | None:
    """Shares are drawn in percent, like the tables show them."""
    if value is None:
        return None
    return round(value * 100 if measure == Measure.SHARE else value, 2)


def _value(point: Point) -> float | None:
    return _scaled(point.score.shown_value, point.score.measure) if is_shown(point.score) else None


def _interval(point: Point) -> tuple[float | None, float | None]:
    if not is_shown(point.score):
        return None, None
    low = _scaled(point.score.low, point.score.measure)
    high = _scaled(point.score.high, point.score.measure)
    if low is None or high is None:
        return None, None
    return low, round(high - low, 2)


def _axis_name(measure: Measure | None) -> str:
    if measure == Measure.NPS:
        return _("NPS")
    if measure == Measure.SHARE:
        return _("Share (%)")
    return _("Mean")


def _measure(points: Sequence[Point]) -> Measure | None:
    return points[0].score.measure if points else None


def _band_series(lows: list[float | None], widths: list[float | None], kind: str) -> list[Any]:
    """The 95% interval as an invisible base plus a visible width, stacked ("all" stacks
    negative and positive values together, which NPS intervals below zero need)."""
    base: dict[str, Any] = {
        "type": kind,
        "stack": "interval",
        "stackStrategy": "all",
        "silent": True,
        "tooltip": {"show": False},
    }
    if kind == "line":
        hidden = {"lineStyle": {"opacity": 0}, "symbol": "none", "connectNulls": False}
        return [
            {**base, **hidden, "name": "low", "data": lows},
            {
                **base,
                **hidden,
                "name": _("95% interval"),
                "data": widths,
                "areaStyle": {"color": BAND, "opacity": 0.35},
            },
        ]
    return [
        {**base, "name": "low", "data": lows, "itemStyle": {"color": "transparent"}},
        {
            **base,
            "name": _("95% interval"),
            "data": widths,
            "itemStyle": {"color": BAND},
            "barMaxWidth": 18,
        },
    ]


def trend_chart(points: Sequence[Point], *, name: str) -> dict[str, Any]:
    """A line over periods with its 95% interval band; periods with too few answers are gaps."""
    intervals = [_interval(p) for p in points]
    return {
        "aria": {"enabled": True},
        "color": [BRAND],
        "grid": {"left": 8, "right": 16, "top": 24, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "category", "data": [p.label for p in points], "boundaryGap": False},
        "yAxis": {"type": "value", "scale": True, "name": _axis_name(_measure(points))},
        "series": [
            *_band_series([i[0] for i in intervals], [i[1] for i in intervals], "line"),
            {
                "name": name,
                "type": "line",
                "connectNulls": False,
                "data": [{"value": _value(p), "url": p.url} for p in points],
            },
        ],
    }


def _flag_colour(flag: str) -> str:
    return {"below": BELOW, "above": ABOVE}.get(flag, BRAND)


def ranked_chart(points: Sequence[Point], *, name: str) -> dict[str, Any]:
    """Horizontal interval bars with the score as a dot, one row per slice, flagged slices in
    their colour; rows with too few answers keep their label and stay empty."""
    intervals = [_interval(p) for p in points]
    labels = [p.label for p in points]
    return {
        "aria": {"enabled": True},
        "grid": {"left": 8, "right": 24, "top": 24, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "value", "scale": True, "name": _axis_name(_measure(points))},
        "yAxis": {
            "type": "category",
            "data": labels,
            "inverse": True,
            "axisLabel": {"width": 160, "overflow": "truncate"},
        },
        "series": [
            *_band_series([i[0] for i in intervals], [i[1] for i in intervals], "bar"),
            {
                "name": name,
                "type": "scatter",
                "symbolSize": 10,
                "data": [
                    {
                        "value": _value(p),
                        "url": p.url,
                        "itemStyle": {"color": _flag_colour(p.flag)},
                    }
                    for p in points
                ],
            },
        ],
    }


def heatmap_chart(cells: Sequence[tuple[int, int, Point]], *, name: str) -> dict[str, Any]:
    """Weekday (0 = Monday) × hour cells coloured by score. Cells with too few answers are
    grey, in a series of their own that the colour scale leaves alone (their value is their n,
    not a score). Flagged cells get a border in their colour and a ▼ or ▲, which reads without
    colour too. Every cell carries the url of its responses."""
    data: list[dict[str, Any]] = []
    too_few: list[dict[str, Any]] = []
    values: list[float] = []
    for weekday, hour, point in cells:
        value = _value(point)
        if value is None:
            too_few.append({"value": [hour, weekday, point.score.n], "url": point.url})
            continue
        values.append(value)
        item: dict[str, Any] = {"value": [hour, weekday, value], "url": point.url}
        if point.flag in FLAG_MARKERS:
            item["itemStyle"] = {"borderColor": _flag_colour(point.flag), "borderWidth": 3}
            item["label"] = {"show": True, "formatter": FLAG_MARKERS[point.flag]}
        data.append(item)
    low = min(values) if values else 0
    high = max(values) if values else 1
    series: list[dict[str, Any]] = [
        {"name": name, "type": "heatmap", "data": data, "label": {"show": False}}
    ]
    if too_few:
        series.append(
            {
                "name": _("Too few answers (n)"),
                "type": "heatmap",
                "data": too_few,
                "label": {"show": False},
                "itemStyle": {"color": TOO_FEW},
            }
        )
    return {
        "aria": {"enabled": True},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 56, "containLabel": True},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "category", "data": [f"{h:02d}" for h in range(24)], "name": _("Hour")},
        "yAxis": {"type": "category", "data": [str(day) for day in WEEKDAYS], "inverse": True},
        "visualMap": {
            "seriesIndex": 0,
            "min": low,
            "max": high if high > low else low + 1,
            "calculable": True,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
            "inRange": {"color": ["#f3d3cf", "#f7f4ea", "#cfe3f5", BRAND]},
        },
        "series": series,
    }
