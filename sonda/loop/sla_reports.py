"""Scoped reads of the SLAs: overdue cases, overdue counts per owner, attainment by unit or owner.

The rules (what is overdue, when a deadline is decided, who reads these) are `sonda.loop.sla`'s.
Every read starts from `case_list`, the one guarded way to cases, so a manager sees the cases of
their subtree (and their own and their functions'), executives, analysts and admins every case;
frontline employees are refused.
"""

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    When,
)
from django.db.models import Case as Choose
from django.utils.translation import gettext as _

from sonda.accounts.access import READ_WHOLE_ORGANISATION, Scope
from sonda.accounts.models import Role
from sonda.analytics.stats import is_too_few, wilson_interval
from sonda.core.errors import PermissionDenied, ValidationFailed
from sonda.loop.models import Case
from sonda.loop.selectors import case_list
from sonda.loop.sla import AWAITING_CONTACT, AWAITING_RESOLUTION, SlaClock, sla_clock

REPORT_READERS = READ_WHOLE_ORGANISATION | {Role.MANAGER}
DEFAULT_MINIMUM_BASE = 30
MAX_DAYS = 731
GROUPINGS = ("unit", "owner")


# Past a deadline it has not met (see `sonda.loop.sla`).
def _first_contact_missed(now: datetime) -> Q:
    return Q(state__in=AWAITING_CONTACT, first_contact_at__isnull=True, first_contact_due__lt=now)


def _close_missed(now: datetime) -> Q:
    return Q(state__in=AWAITING_RESOLUTION, close_due__lt=now)


def _require_reader(scope: Scope) -> None:
    if scope.role not in REPORT_READERS:
        raise PermissionDenied(
            _("Your role may not read SLA reports; your own cases show their deadlines.")
        )


def _flag(condition: Q) -> ExpressionWrapper[Q]:
    return ExpressionWrapper(condition, output_field=BooleanField())


# Overdue cases -----------------------------------------------------------------------------------


def overdue_cases(
    *,
    scope: Scope,
    now: datetime,
    owner_id: int | None = None,
    unit_id: int | None = None,
) -> QuerySet[Case]:
    """Open cases past a deadline they have not met, the longest overdue first.

    Each carries `first_contact_overdue`, `close_overdue` and `missed_due` (the earliest missed
    deadline). `unit_id` narrows to a unit's subtree, `owner_id` to one owner's cases.
    """
    _require_reader(scope)
    first_contact, close = _first_contact_missed(now), _close_missed(now)
    return (
        case_list(scope=scope, owner_id=owner_id, unit_id=unit_id)
        .filter(first_contact | close)
        .select_related("owner", "unit", "escalated_to")
        .annotate(
            first_contact_overdue=_flag(first_contact),
            close_overdue=_flag(close),
            missed_due=Choose(
                When(first_contact, then=F("first_contact_due")),
                default=F("close_due"),
                output_field=DateTimeField(),
            ),
        )
        .order_by("missed_due", "priority_rank", "pk")
    )


def overdue_by_owner(
    *, scope: Scope, now: datetime, unit_id: int | None = None
) -> list[dict[str, Any]]:
    """Overdue cases per owner: `{"owner_id", "owner_name", "overdue", "first_contact",
    "close"}`, the most overdue owner first; the fallback queue is `owner_id` None."""
    _require_reader(scope)
    first_contact, close = _first_contact_missed(now), _close_missed(now)
    rows = (
        case_list(scope=scope, unit_id=unit_id)
        .filter(first_contact | close)
        .order_by()
        .values("owner_id", "owner__full_name", "owner__email")
        .annotate(
            overdue=Count("pk"),
            first_contact=Count("pk", filter=first_contact),
            close=Count("pk", filter=close),
        )
        .order_by("-overdue", F("owner_id").asc(nulls_last=True))
    )
    return [
        {
            "owner_id": row["owner_id"],
            "owner_name": (row["owner__full_name"] or row["owner__email"])
            if row["owner_id"] is not None
            else str(_("The queue (no owner)")),
            "overdue": row["overdue"],
            "first_contact": row["first_contact"],
            "close": row["close"],
        }
        for row in rows
    ]


def overdue_by(clock: SlaClock, due: datetime | None, now: datetime) -> timedelta:
    """The working time a deadline is overdue by at `now` (zero when it is not)."""
    if due is None or due >= now:
        return timedelta(0)
    return clock.working_time_between(due, now)


# Attainment --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attainment:
    """The share of decided deadlines met, with its Wilson 95% interval; none when too few."""

    met: int
    n: int
    minimum_base: int
    too_few: bool
    share: float | None
    low: float | None
    high: float | None


def attainment_of(*, met: int, n: int, minimum_base: int) -> Attainment:
    too_few = n == 0 or is_too_few(n, minimum_base)
    if too_few:
        return Attainment(met, n, minimum_base, True, None, None, None)
    share = met / n
    low, high = wilson_interval(share, n)
    return Attainment(met, n, minimum_base, False, round(share, 6), round(low, 6), round(high, 6))


@dataclass(frozen=True)
class AttainmentRow:
    key: str
    label: str
    cases: int
    first_contact: Attainment
    close: Attainment


@dataclass(frozen=True)
class SlaAttainment:
    by: str
    date_from: date
    date_to: date
    rows: list[AttainmentRow]
    total: AttainmentRow

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _counts(now: datetime) -> dict[str, Any]:
    """Per group: cases, decided and met deadlines, and the strictest minimum base."""
    first_contact_decided = Q(first_contact_due__isnull=False) & (
        Q(first_contact_at__isnull=False) | Q(first_contact_due__lt=now)
    )
    close_decided = Q(close_due__isnull=False) & (
        Q(resolved_at__isnull=False) | Q(close_due__lt=now)
    )
    return {
        "cases": Count("pk"),
        "first_contact_n": Count("pk", filter=first_contact_decided),
        "first_contact_met": Count(
            "pk",
            filter=Q(first_contact_due__isnull=False, first_contact_at__isnull=False)
            & Q(first_contact_at__lte=F("first_contact_due")),
        ),
        "close_n": Count("pk", filter=close_decided),
        "close_met": Count(
            "pk",
            filter=Q(close_due__isnull=False, resolved_at__isnull=False)
            & Q(resolved_at__lte=F("close_due")),
        ),
        # A group mixing programs takes the strictest of their minimum bases.
        "minimum_base": Max("program__minimum_base"),
    }


def _row(key: str, label: str, counts: dict[str, Any]) -> AttainmentRow:
    base = counts.get("minimum_base") or DEFAULT_MINIMUM_BASE
    return AttainmentRow(
        key=key,
        label=label,
        cases=counts["cases"] or 0,
        first_contact=attainment_of(
            met=counts["first_contact_met"] or 0,
            n=counts["first_contact_n"] or 0,
            minimum_base=base,
        ),
        close=attainment_of(
            met=counts["close_met"] or 0, n=counts["close_n"] or 0, minimum_base=base
        ),
    )


def sla_attainment(
    *,
    scope: Scope,
    now: datetime,
    date_from: date,
    date_to: date,
    by: str = "unit",
    unit_id: int | None = None,
) -> SlaAttainment:
    """Deadlines met among the cases opened from `date_from` to `date_to` (both included, days
    of the organisation's calendar), by the case's unit or its owner, with the total."""
    _require_reader(scope)
    if by not in GROUPINGS:
        raise ValidationFailed.on("by", _("one of %(values)s") % {"values": ", ".join(GROUPINGS)})
    if not isinstance(date_from, date) or not isinstance(date_to, date):
        raise ValidationFailed.on("date_from", _("a date like 2026-10-01"))
    if date_to < date_from:
        raise ValidationFailed.on("date_to", _("must not be before the first day"))
    if (date_to - date_from).days >= MAX_DAYS:
        raise ValidationFailed.on(
            "date_to", _("a report covers at most %(days)d days") % {"days": MAX_DAYS}
        )
    zone = sla_clock(scope.organisation_id).calendar.zone
    start = datetime.combine(date_from, time(), tzinfo=zone)
    end = datetime.combine(date_to + timedelta(days=1), time(), tzinfo=zone)
    cases = case_list(scope=scope, unit_id=unit_id).filter(opened_at__gte=start, opened_at__lt=end)
    counts = _counts(now)
    total = _row("", str(_("All")), cases.order_by().aggregate(**counts))
    rows: list[AttainmentRow] = []
    if by == "unit":
        by_unit = cases.order_by().values("unit_id", "unit__name", "unit__code", "unit__path")
        for row in by_unit.annotate(**counts).order_by("unit__path", "unit_id"):
            label = (
                f"{row['unit__name']} ({row['unit__code']})"
                if row["unit_id"]
                else str(_("No unit"))
            )
            rows.append(_row(str(row["unit_id"] or ""), label, row))
    else:
        by_owner = cases.order_by().values("owner_id", "owner__full_name", "owner__email")
        for row in by_owner.annotate(**counts).order_by(
            "owner__full_name", "owner__email", "owner_id"
        ):
            label = (
                row["owner__full_name"] or row["owner__email"]
                if row["owner_id"]
                else str(_("The queue (no owner)"))
            )
            rows.append(_row(str(row["owner_id"] or ""), label, row))
    return SlaAttainment(by=by, date_from=date_from, date_to=date_to, rows=rows, total=total)
