"""Measures over the scoped answers: tallies counted in SQL, scores from the statistics module.

A query counts, per slice, only the sufficient statistics of its measure (n; promoters and
detractors; answers in the top box; the sum and the sum of squares), so that the engine moves a
few numbers per slice, whatever the number of answers, and slices add up exactly (roll-ups,
slice-vs-rest). `sonda.analytics.stats` turns each tally into a Score with its interval.

Measures (`measure_for` reads them from the survey's question and its program):
- NPS of an `nps` question, classed by the program's thresholds;
- top-box share of a `csat`, `ces` or `rating` question (the two highest points of its scale:
  4–5 on 1–5, 6–7 on 1–7), and their mean;
- the share of "yes" of a `yes_no` question (stored as 1 / 0).

Slices: any context column of the answer (unit, employee, touchpoint, channel, journey, stage,
language, survey, program, customer), weekday and hour of day, and periods (day, week from
Monday, month, quarter, year), all in the organisation's time zone. Each answer keeps its local
day and hour (`local_day`, `local_hour`, written with it), so days, weeks, weekdays, hours and
date ranges are integer arithmetic, and months, quarters and years a comparison with their
first days, listed from the calendar. Only portable operations are used (no engine's own
time-zone functions), which is what keeps SQLite, PostgreSQL, DuckDB and Spark on the same
numbers.

Where the query needs nothing finer than a unit, a survey and a day (no hour, channel,
employee, customer... dimension or filter), it reads the daily tallies instead of the answers
(sonda.surveys.tallies): a row per question, unit and day with the count of each scale point,
from which every measure's sums follow exactly — a few hundred thousand rows where the answers
are millions. Spark, and a frontline employee's own figures, always count the answers.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np

from sonda.analytics.engine import TALLY_POINTS
from sonda.analytics.scope import ScopedAnswers, require_scoped
from sonda.analytics.stats import (
    DEFAULT_MIN_BASE,
    DETRACTOR_MAX,
    PROMOTER_MIN,
    MeanTally,
    NpsTally,
    Score,
    ShareTally,
    Tally,
    check_min_base,
    check_thresholds,
)
from sonda.core.calendar import EPOCH, day_of, number_of
from sonda.core.errors import NotFound, ValidationFailed

SECONDS_PER_DAY = 86_400
# 1970-01-01 was a Thursday: Monday-based weekday = (day number + 3) mod 7.
_EPOCH_WEEKDAY = 3


class Metric(StrEnum):
    NPS = "nps"
    TOP_BOX = "top_box"  # CSAT top-2-box, CES "easy", rating top-2-box
    MEAN = "mean"
    YES_SHARE = "yes_share"


METRICS_OF_KIND: dict[str, tuple[Metric, ...]] = {
    "nps": (Metric.NPS, Metric.MEAN),
    "csat": (Metric.TOP_BOX, Metric.MEAN),
    "ces": (Metric.TOP_BOX, Metric.MEAN),
    "rating": (Metric.TOP_BOX, Metric.MEAN),
    "number": (Metric.MEAN,),
    "yes_no": (Metric.YES_SHARE,),
}


@dataclass(frozen=True)
class MeasureSpec:
    """What to compute over the answers to one question key."""

    question_key: str
    kind: str
    metric: Metric
    promoter_min: float = PROMOTER_MIN
    detractor_max: float = DETRACTOR_MAX
    top_min: float | None = None  # answers at or above it are in the top box (1 for yes/no)
    min_base: int = DEFAULT_MIN_BASE

    def __post_init__(self) -> None:
        if self.metric not in METRICS_OF_KIND.get(self.kind, ()):
            raise ValidationFailed.on("metric", f"{self.metric} does not apply to {self.kind}")
        if self.metric == Metric.NPS:
            check_thresholds(self.promoter_min, self.detractor_max)
        if self.metric == Metric.TOP_BOX and self.top_min is None:
            raise ValidationFailed.on("top_min", "a top-box share needs the top box's lowest point")
        check_min_base(self.min_base)


def top_box_min(scale_max: int | None, kind: str) -> float:
    """The lowest point of the top two boxes of a 1…max scale (4 on 1–5)."""
    if kind == "yes_no":
        return 1.0
    return float((scale_max or 5) - 1)


def measure_for(
    *, answers: ScopedAnswers, question_key: str, metric: Metric | None = None
) -> MeasureSpec:
    """The measure of the organisation's question `question_key` (its latest version): its kind,
    its scale's top box and its program's thresholds and minimum base. `metric` defaults to the
    kind's headline one (NPS, top box, yes share). NotFound when the organisation has no such
    question; ValidationFailed when the metric does not apply to it."""
    from sonda.surveys.models import Question

    scoped = require_scoped(answers)
    # Only the five values a measure needs (every dashboard query asks this first).
    found = (
        Question.objects.filter(
            organisation_id=scoped.scope.organisation_id,
            key=question_key,
            kind__in=list(METRICS_OF_KIND),
        )
        .order_by("-version__published_at", "-version_id")
        .values_list(
            "kind",
            "scale_max",
            "version__survey__program__promoter_min",
            "version__survey__program__detractor_max",
            "version__survey__program__minimum_base",
        )
        .first()
    )
    if found is None:
        raise NotFound(f"No question '{question_key}' with a measure")
    kind, scale_max, promoter_min, detractor_max, minimum_base = found
    chosen = metric if metric is not None else METRICS_OF_KIND[kind][0]
    return MeasureSpec(
        question_key=question_key,
        kind=kind,
        metric=chosen,
        promoter_min=promoter_min,
        detractor_max=detractor_max,
        top_min=top_box_min(scale_max, kind),
        min_base=minimum_base,
    )


class Dimension(StrEnum):
    """What a query may group by, besides periods."""

    UNIT = "unit_id"
    UNIT_PATH = "unit_path"  # for roll-ups through the hierarchy (see unit_rollup)
    EMPLOYEE = "employee_id"
    TOUCHPOINT = "touchpoint"
    CHANNEL = "channel"
    JOURNEY = "journey"
    STAGE = "stage"
    LANGUAGE = "language"
    SURVEY = "survey_id"
    PROGRAM = "program_id"
    CUSTOMER = "customer_id"
    WEEKDAY = "weekday"  # 0 = Monday … 6 = Sunday, local time
    HOUR = "hour"  # 0…23, local time


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # from Monday
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


# What the daily tallies can be grouped by: they keep the unit, the survey and the day. (Every
# scored question's points are whole numbers from 0 to 10, which the tallies count one by one,
# so any threshold or top box is counted exactly.)
_TALLIED_DIMENSIONS = frozenset(
    {Dimension.UNIT, Dimension.UNIT_PATH, Dimension.SURVEY, Dimension.PROGRAM, Dimension.WEEKDAY}
)
PERIOD = "period"  # the key of the period in a slice


@dataclass(frozen=True)
class Filters:
    """What to narrow the answers to; None or empty means "any". Dates are inclusive, in the
    organisation's time zone."""

    survey_id: int | None = None
    program_id: int | None = None
    unit_path: str = ""  # a unit and its subtree
    employee_id: int | None = None
    touchpoint: str = ""
    channel: str = ""
    journey: str = ""
    stage: str = ""
    language: str = ""
    # Only the answers of these customers (a segment: e.g. the customers with an attribute's
    # value, found by the caller); None means any customer, an empty set none.
    customer_ids: frozenset[int] | None = None
    complete_only: bool = False  # only answers of complete responses
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValidationFailed.on("end", "must not be before the start")


@dataclass(frozen=True)
class Slice:
    """One group of answers: its key (dimension name → value; `period` → the period's first
    day), what was counted, and the score."""

    key: dict[str, Any]
    tally: Tally
    min_base: int = DEFAULT_MIN_BASE

    @property
    def n(self) -> int:
        return self.tally.n

    @cached_property
    def score(self) -> Score:
        # Built when asked: callers that merge tallies (roll-ups, trends, weights) score the
        # merged tallies instead, and thousands of cells need not be scored twice.
        return self.tally.score(min_base=self.min_base)


# --- Local time ---------------------------------------------------------------------------------


def _period_key(
    days: ir.IntegerValue, period: Period, span: tuple[int, int] | None
) -> ir.IntegerValue:
    """The day number of the first day of each answer's period (`days` is its local day
    number, `span` the first and last day numbers of the answers).

    Days and weeks are arithmetic; months, quarters and years are a CASE over the period starts
    within the span, listed here from the calendar. The CASE is a binary search, a few integer
    comparisons per answer and a nesting depth (log₂ of the periods) that SQLite's parser takes,
    where calendar arithmetic in SQL nests too deep for it.
    """
    if period == Period.DAY:
        return days
    if period == Period.WEEK:
        return days - (days + _EPOCH_WEEKDAY) % 7
    if span is None:  # no answers
        return days
    first, last = day_of(span[0]), day_of(span[1])
    starts = [period_of(first, period)]
    while _next_period(starts[-1], period) <= last:
        starts.append(_next_period(starts[-1], period))
    numbers = [number_of(day) for day in starts]
    if len(numbers) == 1:
        return ibis.literal(numbers[0]) + days * 0

    def latest(low: int, high: int) -> ir.IntegerValue:
        # The last start in numbers[low..high] that the day is at or after (numbers[low] when
        # it is before them all).
        if low == high:
            return ibis.literal(numbers[low])
        middle = (low + high + 1) // 2
        return ibis.cases(
            (days >= numbers[middle], latest(middle, high)), else_=latest(low, middle - 1)
        )

    return latest(0, len(numbers) - 1)


def _next_period(start: date, period: Period) -> date:
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[period]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def _period_start(value: int) -> date:
    return EPOCH + timedelta(days=value)


def period_of(day: date, period: Period) -> date:
    """The first day of the period `day` falls in (what a slice's `period` key holds)."""
    if period == Period.DAY:
        return day
    if period == Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period == Period.MONTH:
        return day.replace(day=1)
    if period == Period.QUARTER:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


# --- Filtering and counting ---------------------------------------------------------------------


def _measured(
    table: ir.Table, measure: MeasureSpec, filters: Filters, *, tallied: bool
) -> ir.Table:
    """The answers (or tally rows, when `tallied`) of the measure that meet the filters."""
    t = table
    conditions: list[ir.BooleanValue] = [
        t.question_key == measure.question_key,
        t.kind == measure.kind,
    ]
    if not tallied:  # a tally counts only answers with a number
        conditions.append(t.value_number.notnull())
    exact: Mapping[str, object] = {
        "survey_id": filters.survey_id,
        "program_id": filters.program_id,
        "employee_id": filters.employee_id,
        "touchpoint": filters.touchpoint or None,
        "channel": filters.channel or None,
        "journey": filters.journey or None,
        "stage": filters.stage or None,
        "language": filters.language or None,
    }
    conditions += [t[name] == value for name, value in exact.items() if value is not None]
    if filters.unit_path:
        conditions.append(t.unit_path.startswith(filters.unit_path))
    if filters.customer_ids is not None:
        if filters.customer_ids:
            conditions.append(t.customer_id.isin(sorted(filters.customer_ids)))
        else:
            conditions.append(ibis.literal(False))
    if filters.complete_only:
        conditions.append(t.is_complete)
    # Each answer keeps its day on the organisation's calendar: the range is two integer
    # comparisons on every engine, no time arithmetic per answer.
    if filters.start is not None:
        conditions.append(t.local_day >= number_of(filters.start))
    if filters.end is not None:
        conditions.append(t.local_day <= number_of(filters.end))
    return t.filter(*conditions)


def _tallies_answer(
    scoped: ScopedAnswers, dimensions: Sequence[Dimension], filters: Filters
) -> bool:
    """Whether the daily tallies hold what the query needs: nothing finer than a unit, a
    survey and a day, and no filter on what they do not keep."""
    if scoped.tallies is None:
        return False
    if any(d not in _TALLIED_DIMENSIONS for d in dimensions):
        return False
    return (
        filters.employee_id is None
        and filters.customer_ids is None
        and not (
            filters.touchpoint
            or filters.channel
            or filters.journey
            or filters.stage
            or filters.language
        )
    )


def _whole_months(dimensions: Sequence[Dimension], period: Period | None, filters: Filters) -> bool:
    """Whether the monthly tallies hold what a tallied query needs: no weekday, periods of whole
    months (or none), and a date range (if any) from a month's first day to a month's last."""
    return (
        Dimension.WEEKDAY not in dimensions
        and period in (None, Period.MONTH, Period.QUARTER, Period.YEAR)
        and (filters.start is None or filters.start.day == 1)
        and (filters.end is None or (filters.end + timedelta(days=1)).day == 1)
    )


def _day_span(scoped: ScopedAnswers, table: ir.Table, filters: Filters) -> tuple[int, int] | None:
    """The answers' first and last local days (from the filters when both dates are given)."""
    if filters.start is not None and filters.end is not None:
        return number_of(filters.start), number_of(filters.end)
    row = scoped.run(table.aggregate(low=table.local_day.min(), high=table.local_day.max()))[0]
    if row["low"] is None:
        return None
    return int(row["low"]), int(row["high"])


def _tally_aggregates(table: ir.Table, measure: MeasureSpec) -> dict[str, ir.Scalar]:
    """The same sums as `_aggregates`, from the counts of each scale point."""

    def points(low: float, high: float) -> ir.Scalar:
        chosen = [table[f"c{p}"] for p in TALLY_POINTS if low <= p <= high]
        if not chosen:
            return ibis.literal(0)
        total = chosen[0]
        for column in chosen[1:]:
            total = total + column
        return total.sum()

    if measure.metric == Metric.NPS:
        return {
            "n": table.n.sum(),
            "promoters": points(measure.promoter_min, math.inf),
            "detractors": points(-math.inf, measure.detractor_max),
        }
    if measure.metric in (Metric.TOP_BOX, Metric.YES_SHARE):
        top = measure.top_min if measure.top_min is not None else 1.0
        return {"n": table.n.sum(), "successes": points(top, math.inf)}
    return {"n": table.n.sum(), "total": table.total.sum(), "squares": table.squares.sum()}


def _aggregates(table: ir.Table, measure: MeasureSpec) -> dict[str, ir.Scalar]:
    value = table.value_number
    if measure.metric == Metric.NPS:
        return {
            "n": table.count(),
            "promoters": (value >= measure.promoter_min).ifelse(1, 0).sum(),
            "detractors": (value <= measure.detractor_max).ifelse(1, 0).sum(),
        }
    if measure.metric in (Metric.TOP_BOX, Metric.YES_SHARE):
        top = measure.top_min if measure.top_min is not None else 1.0
        return {"n": table.count(), "successes": (value >= top).ifelse(1, 0).sum()}
    return {"n": table.count(), "total": value.sum(), "squares": (value * value).sum()}


def tally_of(row: Mapping[str, Any], measure: MeasureSpec) -> Tally:
    n = int(row["n"] or 0)
    if measure.metric == Metric.NPS:
        promoters, detractors = int(row.get("promoters") or 0), int(row.get("detractors") or 0)
        return NpsTally(promoters, n - promoters - detractors, detractors)
    if measure.metric in (Metric.TOP_BOX, Metric.YES_SHARE):
        return ShareTally(int(row.get("successes") or 0), n)
    return MeanTally(n, float(row.get("total") or 0.0), float(row.get("squares") or 0.0))


def empty_tally(measure: MeasureSpec) -> Tally:
    return tally_of({"n": 0}, measure)


def _slices_expression(
    answers: ScopedAnswers,
    measure: MeasureSpec,
    *,
    by: Sequence[Dimension],
    period: Period | None,
    filters: Filters | None,
) -> tuple[ScopedAnswers, ir.Table, list[str]]:
    """The scoped answers, the grouped and ordered aggregate expression, and its key names."""
    scoped = require_scoped(answers)
    f = filters or Filters()
    dimensions = [Dimension(d) for d in by]
    if len(set(dimensions)) != len(dimensions):
        raise ValidationFailed.on("by", "names a dimension twice")
    tallied = _tallies_answer(scoped, dimensions, f)
    source = scoped.tallies if tallied and scoped.tallies is not None else scoped.table
    if tallied and scoped.monthly_tallies is not None and _whole_months(dimensions, period, f):
        source = scoped.monthly_tallies
    table = _measured(source, measure, f, tallied=tallied)
    keys: dict[str, ir.Value] = {}
    days = table.local_day
    span: tuple[int, int] | None = None
    if period in (Period.MONTH, Period.QUARTER, Period.YEAR):
        # The calendar's period starts are listed over the answers' days (one more query,
        # unless the filters give them).
        span = _day_span(scoped, table, f)
    for dimension in dimensions:
        if dimension == Dimension.WEEKDAY:
            keys[dimension.value] = (days + _EPOCH_WEEKDAY) % 7
        elif dimension == Dimension.HOUR:
            keys[dimension.value] = table.local_hour
        elif dimension == Dimension.UNIT and tallied:
            keys[dimension.value] = table.unit_id.nullif(0)  # tallies keep "no unit" as 0
        else:
            keys[dimension.value] = table[dimension.value]
    if period is not None:
        keys[PERIOD] = _period_key(days, Period(period), span)
    aggregates = _tally_aggregates(table, measure) if tallied else _aggregates(table, measure)
    if keys:
        expr = table.group_by(**keys).aggregate(**aggregates).order_by(*keys)
    else:
        expr = table.aggregate(**aggregates)
    return scoped, expr, list(keys)


def slices(
    answers: ScopedAnswers,
    measure: MeasureSpec,
    *,
    by: Sequence[Dimension] = (),
    period: Period | None = None,
    filters: Filters | None = None,
) -> list[Slice]:
    """The measure per slice of `by` (and `period`), in key order; slices with no answers are
    absent. With neither, one slice: the whole (see `overall`)."""
    scoped, expr, keys = _slices_expression(answers, measure, by=by, period=period, filters=filters)
    out: list[Slice] = []
    for row in scoped.run(expr):
        tally = tally_of(row, measure)
        if keys and tally.n == 0:
            continue
        key = {name: _plain(row[name]) for name in keys}
        if period is not None:
            key[PERIOD] = _period_start(int(key[PERIOD]))
        out.append(Slice(key=key, tally=tally, min_base=measure.min_base))
    return out


@dataclass(frozen=True)
class SliceColumns:
    """The slices of a query as columns: one entry per slice in each list and array.

    `keys` holds each dimension's values (and `period`'s first days) as plain Python values;
    `counts` the measure's sufficient statistics as float arrays (exact for counts below 2⁵³):
    n and promoters/detractors, successes, or total/squares. Slices with no answers are absent.
    """

    keys: dict[str, list[Any]]
    counts: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.counts["n"])


def slice_columns(
    answers: ScopedAnswers,
    measure: MeasureSpec,
    *,
    by: Sequence[Dimension],
    period: Period | None = None,
    filters: Filters | None = None,
) -> SliceColumns:
    """What `slices` counts, as columns rather than one object per slice: for the many-cell
    tables (units × months), whose scores are computed as whole arrays."""
    scoped, expr, keys = _slices_expression(answers, measure, by=by, period=period, filters=filters)
    if not keys:
        raise ValueError("slice_columns needs a dimension or a period")
    found = scoped.engine.columns(expr)
    counts = {name: _float_array(values) for name, values in found.items() if name not in keys}
    columns = {name: _listed(found[name]) for name in keys}
    kept = np.flatnonzero(counts["n"] > 0)
    if len(kept) < len(counts["n"]):
        counts = {name: values[kept] for name, values in counts.items()}
        columns = {name: [columns[name][i] for i in kept.tolist()] for name in keys}
    out_keys: dict[str, list[Any]] = {}
    for name in keys:
        values = columns[name]
        if name == PERIOD:
            # A few distinct periods among thousands of cells: each first day made once.
            starts = {v: _period_start(int(v)) for v in set(values)}
            out_keys[name] = [starts[v] for v in values]
        else:
            out_keys[name] = [_plain(v) for v in values]
    return SliceColumns(keys=out_keys, counts=counts)


def _listed(values: Sequence[Any]) -> list[Any]:
    # numpy integers become Python ones
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _float_array(values: Sequence[Any]) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    return np.array([0.0 if v is None else v for v in values], dtype=np.float64)


def _plain(value: Any) -> Any:
    # Engines differ in integer widths and float-typed integers; keys compare as Python ints.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def overall(
    answers: ScopedAnswers, measure: MeasureSpec, *, filters: Filters | None = None
) -> Slice:
    """The measure over all the answers in scope that meet the filters."""
    found = slices(answers, measure, filters=filters)
    tally = found[0].tally if found else empty_tally(measure)
    return Slice(key={}, tally=tally, min_base=measure.min_base)


def unit_rollup(found: Sequence[Slice], unit_paths: Mapping[int, str]) -> dict[int, Slice]:
    """Each unit's slice with its whole subtree's answers, from slices by `unit_path` (tallies
    add up exactly). `unit_paths` maps the units to report (id → path); units without answers
    in their subtree are left out."""
    by_path: dict[str, Tally] = {}
    for found_slice in found:
        path = found_slice.key.get(Dimension.UNIT_PATH.value)
        if path is None:
            raise ValidationFailed.on("by", "a roll-up needs slices by unit_path")
        by_path[str(path)] = found_slice.tally
    out: dict[int, Slice] = {}
    min_base = found[0].min_base if found else DEFAULT_MIN_BASE
    for unit_id, unit_path in unit_paths.items():
        within = [t for p, t in by_path.items() if p.startswith(unit_path)]
        if not within:
            continue
        total = within[0]
        for tally in within[1:]:
            total = total + tally  # type: ignore[operator]
        out[unit_id] = Slice(
            key={Dimension.UNIT.value: unit_id},
            tally=total,
            min_base=min_base,
        )
    return out
