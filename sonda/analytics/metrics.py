"""The metrics facade: one call from a question, dimensions and filters to a table of scores.

Dashboards, the API and the report ask `metric_table` for what they show; it goes through the
scoped answers (`sonda.analytics.scope`), counts tallies in SQL (`sonda.analytics.queries`) and
adds what a reader needs next to a figure: human labels, the change against the previous period
with its test, and "below"/"above" flags that survive Benjamini–Hochberg.

The previous period of a date range is the calendar one when the range is whole months (a month,
a quarter, a year: Q3 → Q2), otherwise the same number of days just before it. In a trend each
row is compared with the same slice in the period before.

Weighted figures post-stratify each row by a customer segment attribute: an answer of segment s
weighs target(s) / share of s among the row's answers, targets renormalised over the segments
the row has. Answers whose customer has no such segment (or a segment without a target) weigh 0.
The cost: the query groups by customer as well, so it returns about one row per customer and
slice instead of one per slice, and the customers' attributes are read from the operational
database; fine for a dashboard's filters, not for ten million answers at once.

Plain tables — slices of the query's own dimensions and period, unweighted, without roll-up,
segment rows, margins or change — are counted and scored as columns (`_columnar_table`,
`sonda.analytics.columnar`): thousands of unit × month cells are scored as arrays, and each
`MetricRow` is built when it is read. The other tables go cell by cell; both give the same
figures to the last bit (tests/test_columnar.py).

A segment (a customer attribute and value, e.g. tier=business) narrows the answers to those of
the organisation's customers in it: `segment_filters` looks the customers up and hands their ids
to the query as `Filters.customer_ids`. A segment no customer is in counts no answers (n = 0,
"too few answers"), it is not an error: whether a value exists is not the question asked.
"""

import calendar
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import reduce
from operator import add
from typing import Any, overload

import numpy as np
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.analytics.columnar import FlagColumns, ScoreColumns, flags_vs_rest, score_columns
from sonda.analytics.engine import Engine
from sonda.analytics.queries import (
    PERIOD,
    Dimension,
    Filters,
    MeasureSpec,
    Metric,
    Period,
    Slice,
    empty_tally,
    measure_for,
    period_of,
    slice_columns,
    slices,
    tally_of,
    unit_rollup,
)
from sonda.analytics.scope import ScopedAnswers, scoped_answers
from sonda.analytics.significance import Difference, Flag, difference, slice_vs_rest
from sonda.analytics.stats import (
    MeanTally,
    Measure,
    NpsTally,
    Score,
    ShareTally,
    Tally,
    empty_score,
    mean_from_moments,
    nps_from_counts,
    share_from_base,
)
from sonda.core.errors import NotFound, ValidationFailed
from sonda.customers.models import Customer
from sonda.customers.selectors import (
    SEGMENT_ATTRIBUTE,
    SEGMENT_VALUE_MAX_LENGTH,
    CustomerSegment,
    customer_segment_members,
    segment_texts,
)
from sonda.org.models import Person, Unit
from sonda.surveys.models import Program, ProgramKind, Question, Survey

MAX_DIMENSIONS = 2
_CUSTOMER_BATCH = 5_000
_NAMES_BY_ID = 100  # above it, a table's unit names are read for the whole organisation
_NO_SEGMENT = object()  # answers without a customer or without the attribute


@dataclass(frozen=True)
class MetricQuery:
    """What to measure: a question, grouped by up to two dimensions, over a trend or not."""

    question: str  # question key, e.g. "ltr"; survey_id in filters narrows it
    metric: Metric | None = None  # None: the question kind's default (NPS, top box, yes share)
    by: tuple[Dimension, ...] = ()
    period: Period | None = None  # a trend: one row per period (and per `by` key)
    filters: Filters = field(default_factory=Filters)
    compare_previous: bool = False  # each row gets its change vs the previous period
    flag_below_average: bool = False  # with `by`: slice_vs_rest flags (BH-controlled)
    weights: Mapping[str, float] | None = None  # target share per value of a segment attribute
    weight_attribute: str = ""  # e.g. "tier"
    rollup: bool = False  # with by=(UNIT,): each unit with its whole subtree's answers
    segment_attribute: str = ""  # with segment_value: only the answers of customers in it
    segment_value: str = ""
    # Rows per value of a customer attribute (tier, products…), after the `by` values in the
    # key: the answers of customers with that value; a list attribute puts a customer's answers
    # in each of its values' rows, customers without it in a row of None.
    segment_by: str = ""

    def __post_init__(self) -> None:
        if not self.question:
            raise ValidationFailed.on("question", "is required")
        by = tuple(Dimension(d) for d in self.by)
        object.__setattr__(self, "by", by)
        if len(by) + (1 if self.segment_by else 0) > MAX_DIMENSIONS:
            raise ValidationFailed.on("by", f"at most {MAX_DIMENSIONS} dimensions")
        if self.segment_by:
            if not SEGMENT_ATTRIBUTE.match(self.segment_by):
                raise ValidationFailed.on("segment_by", _ATTRIBUTE_FORMAT)
            if self.rollup or self.weights is not None:
                raise ValidationFailed.on(
                    "segment_by", "groups by a customer attribute without roll-up or weights"
                )
        if len(set(by)) != len(by):
            raise ValidationFailed.on("by", "names a dimension twice")
        if self.rollup and by != (Dimension.UNIT,):
            raise ValidationFailed.on("rollup", "rolls up by unit only: by=unit_id")
        if self.flag_below_average and not by and not self.segment_by:
            # Two dimensions flag each pair of values (a weekday at an hour) against the rest.
            raise ValidationFailed.on("flag_below_average", "needs one or two dimensions in by")
        if self.weights is not None:
            _check_weights(self.weights)
            if not self.weight_attribute:
                raise ValidationFailed.on("weight_attribute", "is required with weights")
            if self.flag_below_average:
                raise ValidationFailed.on(
                    "flag_below_average", "flags compare unweighted answers; drop the weights"
                )
        elif self.weight_attribute:
            raise ValidationFailed.on("weights", "are required with weight_attribute")
        if self.weight_attribute and not SEGMENT_ATTRIBUTE.match(self.weight_attribute):
            raise ValidationFailed.on("weight_attribute", _ATTRIBUTE_FORMAT)
        self._check_segment()

    def _check_segment(self) -> None:
        if self.segment_attribute and not self.segment_value:
            raise ValidationFailed.on("segment_value", "is required with segment_attribute")
        if self.segment_value and not self.segment_attribute:
            raise ValidationFailed.on("segment_attribute", "is required with segment_value")
        if self.segment_attribute:
            check_segment(CustomerSegment(self.segment_attribute, self.segment_value))

    @property
    def segment(self) -> CustomerSegment | None:
        if not self.segment_attribute:
            return None
        return CustomerSegment(self.segment_attribute, self.segment_value)


@dataclass(frozen=True)
class MetricRow:
    key: tuple[Any, ...]  # the values of `by` (+ period start date last when period is set)
    labels: tuple[str, ...]  # human labels, one per element of key
    score: Score  # with n, interval, too_few
    change: Difference | None = None  # vs previous period (compare_previous)
    previous: Score | None = None
    flag: str = ""  # "below" | "above" | "" (flag_below_average)
    p_adjusted: float | None = None
    effect: float | None = None


@dataclass(frozen=True)
class MetricTable:
    """The rows (empty when the query has neither `by` nor `period`: `overall` is the figure)
    and the overall row over every answer the query counts."""

    query: MetricQuery
    measure: MeasureSpec
    overall: MetricRow
    rows: Sequence[MetricRow]
    previous_range: tuple[date, date] | None = None  # the window `overall.change` compares with


# --- Periods as text ----------------------------------------------------------------------------

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def period_range(text: str, *, field_name: str = "period") -> tuple[date, date]:
    """The first and last day of "2026-Q3", "2026-09", "2026" or the ISO week "2026-W36"."""
    value = text.strip().upper()
    try:
        if match := _QUARTER.match(value):
            year, quarter = int(match[1]), int(match[2])
            return date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
        if match := _MONTH.match(value):
            year, month = int(match[1]), int(match[2])
            return date(year, month, 1), _month_end(year, month)
        if match := _YEAR.match(value):
            return date(int(match[1]), 1, 1), date(int(match[1]), 12, 31)
        if match := _WEEK.match(value):
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return monday, monday + timedelta(days=6)
    except ValueError:
        pass
    raise ValidationFailed.on(
        field_name, f"'{text}' is not a period (2026-Q3, 2026-09, 2026 or 2026-W36)"
    )


def period_label(start: date, period: Period) -> str:
    """How a trend's period reads: 2026-09-14, 2026-W38, 2026-09, 2026-Q3, 2026."""
    if period == Period.DAY:
        return start.isoformat()
    if period == Period.WEEK:
        year, week, _day = start.isocalendar()
        return f"{year}-W{week:02d}"
    if period == Period.MONTH:
        return f"{start.year}-{start.month:02d}"
    if period == Period.QUARTER:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The period just before [start, end]: the previous calendar months when the range is
    whole months (Q3 → Q2, whatever their lengths), else as many days just before."""
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        return _shift_months(start, -months), start - timedelta(days=1)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def _previous_period_start(start: date, period: Period) -> date:
    return period_of(start - timedelta(days=1), period)


# --- Scoped look-ups for filters ----------------------------------------------------------------

_ATTRIBUTE_FORMAT = "letters, digits, '_', '.' or '-' (no '__'), at most 64"


def check_segment(segment: CustomerSegment) -> None:
    """ValidationFailed naming segment_attribute or segment_value when either is malformed."""
    if not SEGMENT_ATTRIBUTE.match(segment.attribute):
        raise ValidationFailed.on("segment_attribute", _ATTRIBUTE_FORMAT)
    if not segment.value.strip():
        raise ValidationFailed.on("segment_value", "must not be blank")
    if len(segment.value) > SEGMENT_VALUE_MAX_LENGTH:
        raise ValidationFailed.on("segment_value", f"at most {SEGMENT_VALUE_MAX_LENGTH} characters")


def segment_filters(*, scope: Scope, filters: Filters, segment: CustomerSegment | None) -> Filters:
    """`filters` narrowed to the answers of the organisation's customers in `segment` (and of
    the customers `filters` already names, if any); unchanged without a segment."""
    if segment is None:
        return filters
    check_segment(segment)
    members = customer_segment_members(scope=scope, segment=segment)
    if filters.customer_ids is not None:
        members = members & filters.customer_ids
    return replace(filters, customer_ids=members)


def unit_filter_path(*, scope: Scope, unit_id: int) -> str:
    """The path of a unit to narrow a query to; NotFound outside the organisation or, for a
    manager, outside their subtree."""
    units = Unit.objects.filter(organisation_id=scope.organisation_id, pk=unit_id)
    if scope.role == Role.MANAGER:
        units = units.filter(path__startswith=scope.unit_path or "\x00")
    path = units.values_list("path", flat=True).first()
    if path is None:
        raise NotFound("No such unit.")
    return path


def _check_filters(scope: Scope, filters: Filters) -> None:
    checks: list[tuple[int | None, Any, str]] = [
        (filters.survey_id, Survey, "survey"),
        (filters.program_id, Program, "program"),
        (filters.employee_id, Person, "employee"),
    ]
    for object_id, model, name in checks:
        if object_id is None:
            continue
        if not model.objects.filter(organisation_id=scope.organisation_id, pk=object_id).exists():
            raise NotFound(f"No such {name}.")


# --- The table ----------------------------------------------------------------------------------


def metric_table(*, scope: Scope, query: MetricQuery, engine: Engine | None = None) -> MetricTable:
    """The question's measure per row of the query, with the overall figure, every score with
    its n and interval and, as asked, change vs the previous period and below/above flags."""
    return metric_tables(scope=scope, query=query, margins=(), engine=engine)[0]


def metric_tables(
    *,
    scope: Scope,
    query: MetricQuery,
    margins: Sequence[tuple[Dimension, ...]],
    engine: Engine | None = None,
) -> list[MetricTable]:
    """The query's table, then one table per margin: the query by those of its dimensions
    only, each row the sum of the query's cells that share its values.

    The margins are the very tables `metric_table` gives for `by=<margin>` (same n, intervals,
    flags), counted from the one reading of the answers that the query's cells need — a
    weekday × hour heat-map gets its weekdays and hours without two more scans.
    """
    for margin in margins:
        if not margin or not set(margin) <= set(query.by) or len(set(margin)) != len(margin):
            raise ValueError(f"a margin is some of the query's dimensions: {margin}")
        if query.rollup or query.segment_by:
            raise ValueError("margins of a roll-up or of segment rows are not sums of cells")
    _check_filters(scope, query.filters)
    answers = scoped_answers(scope=scope, engine=engine)
    try:
        measure = measure_for(answers=answers, question_key=query.question, metric=query.metric)
    except NotFound as exc:
        raise ValidationFailed.on("question", f"no measured question '{query.question}'") from exc
    filters = segment_filters(scope=scope, filters=query.filters, segment=query.segment)
    if not margins and _columnar(query):
        return [_columnar_table(scope, query, answers, measure, filters)]
    counted = _Counter(answers=answers, measure=measure, query=query)
    cells, whole = counted.cells(filters)
    period_totals = dict(counted.period_totals)
    overall_score = counted.score(whole)
    window: tuple[date, date] | None = None
    overall_previous: Score | None = None
    previous_cells: dict[tuple[Any, ...], dict[Any, Tally]] = {}
    if query.compare_previous:
        if filters.start is not None and filters.end is not None:
            window = previous_range(filters.start, filters.end)
            previous_filters = replace(filters, start=window[0], end=window[1])
            if query.period is None:
                previous_cells, previous_whole = counted.cells(previous_filters)
            else:
                previous_whole = counted.cells(previous_filters, keyed=False)[1]
            overall_previous = counted.score(previous_whole)
        elif query.period is None:
            raise ValidationFailed.on("compare_previous", "needs a start and an end date")
        if query.period is not None and filters.start is not None:
            # The first period's predecessor lies before the range: count it too.
            first = period_of(filters.start, query.period)
            before = replace(
                filters,
                start=_previous_period_start(first, query.period),
                end=first - timedelta(days=1),
            )
            previous_cells = counted.cells(before)[0]
    overall = MetricRow(
        key=(),
        labels=(_("All answers"),),
        score=overall_score,
        change=_change(overall_score, overall_previous),
        previous=overall_previous,
    )
    tables = [
        MetricTable(
            query=query,
            measure=measure,
            overall=overall,
            rows=_rows(scope, query, measure, counted, cells, previous_cells, period_totals),
            previous_range=window,
        )
    ]
    for margin in margins:
        positions = [query.by.index(d) for d in margin]
        if query.period is not None:
            positions.append(len(query.by))
        margin_query = replace(query, by=margin)
        tables.append(
            MetricTable(
                query=margin_query,
                measure=measure,
                overall=overall,
                rows=_rows(
                    scope,
                    margin_query,
                    measure,
                    counted,
                    _summed_cells(cells, positions),
                    _summed_cells(previous_cells, positions),
                    period_totals,
                ),
                previous_range=window,
            )
        )
    return tables


def _columnar(query: MetricQuery) -> bool:
    """Whether the query's cells can be scored as columns (`_columnar_table`): plain slices of
    its own dimensions and period, each cell one tally, flags (if asked) against one whole."""
    return (
        bool(query.by or query.period is not None)
        and query.weights is None
        and not query.segment_by
        and not query.rollup
        and not query.compare_previous
        and not (query.flag_below_average and query.period is not None)
    )


def _columnar_table(
    scope: Scope,
    query: MetricQuery,
    answers: ScopedAnswers,
    measure: MeasureSpec,
    filters: Filters,
) -> MetricTable:
    """The table of a `_columnar` query: its cells counted as columns, scored and flagged as
    arrays (`sonda.analytics.columnar`: the same figures as the cell-by-cell path), each row
    built when it is read. Thousands of unit × month cells cost what a few hundred did."""
    found = slice_columns(answers, measure, by=query.by, period=query.period, filters=filters)
    names = [d.value for d in query.by] + ([PERIOD] if query.period is not None else [])
    keys = [found.keys[name] for name in names]
    if len(found):
        # Summed in the order the engine returned the slices, as the cell-by-cell path adds them.
        whole = tally_of({n: reduce(add, v.tolist(), 0) for n, v in found.counts.items()}, measure)
    else:
        whole = empty_tally(measure)
    overall_score = whole.score(min_base=measure.min_base)
    flags = None
    if query.flag_below_average and len(found):
        flags = flags_vs_rest(measure, found.counts)
    labels = _Labels(scope=scope, query=query, values=[set(c) for c in keys[: len(query.by)]])
    return MetricTable(
        query=query,
        measure=measure,
        overall=MetricRow(key=(), labels=(_("All answers"),), score=overall_score),
        rows=_ColumnarRows(
            keys=keys,
            order=_reading_order(keys),
            scores=score_columns(measure, found.counts),
            flags=flags,
            labels=labels,
        ),
    )


def _reading_order(columns: Sequence[Sequence[Any]]) -> np.ndarray:
    """The positions of the rows sorted by their keys, empty values last (as `_Counter.ordered`)."""
    if not columns or not columns[0]:
        return np.arange(0)
    codes = []
    for column in columns:
        if all(type(v) is int for v in column):
            codes.append(np.array(column, dtype=np.int64))
            continue
        ranks = {v: i for i, v in enumerate(sorted({v for v in column if v is not None}))}
        last = len(ranks)
        codes.append(
            np.fromiter(
                (last if v is None else ranks[v] for v in column), dtype=np.int64, count=len(column)
            )
        )
    return np.lexsort(codes[::-1])


class _ColumnarRows(Sequence[MetricRow]):
    """A table's rows over its columns: each `MetricRow` is built when it is read."""

    def __init__(
        self,
        *,
        keys: Sequence[Sequence[Any]],
        order: np.ndarray,
        scores: ScoreColumns,
        flags: FlagColumns | None,
        labels: "_Labels",
    ) -> None:
        self._keys = keys
        self._order = order.tolist()
        self._scores = scores
        self._flags = flags
        self._labels = labels
        self._built: list[MetricRow | None] = [None] * len(self._order)  # pages read rows twice

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, index: int) -> MetricRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[MetricRow]: ...

    def __getitem__(self, index: int | slice) -> MetricRow | list[MetricRow]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._row(index)

    def __iter__(self) -> Iterator[MetricRow]:
        for i in range(len(self)):
            yield self._row(i)

    def __eq__(self, other: object) -> bool:
        # Equal to any sequence of the same rows, as the cell-by-cell path's list is.
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} metric rows>"

    def _row(self, index: int) -> MetricRow:
        built = self._built[index]
        if built is None:
            built = self._built[index] = self._build(index)
        return built

    def _build(self, index: int) -> MetricRow:
        position = self._order[index]
        key = tuple(column[position] for column in self._keys)
        flag, p_adjusted, effect = "", None, None
        if self._flags is not None:
            flag = self._flags.flags[position]
            p_adjusted = self._flags.q_values[position]
            effect = self._flags.effects[position]
        return MetricRow(
            key=key,
            labels=self._labels.of(key),
            score=self._scores.score(position),
            flag=flag,
            p_adjusted=p_adjusted,
            effect=effect,
        )


def _summed_cells(
    cells: Mapping[tuple[Any, ...], Mapping[Any, Tally]], positions: Sequence[int]
) -> dict[tuple[Any, ...], dict[Any, Tally]]:
    """The cells keyed by the values at `positions` only, the tallies of each segment summed."""
    out: dict[tuple[Any, ...], dict[Any, Tally]] = {}
    for key, tallies in cells.items():
        into = out.setdefault(tuple(key[i] for i in positions), {})
        for segment, tally in tallies.items():
            _add(into, segment, tally)
    return out


def _rows(
    scope: Scope,
    query: MetricQuery,
    measure: MeasureSpec,
    counted: "_Counter",
    cells: Mapping[tuple[Any, ...], Mapping[Any, Tally]],
    previous_cells: Mapping[tuple[Any, ...], Mapping[Any, Tally]],
    period_totals: Mapping[Any, Tally],
) -> list[MetricRow]:
    """A row per cell, in reading order, scored, compared and flagged as the query asks."""
    if not (query.by or query.segment_by or query.period is not None):
        return []
    flags = _flags(query, measure, cells, period_totals) if query.flag_below_average else {}
    labels = _Labels(
        scope=scope, query=query, values=[{k[i] for k in cells} for i in range(len(query.by))]
    )
    rows: list[MetricRow] = []
    for key in counted.ordered(cells):
        score = counted.score(cells[key])
        previous: Score | None = None
        if query.compare_previous:
            before_key = key
            if query.period is not None:
                before_key = (*key[:-1], _previous_period_start(key[-1], query.period))
            found = cells.get(before_key) if query.period is not None else None
            if found is None:
                found = previous_cells.get(before_key)
            if found is not None:
                previous = counted.score(found)
        verdict = flags.get(key)
        rows.append(
            MetricRow(
                key=key,
                labels=labels.of(key),
                score=score,
                change=_change(score, previous),
                previous=previous,
                flag=verdict[0] if verdict else "",
                p_adjusted=verdict[1] if verdict else None,
                effect=verdict[2] if verdict else None,
            )
        )
    return rows


def _change(score: Score, previous: Score | None) -> Difference | None:
    if previous is None or previous.n == 0 or score.n == 0:
        return None
    return difference(score, previous)


@dataclass
class _Counter:
    """Counts a query's cells: row key → tallies per customer segment (one segment, None,
    unless the query is weighted)."""

    answers: ScopedAnswers
    measure: MeasureSpec
    query: MetricQuery
    _unit_paths: dict[int, str] | None = None
    period_totals: dict[Any, Tally] = field(default_factory=dict)

    @property
    def weighted(self) -> bool:
        return self.query.weights is not None

    def cells(
        self, filters: Filters, *, keyed: bool = True
    ) -> tuple[dict[tuple[Any, ...], dict[Any, Tally]], dict[Any, Tally]]:
        """(row key → segment → tally, segment → tally over every answer counted). Also keeps
        the unweighted total of each period (None without a trend) in `period_totals`."""
        query = self.query
        dimensions: list[Dimension] = []
        if keyed:
            dimensions = [Dimension.UNIT_PATH] if query.rollup else list(query.by)
        if self.weighted or (keyed and query.segment_by):
            dimensions.append(Dimension.CUSTOMER)
        found = slices(
            self.answers,
            self.measure,
            by=dimensions,
            period=query.period if keyed else None,
            filters=filters,
        )
        segments: dict[Any, str] = self._segments(found) if self.weighted else {}
        grouped_by: dict[int, tuple[str, ...]] = (
            self._segment_values(found) if keyed and query.segment_by else {}
        )
        if keyed:
            self.period_totals = {}
        whole: dict[Any, Tally] = {}
        grouped: dict[tuple[Any, Any], list[Slice]] = defaultdict(list)
        for found_slice in found:
            segment = (
                segments.get(found_slice.key.get(Dimension.CUSTOMER.value), _NO_SEGMENT)
                if self.weighted
                else None
            )
            _add(whole, segment, found_slice.tally)
            if keyed:
                period = found_slice.key.get(PERIOD)
                _add(self.period_totals, period, found_slice.tally)
                grouped[(period, segment)].append(found_slice)
        if not found:
            whole[None] = empty_tally(self.measure)
        cells: dict[tuple[Any, ...], dict[Any, Tally]] = {}
        if not keyed or not (query.by or query.segment_by or query.period is not None):
            return cells, whole
        for (period, segment), group in grouped.items():
            suffix = (period,) if query.period is not None else ()
            if query.rollup:
                for unit_id, rolled in unit_rollup(group, self.unit_paths()).items():
                    _add(cells.setdefault((unit_id, *suffix), {}), segment, rolled.tally)
                continue
            for found_slice in group:
                base = tuple(found_slice.key[d.value] for d in query.by)
                if query.segment_by:
                    customer = found_slice.key.get(Dimension.CUSTOMER.value)
                    for value in grouped_by.get(customer, (None,)) if customer else (None,):
                        key = (*base, value, *suffix)
                        _add(cells.setdefault(key, {}), segment, found_slice.tally)
                    continue
                _add(cells.setdefault((*base, *suffix), {}), segment, found_slice.tally)
        return cells, whole

    def _attribute_values(self, found: Sequence[Slice], attribute: str) -> dict[int, Any]:
        """Customer id → the stored value of `attribute`, for the customers in `found` that
        have it, read a batch of customers at a time."""
        ids = sorted(
            {int(s.key[Dimension.CUSTOMER.value]) for s in found if s.key.get("customer_id")}
        )
        out: dict[int, Any] = {}
        for start in range(0, len(ids), _CUSTOMER_BATCH):
            batch = ids[start : start + _CUSTOMER_BATCH]
            for customer_id, attributes in Customer.objects.filter(
                organisation_id=self.answers.scope.organisation_id, pk__in=batch
            ).values_list("pk", "attributes"):
                value = (attributes or {}).get(attribute)
                if value is not None:
                    out[customer_id] = value
        return out

    def _segments(self, found: Sequence[Slice]) -> dict[int, str]:
        """Customer id → the value of the weighting attribute, for the customers in `found`."""
        out: dict[int, str] = {}
        for customer_id, value in self._attribute_values(
            found, self.query.weight_attribute
        ).items():
            # Read as the segment filter reads it (5.0 is "5", true is "true"); a list puts a
            # customer in several segments at once, which weighting cannot.
            texts = segment_texts(value) if not isinstance(value, list) else set()
            if len(texts) == 1:
                out[customer_id] = texts.pop()
        return out

    def _segment_values(self, found: Sequence[Slice]) -> dict[int, tuple[str, ...]]:
        """Customer id → the values of the `segment_by` attribute it holds (several for a
        list), for the customers in `found`."""
        out: dict[int, tuple[str, ...]] = {}
        for customer_id, value in self._attribute_values(found, self.query.segment_by).items():
            texts = segment_texts(value)
            if texts:
                out[customer_id] = tuple(sorted(texts))
        return out

    def unit_paths(self) -> dict[int, str]:
        """The units a roll-up reports: those within the reader's and the filter's subtree."""
        if self._unit_paths is None:
            scope = self.answers.scope
            units = Unit.objects.filter(organisation_id=scope.organisation_id)
            if scope.role == Role.MANAGER:
                units = units.filter(path__startswith=scope.unit_path or "\x00")
            if self.query.filters.unit_path:
                units = units.filter(path__startswith=self.query.filters.unit_path)
            self._unit_paths = dict(units.values_list("pk", "path").order_by("path"))
        return self._unit_paths

    def ordered(self, cells: Mapping[tuple[Any, ...], Any]) -> list[tuple[Any, ...]]:
        """Row keys in reading order: units down the tree for a roll-up, else by value (empty
        values last)."""
        if self.query.rollup:
            paths = self.unit_paths()
            return sorted(cells, key=lambda k: (paths.get(k[0], ""), *k[1:]))
        return sorted(cells, key=lambda k: tuple((v is None, _sortable(v)) for v in k))

    def score(self, tallies: Mapping[Any, Tally]) -> Score:
        if not self.weighted:
            total = reduce(add, tallies.values()) if tallies else empty_tally(self.measure)
            return total.score(min_base=self.measure.min_base)
        assert self.query.weights is not None
        return weighted_score(tallies, self.query.weights, self.measure)


def _sortable(value: Any) -> Any:
    return "" if value is None else value


def _add(into: dict[Any, Tally], segment: Any, tally: Tally) -> None:
    before = into.get(segment)
    into[segment] = tally if before is None else before + tally  # type: ignore[operator]


def _flags(
    query: MetricQuery,
    measure: MeasureSpec,
    cells: Mapping[tuple[Any, ...], Mapping[Any, Tally]],
    period_totals: Mapping[Any, Tally],
) -> dict[tuple[Any, ...], tuple[str, float | None, float | None]]:
    """Row key → (flag, BH-adjusted p, effect size), each slice against the rest of its period
    (of everything, without a trend). A rolled-up unit's rest is everything outside its subtree,
    so overlapping units are compared with the whole, not with the sum of the rows."""
    groups: dict[Any, dict[tuple[Any, ...], Tally]] = defaultdict(dict)
    for key, tallies in cells.items():
        period = key[-1] if query.period is not None else None
        groups[period][key] = reduce(add, tallies.values())
    out: dict[tuple[Any, ...], tuple[str, float | None, float | None]] = {}
    for period, group in groups.items():
        compared = slice_vs_rest(
            group,  # type: ignore[type-var]
            total=period_totals.get(period),
            min_base=measure.min_base,
        )
        for comparison in compared:
            flag = "" if comparison.flag == Flag.NONE else comparison.flag.value
            out[comparison.key] = (flag, comparison.q_value, comparison.effect_size)
    return out


# --- Weighting ----------------------------------------------------------------------------------


def _check_weights(weights: Mapping[str, float]) -> None:
    values = list(weights.values())
    if not values:
        raise ValidationFailed.on("weights", "name at least one segment")
    if not all(isinstance(w, int | float) and math.isfinite(w) for w in values):
        raise ValidationFailed.on("weights", "must all be finite numbers")
    if any(w < 0 for w in values):
        raise ValidationFailed.on("weights", "cannot be negative")
    if not math.fsum(values) > 0:
        raise ValidationFailed.on("weights", "must not sum to zero")


def weighted_score(
    tallies: Mapping[Any, Tally], weights: Mapping[str, float], measure: MeasureSpec
) -> Score:
    """The score of tallies per segment, post-stratified to the target shares in `weights`
    (renormalised over the segments present), on Kish's effective base.

    Each answer of segment s weighs w_s = t_s·N / n_s, N the answers of targeted segments, so
    Σw = N and n_eff = (Σw)² / Σw² = 1 / Σ t_s²/n_s: the same figures as
    `stats_weights.weighted_nps` (and share, mean) over the answers one by one.
    """
    present = {
        s: t for s, t in tallies.items() if isinstance(s, str) and t.n > 0 and weights.get(s, 0) > 0
    }
    kind = {Metric.NPS: Measure.NPS, Metric.MEAN: Measure.MEAN}.get(measure.metric, Measure.SHARE)
    if not present:
        return empty_score(kind, min_base=measure.min_base, effective_n=0.0)
    target_total = math.fsum(weights[s] for s in present)
    answered = sum(t.n for t in present.values())
    weight = {s: weights[s] / target_total * answered / t.n for s, t in present.items()}
    sum_w = math.fsum(weight[s] * t.n for s, t in present.items())
    sum_w2 = math.fsum(weight[s] ** 2 * t.n for s, t in present.items())
    n_eff = sum_w**2 / sum_w2
    first = next(iter(present.values()))
    if isinstance(first, NpsTally):
        nps = {s: t for s, t in present.items() if isinstance(t, NpsTally)}
        return nps_from_counts(
            promoters=math.fsum(weight[s] * t.promoters for s, t in nps.items()),
            passives=math.fsum(weight[s] * t.passives for s, t in nps.items()),
            detractors=math.fsum(weight[s] * t.detractors for s, t in nps.items()),
            n=answered,
            base=n_eff,
            min_base=measure.min_base,
            effective_n=n_eff,
        )
    if isinstance(first, ShareTally):
        shares = {s: t for s, t in present.items() if isinstance(t, ShareTally)}
        share = math.fsum(weight[s] * t.successes for s, t in shares.items()) / sum_w
        return share_from_base(
            share=min(1.0, share),
            n=answered,
            base=n_eff,
            min_base=measure.min_base,
            effective_n=n_eff,
        )
    means = {s: t for s, t in present.items() if isinstance(t, MeanTally)}
    mean = math.fsum(weight[s] * t.total for s, t in means.items()) / sum_w
    variance = None
    if round(n_eff, 9) > 1:
        spread = math.fsum(
            weight[s] * (t.total_of_squares - 2 * mean * t.total + t.n * mean**2)
            for s, t in means.items()
        )
        variance = max(0.0, spread) / sum_w * n_eff / (n_eff - 1)
    return mean_from_moments(
        mean=mean,
        variance=variance,
        n=answered,
        base=n_eff,
        min_base=measure.min_base,
        effective_n=n_eff,
    )


# --- Labels -------------------------------------------------------------------------------------


class _Labels:
    """Human labels for row keys, each model's names read in one query."""

    def __init__(self, *, scope: Scope, query: MetricQuery, values: Sequence[set[Any]]):
        """`values`: the values of each dimension of `query.by` that the rows hold."""
        self.query = query
        self.names: dict[Dimension, dict[Any, str]] = {}
        for dimension, found in zip(query.by, values, strict=True):
            self.names[dimension] = _names(scope, dimension, found - {None})

    def of(self, key: tuple[Any, ...]) -> tuple[str, ...]:
        labels = [self._one(d, v) for d, v in zip(self.query.by, key, strict=False)]
        if self.query.segment_by:
            value = key[len(self.query.by)]
            labels.append(_("(none)") if value is None else str(value))
        if self.query.period is not None:
            labels.append(period_label(key[-1], self.query.period))
        return tuple(labels)

    def _one(self, dimension: Dimension, value: Any) -> str:
        if value is None or value == "":
            return _("(none)")
        if dimension == Dimension.WEEKDAY:
            return str(WEEKDAYS_ABBR[int(value)])
        if dimension == Dimension.HOUR:
            return f"{int(value):02d}:00"
        return self.names.get(dimension, {}).get(value, str(value))


def _names(scope: Scope, dimension: Dimension, values: set[Any]) -> dict[Any, str]:
    if not values:
        return {}
    organisation_id = scope.organisation_id
    if dimension == Dimension.UNIT:
        units = Unit.objects.filter(organisation_id=organisation_id)
        if len(values) <= _NAMES_BY_ID:
            return dict(units.filter(pk__in=values).values_list("pk", "name"))
        # Many units (a table of every branch): the organisation's names in one plain read,
        # without hundreds of parameters to prepare.
        return {pk: name for pk, name in units.values_list("pk", "name") if pk in values}
    if dimension == Dimension.UNIT_PATH:
        ids = {int(p.rstrip(".").rsplit(".", 1)[-1]): p for p in values if p}
        names = Unit.objects.filter(organisation_id=organisation_id, pk__in=ids)
        return {ids[pk]: name for pk, name in names.values_list("pk", "name")}
    models: dict[Dimension, Any] = {
        Dimension.EMPLOYEE: (Person, "full_name"),
        Dimension.SURVEY: (Survey, "name"),
        Dimension.PROGRAM: (Program, "name"),
    }
    if dimension in models:
        model, name = models[dimension]
        return dict(
            model.objects.filter(organisation_id=organisation_id, pk__in=values).values_list(
                "pk", name
            )
        )
    return {}


# --- Side by side: competitors, relationship vs transactional -----------------------------------


@dataclass(frozen=True)
class _NpsQuestion:
    key: str
    program_id: int
    program_kind: str
    competitor: str
    promoter_min: float
    detractor_max: float
    min_base: int


def _nps_questions(scope: Scope) -> list[_NpsQuestion]:
    rows = (
        Question.objects.filter(organisation_id=scope.organisation_id, kind="nps")
        .values_list(
            "key",
            "version__survey__program_id",
            "version__survey__program__kind",
            "competitor",
            "version__survey__program__promoter_min",
            "version__survey__program__detractor_max",
            "version__survey__program__minimum_base",
        )
        .distinct()
        .order_by()
    )
    return sorted({_NpsQuestion(*row) for row in rows}, key=lambda q: (q.key, q.program_id))


def _nps_by_program(
    answers: ScopedAnswers, questions: Sequence[_NpsQuestion], filters: Filters
) -> dict[tuple[str, int], NpsTally]:
    """(question key, program id) → the NPS tally of its answers, one query per question key
    and set of thresholds (programs rarely differ in them)."""
    groups: dict[tuple[str, float, float], set[int]] = defaultdict(set)
    for question in questions:
        groups[(question.key, question.promoter_min, question.detractor_max)].add(
            question.program_id
        )
    out: dict[tuple[str, int], NpsTally] = {}
    for (key, promoter_min, detractor_max), program_ids in groups.items():
        measure = MeasureSpec(
            question_key=key,
            kind="nps",
            metric=Metric.NPS,
            promoter_min=promoter_min,
            detractor_max=detractor_max,
        )
        for found in slices(answers, measure, by=[Dimension.PROGRAM], filters=filters):
            program_id = found.key[Dimension.PROGRAM.value]
            if program_id in program_ids and isinstance(found.tally, NpsTally):
                out[(key, program_id)] = found.tally
    return out


def _summed(
    tallies: Mapping[tuple[str, int], NpsTally], questions: Iterable[_NpsQuestion]
) -> NpsTally:
    total = NpsTally(0, 0, 0)
    for question in {(q.key, q.program_id) for q in questions}:
        found = tallies.get(question)
        if found is not None:
            total = total + found
    return total


def competitor_scores(*, scope: Scope, filters: Filters) -> list[MetricRow]:
    """Our NPS from relationship surveys, then each competitor's (the surveys' "would you
    recommend competitor X" questions, `Question.competitor`), each with its interval; key
    ("",) for ours and (competitor,) for theirs. Empty when no relationship survey asks
    about a competitor."""
    return side_by_side(scope=scope, filters=filters).competitors


def relationship_vs_transactional(*, scope: Scope, filters: Filters) -> list[MetricRow]:
    """NPS of relationship and of transactional programs side by side (our own NPS questions,
    not the ones about competitors), keys ("relationship",) and ("transactional",); a kind with
    no NPS question is left out."""
    return side_by_side(scope=scope, filters=filters).programs


@dataclass(frozen=True)
class SideBySide:
    programs: list[MetricRow]  # relationship_vs_transactional's rows
    competitors: list[MetricRow]  # competitor_scores' rows


def side_by_side(*, scope: Scope, filters: Filters) -> SideBySide:
    """Relationship vs transactional NPS and our NPS vs each competitor's, from one count of
    the NPS answers per program and question (the two share our relationship NPS)."""
    _check_filters(scope, filters)
    questions = _nps_questions(scope)
    if not questions:
        return SideBySide(programs=[], competitors=[])
    tallies = _nps_by_program(scoped_answers(scope=scope), questions, filters)
    programs: list[MetricRow] = []
    ours = [q for q in questions if not q.competitor]
    for kind in (ProgramKind.RELATIONSHIP, ProgramKind.TRANSACTIONAL):
        asked = [q for q in ours if q.program_kind == kind]
        if not asked:
            continue
        tally = _summed(tallies, asked)
        programs.append(
            MetricRow(
                key=(kind.value,),
                labels=(str(kind.label),),
                score=tally.score(min_base=max(q.min_base for q in asked)),
            )
        )
    relationship = [q for q in questions if q.program_kind == ProgramKind.RELATIONSHIP]
    competitors: list[MetricRow] = []
    names = sorted({q.competitor for q in relationship if q.competitor})
    for competitor in ["", *names] if names else []:
        asked = [q for q in relationship if q.competitor == competitor]
        tally = _summed(tallies, asked)
        label = competitor or scope.organisation.name
        competitors.append(
            MetricRow(
                key=(competitor,),
                labels=(label,),
                score=tally.score(min_base=max(q.min_base for q in asked)),
            )
        )
    return SideBySide(programs=programs, competitors=competitors)
