"""What the home page shows each role, read through the scoped selectors of each app."""

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count

from sonda.accounts.access import Scope
from sonda.accounts.models import AuditEvent, Role
from sonda.accounts.selectors import audit_event_list
from sonda.customers.selectors import customer_list
from sonda.org.models import Person, Unit
from sonda.org.selectors import person_list, unit_list

RECENT_AUDIT_EVENTS = 8


@dataclass(frozen=True)
class Breakdown:
    """One chart's data: a label and a count per bar."""

    labels: list[str]
    values: list[int]

    def as_chart(self, *, series: str) -> dict[str, object]:
        return {"labels": self.labels, "values": self.values, "series": series}

    def rows(self) -> list[tuple[str, int]]:
        return list(zip(self.labels, self.values, strict=True))


@dataclass(frozen=True)
class Overview:
    """Counts within the scope, people per top unit, units per level."""

    top_units: list[Unit]
    units: int
    people: int
    customers: int | None  # None: the role does not read customer profiles
    people_by_unit: Breakdown
    units_by_level: Breakdown
    recent_events: list[AuditEvent] = field(default_factory=list)


def _visible_tops(units: list[Unit]) -> list[Unit]:
    """The units whose parent the scope does not see: the roots of what the user sees."""
    ids = {u.pk for u in units}
    return [u for u in units if u.parent_id not in ids]


def _groups(units: list[Unit], tops: list[Unit]) -> list[Unit]:
    """The units one level below a single top, or the tops themselves when there are several."""
    if len(tops) == 1:
        children = [u for u in units if u.parent_id == tops[0].pk]
        return children or tops
    return tops


def organisation_overview(*, scope: Scope) -> Overview:
    """The overview of everything the scope sees (the whole organisation or a subtree)."""
    units = list(unit_list(scope=scope))
    tops = _visible_tops(units)
    people_per_unit_path: Counter[str] = Counter(
        {
            row["unit__path"]: row["n"]
            for row in person_list(scope=scope)
            .order_by()
            .values("unit__path")
            .annotate(n=Count("id"))
        }
    )
    groups = _groups(units, tops)
    people_by_unit = Breakdown(
        labels=[u.name for u in groups],
        values=[
            sum(n for path, n in people_per_unit_path.items() if path.startswith(u.path))
            for u in groups
        ],
    )
    levels: Counter[str] = Counter()
    depth_of_level: dict[str, int] = {}
    for unit in units:
        name = unit.unit_type.name
        levels[name] += 1
        depth_of_level[name] = min(depth_of_level.get(name, unit.depth), unit.depth)
    ordered_levels = sorted(levels, key=lambda name: (depth_of_level[name], name))
    return Overview(
        top_units=tops,
        units=len(units),
        people=sum(people_per_unit_path.values()),
        customers=customer_list(scope=scope).count() if scope.can_read_customers else None,
        people_by_unit=people_by_unit,
        units_by_level=Breakdown(
            labels=ordered_levels, values=[levels[name] for name in ordered_levels]
        ),
        recent_events=(
            list(audit_event_list(scope=scope)[:RECENT_AUDIT_EVENTS]) if scope.is_admin else []
        ),
    )


def own_record(*, scope: Scope) -> Person | None:
    """A frontline employee's own employee record (None when no record is linked to them)."""
    if scope.role != Role.FRONTLINE:
        return None
    return person_list(scope=scope).select_related("unit", "supervisor").first()
