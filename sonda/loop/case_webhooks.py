"""Case events for the organisation's webhook endpoints (see docs/webhooks.md).

`sonda.loop.timeline.case_event_record` hands every timeline entry here, inside the writer's
transaction, so an event is queued only if the change it reports commits. One entry is one or
two events:

| timeline entry | event types |
| --- | --- |
| opened | case.opened |
| routed, assigned, reassigned, linked to a function | case.routed |
| state changed | case.state_changed, and case.closed when it closed the case |
| reopened | case.state_changed and case.reopened |
| note | case.note_added |
| root causes coded | case.coded |
| escalated | case.escalated |

(SLA warnings, coaching, callbacks and follow-up surveys are not sent.) The event id names the
timeline entry and the type, `case-7:41:case.closed`, so a retried job queues nothing twice.
The payload summarises the case by ids and states and carries the entry's data (codes, states,
owners as ids), never free text: a note's or a reason's words may say who the customer is.
"""

from typing import Any

from sonda.loop.models import Case, CaseEvent, CaseEventKind, CaseState
from sonda.webhooks.models import WebhookEndpoint
from sonda.webhooks.services import webhook_emit

_TYPES: dict[str, tuple[str, ...]] = {
    CaseEventKind.OPENED: ("case.opened",),
    CaseEventKind.ROUTED: ("case.routed",),
    CaseEventKind.ASSIGNED: ("case.routed",),
    CaseEventKind.REASSIGNED: ("case.routed",),
    CaseEventKind.LINKED: ("case.routed",),
    CaseEventKind.STATE_CHANGED: ("case.state_changed",),
    CaseEventKind.REOPENED: ("case.state_changed", "case.reopened"),
    CaseEventKind.NOTE: ("case.note_added",),
    CaseEventKind.CODED: ("case.coded",),
    CaseEventKind.ESCALATED: ("case.escalated",),
}


def case_event_types(event: CaseEvent) -> tuple[str, ...]:
    """The webhook event types a timeline entry is sent as (none for some)."""
    types = _TYPES.get(event.kind, ())
    if event.kind == CaseEventKind.STATE_CHANGED and (event.data or {}).get("to") == (
        CaseState.CLOSED
    ):
        types = (*types, "case.closed")
    return types


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def case_summary(case: Case) -> dict[str, Any]:
    """The case as an integration sees it in an event: ids, states and times only."""
    return {
        "id": case.pk,
        "state": case.state,
        "priority": case.priority,
        "loop": case.loop,
        "queue": case.queue,
        "owner_id": case.owner_id,
        "owner_function_id": case.owner_function_id,
        "unit_id": case.unit_id,
        "employee_id": case.employee_id,
        "customer_id": case.customer_id,
        "response_id": case.response_id,
        "survey_id": case.survey_id,
        "program_id": case.program_id,
        "alert_rule_id": case.alert_rule_id,
        "opened_at": _iso(case.opened_at),
        "first_contact_at": _iso(case.first_contact_at),
        "resolved_at": _iso(case.resolved_at),
        "closed_at": _iso(case.closed_at),
        "recovery_outcome": case.recovery_outcome,
        "first_contact_due": _iso(case.first_contact_due),
        "close_due": _iso(case.close_due),
        "escalation_level": case.escalation_level,
        "reopened_count": case.reopened_count,
    }


def _has_endpoints(case: Case) -> bool:
    """Whether the organisation has an active endpoint, asked once per case write: opening a
    case records up to four entries on the same case object, in one transaction."""
    known = case.__dict__.get("_active_webhook_endpoints")
    if known is None:
        known = WebhookEndpoint.objects.filter(
            organisation_id=case.organisation_id, active=True
        ).exists()
        case.__dict__["_active_webhook_endpoints"] = known
    return bool(known)


def case_event_webhook_emit(*, case: Case, event: CaseEvent) -> int:
    """Queue the entry's events for the subscribed endpoints; how many event types it has."""
    types = case_event_types(event)
    if not types or not _has_endpoints(case):
        return 0
    payload = {
        "case": case_summary(case),
        "event": {
            "id": event.pk,
            "kind": event.kind,
            "at": _iso(event.at),
            "actor_id": event.actor_id,
            "data": event.data or {},
        },
    }
    for event_type in types:
        webhook_emit(
            organisation_id=case.organisation_id,
            event_type=event_type,
            event_id=f"case-{case.pk}:{event.pk}:{event_type}",
            payload=payload,
            occurred_at=event.at,
        )
    return len(types)
