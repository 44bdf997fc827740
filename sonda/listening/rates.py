"""Reads of invitations for the listening reports: response rates, the invitations list and the
customers who stopped answering.

Response rates follow an invitation's life cycle as a funnel: each stage counts the invitations
that reached it or a later one (a completed invitation was opened, even when the opening was not
recorded), so the stages never grow along the funnel. The rate is completed / sent with a Wilson
95% interval; a group with fewer invitations than its program's minimum base shows no rate.

Whole-organisation readers see every invitation; a manager sees the invitations of their unit
subtree (by the invitation's unit); frontline employees none.
"""

import math
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext_lazy as _

from sonda.accounts.access import READ_CUSTOMERS, Scope
from sonda.accounts.models import Role
from sonda.core.errors import PermissionDenied, ValidationFailed
from sonda.customers.models import Customer
from sonda.listening.decisions import local_day_start, organisation_clock
from sonda.listening.models import Invitation, InvitationStatus
from sonda.listening.simulation import SENT, Z95
from sonda.org.models import Unit
from sonda.surveys.models import Response, ResponseStatus

DEFAULT_MINIMUM_BASE = 30
MAX_DAYS = 731
GROUPINGS = {
    "survey": _("Survey"),
    "delivery": _("Delivery (email, SMS, link)"),
    "channel": _("Interaction channel"),
    "unit": _("Unit"),
    "segment": _("Customer segment"),
}
# An attribute key: never "__", which Django would read as a further look-up.
SEGMENT_KEY = re.compile(r"^(?!.*__)[A-Za-z0-9_.\-]{1,64}$")

# Each stage of the funnel: reached it, or a later one.
COMPLETED = Q(completed_at__isnull=False)
# Ids per `IN (...)` list: well under SQLite's limit on a statement's parameters.
ID_BATCH = 5_000
STARTED = Q(started_at__isnull=False) | COMPLETED
OPENED = Q(opened_at__isnull=False) | STARTED
DELIVERED = Q(delivered_at__isnull=False) | OPENED


def wilson_interval(*, successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None without trials)."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _visible_invitations(scope: Scope) -> QuerySet[Invitation]:
    invitations = Invitation.objects.filter(organisation=scope.organisation)
    if scope.sees_whole_organisation:
        return invitations
    if scope.role == Role.MANAGER and scope.unit_path:
        return invitations.filter(unit__path__startswith=scope.unit_path)
    raise PermissionDenied(f"Your role ({scope.role}) may not read invitations.")


def _period(
    scope: Scope, date_from: date | None, date_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the days in the organisation's time zone; either end may be open."""
    if date_from and date_to:
        if date_to < date_from:
            raise ValidationFailed.on("date_to", "must not be before date_from")
        if (date_to - date_from).days >= MAX_DAYS:
            raise ValidationFailed.on("date_to", f"a report covers at most {MAX_DAYS} days")
    zone: ZoneInfo = organisation_clock(scope.organisation_id)[1]
    start = local_day_start(date_from, zone) if date_from else None
    end = local_day_start(date_to + timedelta(days=1), zone) if date_to else None
    return start, end


def _created_within(
    invitations: QuerySet[Invitation], start: datetime | None, end: datetime | None
) -> QuerySet[Invitation]:
    if start is not None:
        invitations = invitations.filter(created_at__gte=start)
    if end is not None:
        invitations = invitations.filter(created_at__lt=end)
    return invitations


# Response rates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateRow:
    key: str
    label: str
    sent: int
    delivered: int
    opened: int
    started: int
    completed: int
    minimum_base: int
    too_few: bool  # fewer invitations sent than the minimum base: no rate is shown
    rate: float | None
    rate_low: float | None
    rate_high: float | None


@dataclass(frozen=True)
class ResponseRates:
    by: str
    segment: str
    date_from: date | None
    date_to: date | None
    rows: list[RateRow]
    total: RateRow

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate_row(key: str, label: str, row: dict[str, Any]) -> RateRow:
    sent = row["sent"]
    base = row.get("minimum_base") or DEFAULT_MINIMUM_BASE
    too_few = sent < base
    interval = None if too_few else wilson_interval(successes=row["completed"], n=sent)
    return RateRow(
        key=key,
        label=label,
        sent=sent,
        delivered=row["delivered"],
        opened=row["opened"],
        started=row["started"],
        completed=row["completed"],
        minimum_base=base,
        too_few=too_few,
        rate=None if interval is None else round(row["completed"] / sent, 6),
        rate_low=None if interval is None else round(interval[0], 6),
        rate_high=None if interval is None else round(interval[1], 6),
    )


FUNNEL = {
    "sent": Count("id"),
    "delivered": Count("id", filter=DELIVERED),
    "opened": Count("id", filter=OPENED),
    "started": Count("id", filter=STARTED),
    "completed": Count("id", filter=COMPLETED),
    # A group mixing programs takes the strictest of their minimum bases.
    "minimum_base": Max("survey__program__minimum_base"),
}


def response_rates(
    *,
    scope: Scope,
    by: str = "survey",
    date_from: date | None = None,
    date_to: date | None = None,
    segment: str = "",
    survey_id: int | None = None,
) -> ResponseRates:
    """Sent, delivered, opened, started and completed invitations and the response rate per
    group, of the invitations created in [date_from, date_to] (skipped ones were never sent)."""
    if by not in GROUPINGS:
        raise ValidationFailed.on("by", f"must be one of {', '.join(GROUPINGS)}")
    if by == "segment" and not segment:
        raise ValidationFailed.on("segment", "name the customer attribute to group by")
    if segment and not SEGMENT_KEY.match(segment):
        raise ValidationFailed.on(
            "segment", "letters, digits, '_', '.' or '-' (no '__'), at most 64"
        )
    start, end = _period(scope, date_from, date_to)
    sent = _created_within(_visible_invitations(scope).filter(SENT), start, end)
    if survey_id is not None:
        sent = sent.filter(survey_id=survey_id)
    total = _rate_row("", str(_("All")), sent.aggregate(**FUNNEL))
    rows: list[RateRow] = []
    if by == "survey":
        for row in sent.values("survey_id", "survey__name").annotate(**FUNNEL):
            rows.append(_rate_row(str(row["survey_id"]), row["survey__name"], row))
    elif by in ("delivery", "channel"):
        for row in sent.values(by).annotate(**FUNNEL):
            rows.append(_rate_row(row[by], row[by] or "—", row))
    elif by == "unit":
        grouped = sent.values("unit_id", "unit__name", "unit__code", "unit__path")
        for row in grouped.annotate(**FUNNEL).order_by("unit__path"):
            label = f"{row['unit__name']} ({row['unit__code']})" if row["unit_id"] else "—"
            rows.append(_rate_row(str(row["unit_id"] or ""), label, row))
    else:
        by_segment = sent.annotate(
            segment_value=KeyTextTransform(segment, "customer__attributes")
        ).values("segment_value")
        for row in by_segment.annotate(**FUNNEL):
            value = row["segment_value"] or ""
            rows.append(_rate_row(value, value or "—", row))
    if by != "unit":
        rows.sort(key=lambda row: (row.label == "—", row.label.lower()))
    return ResponseRates(
        by=by, segment=segment, date_from=date_from, date_to=date_to, rows=rows, total=total
    )


# The invitations list --------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationFilters:
    status: str = ""
    survey_id: int | None = None
    delivery: str = ""
    unit_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    invitation_id: int | None = None


def invitation_list(
    *, scope: Scope, filters: InvitationFilters | None = None
) -> QuerySet[Invitation]:
    """The invitations in scope that meet the filters, newest first."""
    f = filters or InvitationFilters()
    invitations = _visible_invitations(scope)
    if f.invitation_id is not None:
        invitations = invitations.filter(pk=f.invitation_id)
    if f.status:
        invitations = invitations.filter(status=f.status)
    if f.survey_id is not None:
        invitations = invitations.filter(survey_id=f.survey_id)
    if f.delivery:
        invitations = invitations.filter(delivery=f.delivery)
    if f.unit_id is not None:
        path = (
            Unit.objects.filter(organisation=scope.organisation, pk=f.unit_id)
            .values_list("path", flat=True)
            .first()
        )
        if path is None:
            return invitations.none()
        invitations = invitations.filter(unit__path__startswith=path)
    start, end = _period(scope, f.date_from, f.date_to)
    return (
        _created_within(invitations, start, end)
        .select_related("survey", "unit", "customer", "skip_contact_rule")
        .order_by("-created_at", "-id")
    )


# Non-responders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NonResponder:
    customer_id: int
    full_name: str
    segment: str
    invitations: int
    last_invited_at: datetime


def _answered(
    scope: Scope, customer_ids: list[int], *, start: datetime | None, end: datetime | None
) -> set[int]:
    """Those of `customer_ids` with a complete response in the period."""
    answered: set[int] = set()
    for first in range(0, len(customer_ids), ID_BATCH):
        responses = Response.objects.filter(
            organisation=scope.organisation,
            customer_id__in=customer_ids[first : first + ID_BATCH],
            status=ResponseStatus.COMPLETE,
        )
        if start is not None:
            responses = responses.filter(completed_at__gte=start)
        if end is not None:
            responses = responses.filter(completed_at__lt=end)
        answered.update(responses.order_by().values_list("customer_id", flat=True).distinct())
    return answered


def non_responders(
    *,
    scope: Scope,
    date_from: date | None = None,
    date_to: date | None = None,
    min_invitations: int = 3,
    segment: str = "",
    segment_value: str = "",
) -> list[NonResponder]:
    """Customers sent at least `min_invitations` invitations in the period who completed none of
    them and gave no complete response in the period either, most invited first.

    In B2B the least loyal accounts are often those that stop answering.
    """
    scope.require(READ_CUSTOMERS, "read customers")
    if min_invitations < 1:
        raise ValidationFailed.on("min_invitations", "must be at least 1")
    if segment and not SEGMENT_KEY.match(segment):
        raise ValidationFailed.on(
            "segment", "letters, digits, '_', '.' or '-' (no '__'), at most 64"
        )
    if segment_value and not segment:
        raise ValidationFailed.on("segment", "name the attribute the value belongs to")
    start, end = _period(scope, date_from, date_to)
    sent = _created_within(
        Invitation.objects.filter(SENT, organisation=scope.organisation, customer__isnull=False),
        start,
        end,
    )
    if segment_value:
        # The key is checked above; a JSON key look-up compares the stored value as JSON.
        sent = sent.filter(**{f"customer__attributes__{segment}__exact": segment_value})
    rows = (
        sent.values("customer_id")
        .annotate(
            invitations=Count("id"),
            completed=Count("id", filter=Q(status=InvitationStatus.COMPLETED) | COMPLETED),
            last_invited_at=Max("created_at"),
        )
        .filter(invitations__gte=min_invitations, completed=0)
        .order_by("-invitations", "-last_invited_at", "customer_id")
    )
    candidates = list(rows)
    # Who answered in the period anyway (a survey without an invitation, an open link) is not
    # silent. Asked for the candidates only, through the index on the response's customer: a
    # correlated EXISTS per invitation row would scan the organisation's responses each time.
    answered = _answered(scope, [row["customer_id"] for row in candidates], start=start, end=end)
    found = [row for row in candidates if row["customer_id"] not in answered]
    ids = [row["customer_id"] for row in found]
    customers = {
        customer.pk: customer
        for first in range(0, len(ids), ID_BATCH)
        for customer in Customer.objects.filter(
            organisation=scope.organisation, pk__in=ids[first : first + ID_BATCH]
        )
    }
    return [
        NonResponder(
            customer_id=row["customer_id"],
            full_name=customers[row["customer_id"]].full_name,
            segment=_attribute(customers[row["customer_id"]], segment),
            invitations=row["invitations"],
            last_invited_at=row["last_invited_at"],
        )
        for row in found
    ]


def _attribute(customer: Customer, key: str) -> str:
    if not key:
        return ""
    value = (customer.attributes or {}).get(key)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)
