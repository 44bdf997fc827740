"""The case timeline and the write discipline every case service follows.

Each write locks the case row, checks the version the caller saw (when it says), changes the case,
appends to the timeline and bumps the version, in one transaction. Two people adding notes at
once both keep theirs; two people moving the case at once are served one after the other, and
the second sees the state the first left.
"""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.core.errors import Conflict, ValidationFailed
from sonda.loop.case_webhooks import case_event_webhook_emit
from sonda.loop.models import Case, CaseEvent, CaseEventKind
from sonda.loop.notifications import case_event_notify
from sonda.loop.selectors import case_lock_for_edit


def case_event_record(
    *,
    case: Case,
    kind: CaseEventKind,
    at: datetime,
    actor_id: int | None = None,
    text: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Append one entry to the case's timeline (inside the caller's transaction).

    Every entry is also announced: to the people it concerns (`sonda.loop.notifications`) and to
    the webhook endpoints subscribed to it (`sonda.loop.case_webhooks`), in the same transaction,
    so a change that rolls back announces nothing.
    """
    event = CaseEvent.objects.create(
        organisation_id=case.organisation_id,
        case=case,
        kind=kind,
        actor_id=actor_id,
        text=text,
        data=data or {},
        at=at,
    )
    case_event_notify(case=case, event=event)
    case_event_webhook_emit(case=case, event=event)
    return event


def case_for_write(*, scope: Scope, case_id: int, expected_version: int | None) -> Case:
    """The case locked for the scope's write; Conflict naming `version` when it moved on.

    Call inside `transaction.atomic()`.
    """
    if expected_version is not None and (
        isinstance(expected_version, bool) or not isinstance(expected_version, int)
    ):
        raise ValidationFailed.on("version", _("a whole number"))
    case = case_lock_for_edit(scope=scope, case_id=case_id)
    if expected_version is not None and case.version != expected_version:
        raise Conflict.on(
            "version",
            _(
                "The case has changed since you read it (version %(seen)d, now %(now)d); "
                "reload it and try again."
            )
            % {"seen": expected_version, "now": case.version},
        )
    return case


def case_save(case: Case, fields: list[str]) -> None:
    """Save the changed fields with the next version."""
    case.version += 1
    case.save(update_fields=[*fields, "version", "updated_at"])
