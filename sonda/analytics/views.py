"""The dashboards: the organisation's overview, units, employees, weekday × hour and the slices
below (or above) the rest.

Every figure comes from `sonda.analytics.metrics` under the request's Scope, so a manager's
pages count only their subtree's answers and a frontline employee's only their own. Each table
row and chart point links to the responses list with the filters that select the answers
behind it: the period, survey, channel and employee of the page, and the slice's own value —
its unit (the unit alone, or with its subtree on a roll-up), employee, channel, touchpoint,
journey, stage, language, survey, program, or its weekday and hour, which the list reads on the
organisation's clock from the answers' time just as the analytics layer does. The list opens
under the reader's own scope, so a link never shows more than the figure counted.

What a link cannot narrow: a slice of answers without a value (no unit, no journey…) opens
every response of the page's filters, and responses whose headline question was left
unanswered are listed although the figure does not count them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sonda.accounts.access import READ_WHOLE_ORGANISATION, Scope
from sonda.accounts.models import Role
from sonda.analytics import charts
from sonda.analytics.charts import Point
from sonda.analytics.forms import (
    BELOW_AVERAGE_DIMENSIONS,
    BelowAverageForm,
    Choice,
    DashboardFilterForm,
    UnitFilterForm,
    segment_dimension_label,
)
from sonda.analytics.metrics import (
    MetricQuery,
    MetricRow,
    metric_table,
    metric_tables,
    side_by_side,
)
from sonda.analytics.queries import Dimension, Period, period_of
from sonda.analytics.scope import organisation_time_zone
from sonda.analytics.significance import Difference
from sonda.analytics.stats import Score
from sonda.loop.selectors import praise_list
from sonda.org.models import Person
from sonda.org.selectors import person_get, unit_list
from sonda.web.pages import scoped_page

# Managers read their subtree's dashboards; frontline employees read only their own figures.
DASHBOARD_READERS = READ_WHOLE_ORGANISATION | frozenset({Role.MANAGER})
EMPLOYEE_READERS = DASHBOARD_READERS | frozenset({Role.FRONTLINE})
FLAGS = ("below", "above")

# Which responses-list filter selects the answers of a slice of each dimension.
_RESPONSE_FILTER = {
    Dimension.UNIT: "unit",
    Dimension.EMPLOYEE: "employee",
    Dimension.CHANNEL: "channel",
    Dimension.TOUCHPOINT: "touchpoint",
    Dimension.JOURNEY: "journey",
    Dimension.STAGE: "stage",
    Dimension.LANGUAGE: "language",
    Dimension.SURVEY: "survey",
    Dimension.PROGRAM: "program",
    Dimension.WEEKDAY: "weekday",  # 0 = Monday, as the list reads it
    Dimension.HOUR: "hour",
}


@dataclass(frozen=True)
class Line:
    """One row of a dashboard table: what it is, its figure, and where its responses are."""

    label: str
    score: Score
    url: str
    flag: str = ""
    change: Difference | None = None
    previous: Score | None = None
    p_adjusted: float | None = None
    effect: float | None = None
    page: str = ""  # the dashboard of the row's own subject, e.g. an employee's

    @property
    def flagged(self) -> bool:
        return self.flag in FLAGS

    def point(self) -> Point:
        return Point(label=self.label, score=self.score, url=self.url, flag=self.flag)


# --- Drill-down links ---------------------------------------------------------------------------


def responses_url(choice: Choice, **narrower: Any) -> str:
    """The responses list with the dashboard's filters and `narrower` ones (None: left out)."""
    params: dict[str, Any] = {
        "survey": choice.survey.pk if choice.survey else None,
        "channel": choice.filters.channel or None,
        "employee": choice.filters.employee_id,
        "completed_from": choice.date_from.isoformat(),
        "completed_to": choice.date_to.isoformat(),
    }
    params.update(narrower)
    kept = {name: value for name, value in params.items() if value not in (None, "")}
    return f"{reverse('responses:list')}?{urlencode(kept)}"


def _month_end(first: date) -> date:
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _slice_url(
    choice: Choice, dimensions: Sequence[Dimension], key: Sequence[Any], *, rollup: bool = False
) -> str:
    narrower: dict[str, Any] = {}
    for dimension, value in zip(dimensions, key, strict=False):
        name = _RESPONSE_FILTER.get(dimension)
        if name is not None and value is not None:
            narrower[name] = value
    if "unit" in narrower and not rollup:
        # A unit's row counts its own answers; the list's unit filter takes its subtree.
        narrower["unit_only"] = 1
    return responses_url(choice, **narrower)


# --- Labels -------------------------------------------------------------------------------------


def _key_label(dimension: Dimension, value: Any, row_label: str) -> str:
    if dimension == Dimension.WEEKDAY and isinstance(value, int):
        return str(charts.WEEKDAYS[value % 7])
    if dimension == Dimension.HOUR and isinstance(value, int):
        return f"{value:02d}:00–{value:02d}:59"
    if row_label:
        return row_label
    return _("(none)") if value in (None, "") else str(value)


def _label(row: MetricRow, dimensions: Sequence[Dimension]) -> str:
    parts = []
    for index, dimension in enumerate(dimensions):
        value = row.key[index] if index < len(row.key) else None
        row_label = row.labels[index] if index < len(row.labels) else ""
        parts.append(_key_label(dimension, value, row_label))
    return " · ".join(parts)


def _line(row: MetricRow, *, label: str, url: str) -> Line:
    return Line(
        label=label,
        score=row.score,
        url=url,
        flag=row.flag if row.flag in FLAGS else "",
        change=row.change,
        previous=row.previous,
        p_adjusted=row.p_adjusted,
        effect=row.effect,
    )


def _lines(
    rows: Sequence[MetricRow],
    choice: Choice,
    dimensions: Sequence[Dimension],
    page: Callable[[tuple[Any, ...]], str] | None = None,
    *,
    rollup: bool = False,
) -> list[Line]:
    return [
        replace(
            _line(
                row,
                label=_label(row, dimensions),
                url=_slice_url(choice, dimensions, row.key, rollup=rollup),
            ),
            page=page(row.key) if page is not None else "",
        )
        for row in rows
    ]


def ranked(lines: Sequence[Line]) -> list[Line]:
    """Best first; figures with too few answers last (they have no rank to show)."""

    def order(line: Line) -> tuple[int, float]:
        value = line.score.shown_value
        return (1, 0.0) if value is None else (0, -value)

    return sorted(lines, key=order)


# --- Building blocks ----------------------------------------------------------------------------


def _headlines(scope: Scope, choice: Choice) -> list[Line]:
    """The overall figure of each NPS, CSAT and CES question, with its change."""
    out = []
    for question in choice.headline_questions:
        table = metric_table(
            scope=scope,
            query=MetricQuery(question=question.key, filters=choice.filters, compare_previous=True),
        )
        out.append(_line(table.overall, label=choice.label(question), url=responses_url(choice)))
    return out


def _trend(scope: Scope, choice: Choice) -> list[Line]:
    if choice.question is None:
        return []
    table = metric_table(
        scope=scope,
        query=MetricQuery(
            question=choice.question.key, period=Period.MONTH, filters=choice.filters
        ),
    )
    lines = []
    for row in table.rows:
        first = row.key[-1] if row.key else None
        if not isinstance(first, date):
            continue
        month = period_of(first, Period.MONTH)
        url = responses_url(
            choice,
            completed_from=max(month, choice.date_from).isoformat(),
            completed_to=min(_month_end(month), choice.date_to).isoformat(),
        )
        lines.append(_line(row, label=month.strftime("%Y-%m"), url=url))
    return lines


def dashboard_subject(scope: Scope) -> str:
    """Whose results the dashboards show: a manager's unit (their figures count its subtree
    only), else the organisation."""
    if scope.role == Role.MANAGER and scope.unit_path:
        unit = unit_list(scope=scope).filter(path=scope.unit_path).values_list("name", flat=True)
        name = unit.first()
        if name:
            return name
    return scope.organisation.name


def _context(form: DashboardFilterForm, choice: Choice, **extra: Any) -> dict[str, Any]:
    question_label = choice.label(choice.question) if choice.question else ""
    return {
        "form": form,
        "choice": choice,
        "question_label": question_label,
        **extra,
    }


def _by(
    scope: Scope,
    choice: Choice,
    dimensions: tuple[Dimension, ...],
    *,
    rollup: bool = False,
    page: Callable[[tuple[Any, ...]], str] | None = None,
) -> list[Line]:
    if choice.question is None:
        return []
    table = metric_table(
        scope=scope,
        query=MetricQuery(
            question=choice.question.key,
            by=dimensions,
            filters=choice.filters,
            flag_below_average=True,
            rollup=rollup,
        ),
    )
    return _lines(table.rows, choice, dimensions, page, rollup=rollup)


def _by_segment(scope: Scope, choice: Choice, attribute: str) -> list[Line]:
    """A line per value of a customer attribute, flagged against the rest. The responses list
    has no segment filter: a line links to the responses of the period and survey."""
    if choice.question is None:
        return []
    table = metric_table(
        scope=scope,
        query=MetricQuery(
            question=choice.question.key,
            segment_by=attribute,
            filters=choice.filters,
            flag_below_average=True,
        ),
    )
    return [_line(row, label=row.labels[0], url=responses_url(choice)) for row in table.rows]


# --- Pages --------------------------------------------------------------------------------------


@require_GET
@scoped_page
def overview(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(DASHBOARD_READERS, "read the dashboards")
    form = DashboardFilterForm(request.GET, scope=scope)
    choice = form.choice()
    headlines = _headlines(scope, choice) if choice.survey else []
    trend = _trend(scope, choice)
    # Programs and competitors are compared across surveys: the survey filter would leave one
    # side of the comparison empty.
    compared = side_by_side(scope=scope, filters=replace(choice.filters, survey_id=None))
    relationship = [
        _line(row, label=" · ".join(row.labels), url=responses_url(choice, survey=None))
        for row in compared.programs
    ]
    competitors = [
        _line(row, label=" · ".join(row.labels), url=responses_url(choice, survey=None))
        for row in compared.competitors
    ]
    name = _("Score")
    return render(
        request,
        "analytics/overview.html",
        _context(
            form,
            choice,
            subject=dashboard_subject(scope),
            headline_lines=headlines,
            trend=trend,
            trend_chart=charts.trend_chart([line.point() for line in trend], name=name),
            relationship=relationship,
            relationship_chart=charts.ranked_chart(
                [line.point() for line in relationship], name=name
            ),
            competitors=competitors,
            competitors_chart=charts.ranked_chart(
                [line.point() for line in competitors], name=name
            ),
        ),
    )


@require_GET
@scoped_page
def units(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(DASHBOARD_READERS, "read the dashboards")
    form = UnitFilterForm(request.GET, scope=scope)
    choice = form.choice()
    rollup = bool(form.value("rollup"))
    lines = ranked(_by(scope, choice, (Dimension.UNIT,), rollup=rollup))
    return render(
        request,
        "analytics/units.html",
        _context(
            form,
            choice,
            lines=lines,
            rollup=rollup,
            chart=charts.ranked_chart([line.point() for line in lines], name=_("Score")),
        ),
    )


@require_GET
@scoped_page
def employees(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(EMPLOYEE_READERS, "read employees' results")
    form = DashboardFilterForm(request.GET, scope=scope)
    choice = form.choice()
    query = f"?{request.GET.urlencode()}" if request.GET else ""
    lines = ranked(
        _by(
            scope,
            choice,
            (Dimension.EMPLOYEE,),
            page=lambda key: (
                f"{reverse('dashboards:employee', args=[key[0]])}{query}"
                if key and isinstance(key[0], int)
                else ""
            ),
        )
    )
    return render(
        request,
        "analytics/employees.html",
        _context(
            form,
            choice,
            lines=lines,
            chart=charts.ranked_chart([line.point() for line in lines], name=_("Score")),
        ),
    )


@require_GET
@scoped_page
def employee(request: HttpRequest, scope: Scope, person_id: int) -> HttpResponse:
    scope.require(EMPLOYEE_READERS, "read employees' results")
    person: Person = person_get(scope=scope, person_id=person_id)  # NotFound outside the scope
    form = DashboardFilterForm(request.GET, scope=scope)
    choice = form.choice(employee_id=person.pk)
    headlines = _headlines(scope, choice) if choice.survey else []
    trend = _trend(scope, choice)
    return render(
        request,
        "analytics/employee.html",
        _context(
            form,
            choice,
            person=person,
            praise=_praise_count(scope, choice, person),
            headline_lines=headlines,
            trend=trend,
            trend_chart=charts.trend_chart([line.point() for line in trend], name=_("Score")),
        ),
    )


def _praise_count(scope: Scope, choice: Choice, person: Person) -> int:
    """How many positive responses named the employee in the period (the loop's praise, within
    what the reader may see of it), the days on the organisation's calendar."""
    zone = organisation_time_zone(scope)
    start = datetime.combine(choice.date_from, time.min, tzinfo=zone)
    end = datetime.combine(choice.date_to + timedelta(days=1), time.min, tzinfo=zone)
    return (
        praise_list(scope=scope, employee_id=person.pk)
        .filter(response__completed_at__gte=start, response__completed_at__lt=end)
        .count()
    )


@require_GET
@scoped_page
def heatmap(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(DASHBOARD_READERS, "read the dashboards")
    form = DashboardFilterForm(request.GET, scope=scope)
    choice = form.choice()
    cells: list[tuple[int, int, Point]] = []
    lines: list[Line] = []
    weekdays: list[Line] = []
    hours: list[Line] = []
    if choice.question is not None:
        # Each weekday-at-an-hour cell against all the other answers, Benjamini–Hochberg over
        # every cell tested; weekdays and hours are also tested each on their own, since a
        # weak hour spread over the week may show in no single cell.
        # The weekdays and the hours are sums of the cells: one reading of the answers.
        dimensions = (Dimension.WEEKDAY, Dimension.HOUR)
        table, by_weekday, by_hour = metric_tables(
            scope=scope,
            query=MetricQuery(
                question=choice.question.key,
                by=dimensions,
                filters=choice.filters,
                flag_below_average=True,
            ),
            margins=[(Dimension.WEEKDAY,), (Dimension.HOUR,)],
        )
        lines = _lines(table.rows, choice, dimensions)
        for row, line in zip(table.rows, lines, strict=True):
            weekday, hour = row.key[0], row.key[1]
            if isinstance(weekday, int) and isinstance(hour, int):
                cells.append((weekday, hour, line.point()))
        weekdays = _lines(by_weekday.rows, choice, (Dimension.WEEKDAY,))
        hours = _lines(by_hour.rows, choice, (Dimension.HOUR,))
    return render(
        request,
        "analytics/heatmap.html",
        _context(
            form,
            choice,
            lines=lines,
            weekdays=weekdays,
            hours=hours,
            flagged_cells=_worst_first([line for line in lines if line.flagged]),
            flagged=[line for line in weekdays + hours if line.flagged],
            chart=charts.heatmap_chart(cells, name=_("Score")),
        ),
    )


def _worst_first(lines: Sequence[Line]) -> list[Line]:
    """Flagged lines: the ones below the rest first, the furthest below first, then those
    above, the furthest above first."""
    return sorted(lines, key=lambda ln: (ln.flag != "below", -abs(ln.effect or 0.0)))


@require_GET
@scoped_page
def below_average(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(DASHBOARD_READERS, "read the dashboards")
    form = BelowAverageForm(request.GET, scope=scope)
    choice = form.choice()
    dimension = form.dimension_chosen()
    attribute = form.segment_chosen()
    lines = _by_segment(scope, choice, attribute) if attribute else _by(scope, choice, (dimension,))
    below = sorted((ln for ln in lines if ln.flag == "below"), key=lambda ln: ln.effect or 0.0)
    above = sorted((ln for ln in lines if ln.flag == "above"), key=lambda ln: -(ln.effect or 0.0))
    return render(
        request,
        "analytics/below_average.html",
        _context(
            form,
            choice,
            dimension_label=(
                segment_dimension_label(attribute)
                if attribute
                else BELOW_AVERAGE_DIMENSIONS[dimension.value]
            ),
            lines=lines,
            below=below,
            above=above,
            unflagged=[ln for ln in lines if not ln.flagged],
            chart=charts.ranked_chart([ln.point() for ln in below + above], name=_("Score")),
        ),
    )
