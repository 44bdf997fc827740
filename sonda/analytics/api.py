"""/metrics: the metrics facade over the API, scoped like every other read (managers their
subtree, frontline employees their own answers)."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from sonda.analytics.metric_schemas import MetricsOut, MetricsQuery, table_json
from sonda.analytics.metrics import MetricQuery, metric_table, unit_filter_path
from sonda.analytics.queries import Dimension, Filters
from sonda.api.auth import scope_of
from sonda.core.errors import ValidationFailed

router = Router(tags=["metrics"])

# The API names a unit by id; by=unit_path is for roll-ups inside the analytics layer.
_DIMENSIONS = {d.value: d for d in Dimension if d not in (Dimension.UNIT_PATH, Dimension.CUSTOMER)}


def _weights(values: list[str]) -> dict[str, float] | None:
    """The target share per value, e.g. {"business": 0.3, "retail": 0.7} from
    "business:0.3,retail:0.7" or the pairs repeated; None when no weights are asked for.
    Signs and sums are MetricQuery's to check."""
    pairs = [pair.strip() for value in values for pair in value.split(",") if pair.strip()]
    if not pairs:
        return None
    out: dict[str, float] = {}
    for pair in pairs:
        segment, colon, share = pair.rpartition(":")
        segment = segment.strip()
        try:
            number = float(share) if colon and segment else None
        except ValueError:
            number = None
        if number is None:
            raise ValidationFailed.on(
                "weights", f"'{pair}' is not value:share (e.g. business:0.3,retail:0.7)"
            )
        if segment in out:
            raise ValidationFailed.on("weights", f"names '{segment}' twice")
        out[segment] = number
    return out


_SEGMENT_PREFIX = "segment:"


def _dimensions(values: list[str]) -> tuple[tuple[Dimension, ...], str]:
    """The dimensions named in `by`, and the customer attribute of a `segment:<attribute>`."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    segments = [name for name in names if name.startswith(_SEGMENT_PREFIX)]
    if len(segments) > 1:
        raise ValidationFailed.on("by", "groups by one customer attribute (segment:…) at most")
    names = [name for name in names if not name.startswith(_SEGMENT_PREFIX)]
    unknown = [name for name in names if name not in _DIMENSIONS]
    if unknown:
        raise ValidationFailed.on(
            "by",
            f"unknown dimension '{unknown[0]}' (one of {', '.join(_DIMENSIONS)}, "
            "or segment:<customer attribute>)",
        )
    attribute = segments[0].removeprefix(_SEGMENT_PREFIX).strip() if segments else ""
    if segments and not attribute:
        raise ValidationFailed.on("by", "segment: needs a customer attribute, e.g. segment:tier")
    return tuple(_DIMENSIONS[name] for name in names), attribute


@router.get(
    "",
    response=MetricsOut,
    summary="A measure by dimension and period, with n, intervals, change and flags",
    description=(
        "NPS (adjusted Wald interval), top-box and yes shares (Wilson) or means (t) of one "
        "question, overall and per row of up to two dimensions and a period, on the "
        "organisation's clock. Below the program's minimum base a row has n but no value. "
        "`by=segment:tier` groups by a customer attribute's values (after the other "
        "dimensions in each row's key; a list attribute such as products counts a customer in "
        "each of its values). `compare_previous` adds each row's change against the previous "
        "period with its "
        "z-test (Welch's t for means); `flag_below_average` flags slices below or above the rest "
        "under Benjamini–Hochberg. `segment_attribute` and `segment_value` count only the "
        "answers of the customers in a segment (tier=business); `weight_attribute` and "
        "`weights` (`business:0.3,retail:0.7`) post-stratify each figure to target shares of "
        "a customer attribute's values and report Kish's effective base as `effective_n`. "
        "Managers see their unit subtree, frontline employees their own answers; another "
        "organisation's survey, unit or employee is not found."
    ),
)
def metrics(request: HttpRequest, query: Query[MetricsQuery]) -> dict[str, Any]:
    scope = scope_of(request)
    if query.date_from and query.date_to and query.date_to < query.date_from:
        raise ValidationFailed.on("date_to", "must not be before date_from")
    unit_path = ""
    if query.unit_id is not None:
        unit_path = unit_filter_path(scope=scope, unit_id=query.unit_id)
    filters = Filters(
        survey_id=query.survey_id,
        program_id=query.program_id,
        unit_path=unit_path,
        employee_id=query.employee_id,
        touchpoint=query.touchpoint,
        channel=query.channel,
        journey=query.journey,
        stage=query.stage,
        language=query.language,
        complete_only=query.complete_only,
        start=query.date_from,
        end=query.date_to,
    )
    by, segment_by = _dimensions(query.by)
    try:
        wanted = MetricQuery(
            question=query.question,
            metric=query.metric,
            by=by,
            segment_by=segment_by,
            period=query.period,
            filters=filters,
            compare_previous=query.compare_previous,
            flag_below_average=query.flag_below_average,
            rollup=query.rollup,
            weights=_weights(query.weights),
            weight_attribute=query.weight_attribute.strip(),
            segment_attribute=query.segment_attribute.strip(),
            segment_value=query.segment_value.strip(),
        )
        table = metric_table(scope=scope, query=wanted)
    except ValidationFailed as exc:
        if exc.errors and exc.errors[0].field == "compare_previous":
            raise ValidationFailed.on(
                "compare_previous", "needs date_from and date_to (or a period)"
            ) from exc
        raise
    return table_json(table)
