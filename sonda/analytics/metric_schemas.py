"""What /metrics takes and gives: a question, dimensions, a trend and filters in; scored rows out.

Every figure travels with its n and its 95% interval; below the program's minimum base `value`,
`low` and `high` are null and `too_few` is true, so a client cannot show a figure the base does
not support.
"""

from datetime import date
from typing import Any

from ninja import Field, Schema

from sonda.analytics.metrics import MetricRow, MetricTable
from sonda.analytics.queries import Metric, Period
from sonda.analytics.significance import Difference
from sonda.analytics.stats import Score


class MetricsQuery(Schema):
    question: str = Field(
        ..., min_length=1, max_length=40, description="The question's key, e.g. `ltr`."
    )
    metric: Metric | None = Field(
        None,
        description="nps, top_box, mean or yes_share; default: the question kind's headline one "
        "(NPS for nps, top box for csat/ces/rating, yes share for yes/no).",
    )
    by: list[str] = Field(
        default_factory=list,
        description="Up to two dimensions, repeated or comma-separated: unit_id, employee_id, "
        "touchpoint, channel, journey, stage, language, survey_id, program_id, weekday, hour, "
        "or segment:<customer attribute> (e.g. segment:tier), whose value comes last in a key.",
    )
    period: Period | None = Field(None, description="A trend: one row per day, week, month…")
    date_from: date | None = Field(None, description="Answers on or after this day (local).")
    date_to: date | None = Field(None, description="…and on or before this day.")
    survey_id: int | None = None
    program_id: int | None = None
    unit_id: int | None = Field(None, description="This unit and its subtree.")
    employee_id: int | None = None
    touchpoint: str = Field("", max_length=100)
    channel: str = Field("", max_length=32)
    journey: str = Field("", max_length=100)
    stage: str = Field("", max_length=100)
    language: str = Field("", max_length=8)
    complete_only: bool = Field(False, description="Only answers of complete responses.")
    compare_previous: bool = Field(
        False,
        description="Each row's change against the previous period: in a trend the period "
        "before, else the range before date_from…date_to (the previous calendar months when "
        "the range is whole months).",
    )
    flag_below_average: bool = Field(
        False,
        description="With one or two dimensions: each slice (with two, each pair of values, "
        "e.g. a weekday at an hour) against the rest, flagged below or above where the "
        "difference survives Benjamini–Hochberg at a 5% false discovery rate over all the "
        "slices tested.",
    )
    rollup: bool = Field(False, description="With by=unit_id: each unit with its subtree.")
    segment_attribute: str = Field(
        "",
        max_length=64,
        description="With segment_value: only the answers of the organisation's customers in "
        "this segment, e.g. segment_attribute=tier&segment_value=business. A list attribute "
        "(products) holds a customer in one segment per element. A segment no customer is in "
        "counts no answers (n = 0), it is not an error.",
    )
    segment_value: str = Field("", max_length=200, description="The segment's value.")
    weight_attribute: str = Field(
        "",
        max_length=64,
        description="With weights: the customer attribute whose values the weights are for, "
        "e.g. tier.",
    )
    weights: list[str] = Field(
        default_factory=list,
        description="Post-stratify each figure to target shares of the weight_attribute's "
        "values: `value:share` pairs, comma-separated or repeated, e.g. "
        "`weights=business:0.3,retail:0.7` (a value cannot contain a comma). Shares must be "
        "0 or more and not all 0; they are renormalised over the values each row has, so "
        "30 and 70 mean the same as 0.3 and 0.7. An answer weighs its value's target share "
        "divided by that value's share of the row's answers; answers whose customer has no "
        "targeted value (or a list, such as products) weigh 0 and are not in `n`. Each row "
        "then reports `effective_n`, Kish's effective base (Σw)²/Σw², on which its interval "
        "and minimum base rest. Not with flag_below_average, whose tests compare unweighted "
        "answers.",
    )


class ChangeOut(Schema):
    difference: float | None = Field(description="This period minus the previous one.")
    low: float | None
    high: float | None
    p_value: float | None = Field(description="Two-sided test of no change.")


class MetricRowOut(Schema):
    key: list[Any] = Field(description="The row's dimension values, then the period's first day.")
    labels: list[str]
    n: int
    effective_n: float | None = Field(
        None,
        description="Weighted figures: Kish's effective base (Σw)²/Σw², on which the interval "
        "and the minimum base rest; null when unweighted.",
    )
    value: float | None = Field(description="Null below the minimum base.")
    low: float | None = Field(description="95% interval, lower end (null below the base).")
    high: float | None
    too_few: bool
    min_base: int
    shares: dict[str, float] | None = Field(None, description="NPS: promoters, passives…")
    previous_n: int | None = None
    previous_value: float | None = None
    change: ChangeOut | None = None
    flag: str = Field("", description="below, above or empty.")
    p_adjusted: float | None = Field(None, description="Benjamini–Hochberg adjusted p-value.")
    effect: float | None = Field(None, description="Cohen's d (h for shares), slice − rest.")


class MetricsOut(Schema):
    question: str
    kind: str
    metric: str
    min_base: int
    previous_from: date | None = None
    previous_to: date | None = None
    segment_attribute: str | None = Field(None, description="The segment counted, if any.")
    segment_value: str | None = None
    weight_attribute: str | None = Field(None, description="Weighted by, if weighted.")
    weights: dict[str, float] | None = Field(None, description="The target shares, as asked.")
    overall: MetricRowOut
    rows: list[MetricRowOut]


def _plain_key(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _change(change: Difference | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "difference": change.difference,
        "low": change.low,
        "high": change.high,
        "p_value": change.p_value,
    }


def score_json(score: Score) -> dict[str, Any]:
    """A score as the API shows it: nothing but n below the minimum base."""
    hidden = score.too_few
    return {
        "n": score.n,
        "effective_n": score.effective_n,
        "value": None if hidden else score.value,
        "low": None if hidden else score.low,
        "high": None if hidden else score.high,
        "too_few": score.too_few,
        "min_base": score.base_min,
        "shares": None if hidden else score.shares,
    }


def row_json(row: MetricRow) -> dict[str, Any]:
    previous = row.previous
    # A change is shown only when both sides could be shown.
    change = (
        row.change if previous is not None and not (previous.too_few or row.score.too_few) else None
    )
    return {
        "key": [_plain_key(v) for v in row.key],
        "labels": list(row.labels),
        **score_json(row.score),
        "previous_n": previous.n if previous is not None else None,
        "previous_value": previous.shown_value if previous is not None else None,
        "change": _change(change),
        "flag": row.flag,
        "p_adjusted": row.p_adjusted,
        "effect": row.effect,
    }


def table_json(table: MetricTable) -> dict[str, Any]:
    window = table.previous_range
    query = table.query
    return {
        "question": table.measure.question_key,
        "kind": table.measure.kind,
        "metric": table.measure.metric.value,
        "min_base": table.measure.min_base,
        "previous_from": window[0] if window else None,
        "previous_to": window[1] if window else None,
        "segment_attribute": query.segment_attribute or None,
        "segment_value": query.segment_value or None,
        "weight_attribute": query.weight_attribute or None,
        "weights": dict(query.weights) if query.weights is not None else None,
        "overall": row_json(table.overall),
        "rows": [row_json(row) for row in table.rows],
    }
