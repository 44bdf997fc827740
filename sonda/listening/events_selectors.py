"""Reads of interaction events: the organisation's for those who read it whole, a manager's
subtree for managers (by the event's unit); frontline reads none."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.core.errors import NotFound, PermissionDenied
from sonda.listening.models import Event, InvitationDecision
from sonda.org.models import Unit


@dataclass(frozen=True)
class EventFilters:
    event_type: str = ""
    customer_id: int | None = None
    unit_id: int | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


def _visible_events(scope: Scope) -> QuerySet[Event]:
    events = Event.objects.filter(organisation=scope.organisation)
    if scope.sees_whole_organisation:
        return events
    if scope.role == Role.MANAGER and scope.unit_path:
        return events.filter(unit__path__startswith=scope.unit_path)
    raise PermissionDenied(f"Your role ({scope.role}) may not read interaction events.")


def event_list(*, scope: Scope, filters: EventFilters | None = None) -> QuerySet[Event]:
    """The events in scope that meet the filters, newest first."""
    f = filters or EventFilters()
    events = _visible_events(scope)
    if f.event_type:
        events = events.filter(event_type=f.event_type)
    if f.customer_id is not None:
        events = events.filter(customer_id=f.customer_id)
    if f.unit_id is not None:
        path = (
            Unit.objects.filter(organisation=scope.organisation, pk=f.unit_id)
            .values_list("path", flat=True)
            .first()
        )
        if path is None:
            return events.none()
        events = events.filter(unit__path__startswith=path)
    if f.occurred_from is not None:
        events = events.filter(occurred_at__gte=f.occurred_from)
    if f.occurred_to is not None:
        events = events.filter(occurred_at__lt=f.occurred_to)
    return events.order_by("-occurred_at", "-id")


def event_get(*, scope: Scope, event_id: int) -> Event:
    event = _visible_events(scope).filter(pk=event_id).first()
    if event is None:
        raise NotFound("No such event.")
    return event


def event_decisions(*, event: Event) -> list[InvitationDecision]:
    """What each rule considered decided for the event, in the order they were considered."""
    return list(
        InvitationDecision.objects.filter(organisation_id=event.organisation_id, event=event)
        .select_related("rule", "contact_rule", "invitation")
        .order_by("id")
    )
