"""Interaction events over the API: one, a JSON array or NDJSON of up to 10,000 per request."""

import json
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.pagination import paginate

from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.api.problems import problem
from sonda.listening import events_selectors as selectors
from sonda.listening.event_schemas import EventDetailOut, EventIn, EventOut, EventQuery, IngestOut
from sonda.listening.ingest import MAX_ITEMS, UnreadableItem, events_ingest
from sonda.listening.models import Event

router = Router(tags=["events"])

JSON = "application/json"
NDJSON = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
# 10,000 events with generous attributes; read past Django's form-oriented upload limit.
MAX_BODY_BYTES = 64 * 1024 * 1024

_ONE = EventIn.model_json_schema(ref_template="#/components/schemas/{model}")
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": {"oneOf": [_ONE, {"type": "array", "items": _ONE}]}},
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "One event object per line."}
            },
        },
    }
}


def _items(request: HttpRequest, raw: bytes) -> list[object] | HttpResponse:
    if request.content_type in NDJSON:
        items: list[object] = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except ValueError as exc:
                items.append(UnreadableItem(f"line {number} is not valid JSON ({exc.args[0]})"))
        return items
    try:
        document = json.loads(raw)
    except ValueError:
        return problem(
            status=400,
            title="Malformed request",
            detail="The request body is not valid JSON.",
            errors=[{"field": "body", "message": "is not valid JSON"}],
            kind="malformed-request",
        )
    return document if isinstance(document, list) else [document]


@router.post(
    "",
    response={200: IngestOut},
    summary="Send interaction events",
    description=(
        "One event object, a JSON array, or NDJSON (`application/x-ndjson`, one object per line) "
        f"of up to {MAX_ITEMS:,} events. Every valid event is stored even when others fail: the "
        "answer has one result per item, by index (`created`, `duplicate` with the event it "
        "matched, or `invalid` with its errors), and the invitations the new events led to "
        "(`link` deliveries carry the survey link). A retry with the same `idempotency_key` (or "
        "`source` and `source_id`) stores and sends nothing again. When no item is valid the "
        "answer is 422 with every error."
    ),
    openapi_extra=_BODY,
)
def events_post(request: HttpRequest) -> HttpResponse | dict[str, Any]:
    scope = scope_of(request)
    if request.content_type != JSON and request.content_type not in NDJSON:
        return problem(
            status=415,
            title="Unsupported Media Type",
            detail="Send application/json (an object or an array) or application/x-ndjson.",
            errors=[{"field": "Content-Type", "message": "must be JSON or NDJSON"}],
        )
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        return problem(
            status=413,
            title="Content Too Large",
            detail=f"At most {MAX_BODY_BYTES // 1024 // 1024} MB per request.",
            errors=[{"field": "items", "message": "too large a request"}],
        )
    items = _items(request, request.read(MAX_BODY_BYTES + 1))
    if isinstance(items, HttpResponse):
        return items
    result = events_ingest(scope=scope, items=items)
    if result.invalid == len(result.items):
        errors = [error.as_dict() for error in result.errors]
        return problem(
            status=422,
            title="Validation failed",
            detail=f"None of the {len(result.items)} events is valid.",
            errors=errors,
        )
    return {
        "created": result.created,
        "duplicates": result.duplicates,
        "invalid": result.invalid,
        "invitations": result.invitations,
        "items": [item.as_dict() for item in result.items],
    }


@router.get("", response=list[EventOut], summary="List and filter interaction events")
@paginate(Page)
def event_list(request: HttpRequest, filters: Query[EventQuery]) -> QuerySet[Event]:
    return selectors.event_list(
        scope=scope_of(request),
        filters=selectors.EventFilters(
            event_type=filters.type,
            customer_id=filters.customer_id,
            unit_id=filters.unit_id,
            occurred_from=filters.from_,
            occurred_to=filters.to,
        ),
    )


@router.get(
    "/{event_id}",
    response=EventDetailOut,
    summary="Get an event with its decisions",
    description="Why the event did or did not lead to an invitation: one decision per rule "
    "considered, with the skip's reason and the contact rule that fired.",
)
def event_get(request: HttpRequest, event_id: int) -> dict[str, Any]:
    event = selectors.event_get(scope=scope_of(request), event_id=event_id)
    out = EventOut.from_orm(event).model_dump()
    out["decisions"] = [
        {
            "rule_id": decision.rule_id,
            "rule_name": decision.rule.name if decision.rule else "",
            "outcome": decision.outcome,
            "reason": decision.reason or None,
            "contact_rule_id": decision.contact_rule_id,
            "contact_rule_name": decision.contact_rule.name if decision.contact_rule else "",
            "detail": decision.detail,
            "invitation_id": decision.invitation_id,
            "invitation_status": decision.invitation.status if decision.invitation else None,
        }
        for decision in selectors.event_decisions(event=event)
    ]
    return out
