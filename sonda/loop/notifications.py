"""Who hears about what happens in the loop: in-app notifications, emailed by `sonda.loop.emails`.

Every entry of a case's timeline passes through `case_event_notify`, which
`sonda.loop.timeline.case_event_record` calls inside the writer's transaction, so a change that
rolls back notifies nobody. Who is told:

| timeline entry | who | kind |
| --- | --- | --- |
| routed (as the case opens) | its owner; a queued case: head office | case_assigned, case_queued |
| assigned, reassigned | the new owner, unless they did it | case_assigned |
| linked to a function | the function's members | function_case |
| note | the owner, unless they wrote it | case_note |
| reopened | the owner, unless they reopened it | case_reopened |
| SLA warning | the owner | sla_warning |
| escalated | whom it went to (or head office), and the owner | sla_escalated |
| coaching note | the employee coached (their account) | coaching |
| executive callback | the executive, unless they took it themselves | callback |
| follow-up answered | the owner (did the fix hold?) | follow_up |

Head office is the organisation's analysts, or its admins when it has none: they assign the
queue and take what has nobody above it.

Praise is not a case event: the sweep calls `praise_notify` for the employee praised and their
direct supervisor. A new case reaches its owner, not the function or unit manager: the owner is
the one who calls back, and a function hears once the case is coded with its problem.

Only active members of the organisation are told, and nobody about a case about themselves (the
frontline never sees those; the coaching note addressed to them names no case). A notification's
`dedupe_key` (the timeline entry, the praise) is unique per recipient, so a retried job or a
second sweep notifies nobody twice. What a notification says is kept as data (ids and the names
of staff, never what a customer said), written out in the reader's language when shown.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.accounts.models import Membership, Role, User
from sonda.core.errors import ValidationFailed
from sonda.loop.emails import wake_notification_emails
from sonda.loop.models import (
    Case,
    CaseEvent,
    CaseEventKind,
    Function,
    Notification,
    NotificationKind,
    NotificationPreference,
    Praise,
)
from sonda.org.models import Person

K = NotificationKind


@dataclass(frozen=True)
class Tell:
    """One notification to write: to whom, of which kind, with what to say."""

    user_id: int
    kind: NotificationKind
    data: dict[str, Any] = field(default_factory=dict)


# Who is told about a timeline entry --------------------------------------------------------------


def _head_office(organisation_id: int) -> list[int]:
    """Who looks after what nobody else can: the analysts, or the admins when there are none."""
    for role in (Role.ANALYST, Role.ADMIN):
        users = list(
            Membership.objects.filter(
                organisation_id=organisation_id, role=role, user__is_active=True
            )
            .order_by("user_id")
            .values_list("user_id", flat=True)
        )
        if users:
            return users
    return []


def _user_name(user_id: int | None) -> str:
    if user_id is None:
        return ""
    user = User.objects.filter(pk=user_id).only("full_name", "email").first()
    return str(user) if user is not None else ""


def _as_id(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _audience(case: Case, event: CaseEvent) -> list[Tell]:
    """Who the entry concerns (before filtering out non-members and the case's employee)."""
    kind, data, actor = event.kind, event.data or {}, event.actor_id
    owner = case.owner_id
    if kind == CaseEventKind.ROUTED:
        to_owner = _as_id(data.get("to_owner"))
        if to_owner is not None:
            return [Tell(to_owner, K.CASE_ASSIGNED)]
        return [Tell(user, K.CASE_QUEUED) for user in _head_office(case.organisation_id)]
    if kind in (CaseEventKind.ASSIGNED, CaseEventKind.REASSIGNED):
        to_owner = _as_id(data.get("to_owner"))
        if to_owner is not None and to_owner != actor:
            return [Tell(to_owner, K.CASE_ASSIGNED, {"by": _user_name(actor)})]
        return []
    if kind == CaseEventKind.LINKED:
        function_id = _as_id(data.get("to_function"))
        function = (
            Function.objects.filter(pk=function_id, is_active=True).first()
            if function_id is not None
            else None
        )
        if function is None:
            return []
        members = function.members.order_by("pk").values_list("pk", flat=True)
        return [
            Tell(user, K.FUNCTION_CASE, {"function": function.name})
            for user in members
            if user != actor
        ]
    if kind == CaseEventKind.FOLLOW_UP:
        # Only the answer: that the survey went out is the owner's own doing as they closed.
        if owner is None or data.get("outcome") != "answered":
            return []
        answer = {k: data[k] for k in ("measure", "value") if k in data}
        return [Tell(owner, K.FOLLOW_UP, answer)]
    if kind == CaseEventKind.NOTE:
        if owner is not None and owner != actor:
            return [Tell(owner, K.CASE_NOTE, {"by": _user_name(actor)})]
        return []
    if kind == CaseEventKind.REOPENED:
        if owner is not None and owner != actor:
            return [Tell(owner, K.CASE_REOPENED, {"by": _user_name(actor)})]
        return []
    if kind == CaseEventKind.WARNED:
        if owner is None:
            return []
        return [Tell(owner, K.SLA_WARNING, _deadline(data))]
    if kind == CaseEventKind.ESCALATED:
        to_user = _as_id(data.get("to_user"))
        above = [to_user] if to_user is not None else _head_office(case.organisation_id)
        tells = [Tell(user, K.SLA_ESCALATED, {**_deadline(data), "to_you": True}) for user in above]
        if owner is not None and owner not in above:
            tells.append(Tell(owner, K.SLA_ESCALATED, {**_deadline(data), "to_you": False}))
        return tells
    if kind == CaseEventKind.COACHING:
        employee_id = _as_id(data.get("employee"))
        employee_user = (
            Person.objects.filter(pk=employee_id).values_list("user_id", flat=True).first()
            if employee_id is not None
            else None
        )
        if employee_user is None:
            return []
        return [
            Tell(
                employee_user,
                K.COACHING,
                {"coaching_note": data.get("coaching_note"), "by": _user_name(actor)},
            )
        ]
    if kind == CaseEventKind.CALLBACK:
        executive = _as_id(data.get("executive"))
        if executive is not None and executive != actor:
            return [Tell(executive, K.CALLBACK, {"month": data.get("month")})]
    return []


def _deadline(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in ("deadline", "due") if isinstance(data.get(key), str)}


def case_event_notify(*, case: Case, event: CaseEvent) -> int:
    """Write the notifications a new timeline entry calls for; how many were meant.

    Call inside the transaction that records the entry.
    """
    tells = _audience(case, event)
    if not tells:
        return 0
    # The coaching note is the employee's own; what it refers to is the supervisor's case.
    about = None if event.kind == CaseEventKind.COACHING else case
    common = {"case": about.pk, "priority": case.priority} if about is not None else {}
    return notifications_write(
        organisation_id=case.organisation_id,
        tells=[Tell(t.user_id, t.kind, {**common, **t.data}) for t in tells],
        case=about,
        dedupe_key=f"case-event:{event.pk}",
        not_about=case.employee_id if about is not None else None,
    )


def praise_notify(*, praise: Praise) -> int:
    """Tell the employee praised and their direct supervisor (each once per praise)."""
    employee = (
        Person.objects.select_related("supervisor")
        .filter(pk=praise.employee_id, organisation_id=praise.organisation_id)
        .first()
    )
    if employee is None:
        return 0
    tells = []
    if employee.user_id is not None:
        tells.append(Tell(employee.user_id, K.PRAISE, {"praise": praise.pk, "you": True}))
    supervisor = employee.supervisor
    if supervisor is not None and supervisor.user_id is not None and supervisor.is_active:
        tells.append(
            Tell(
                supervisor.user_id,
                K.PRAISE,
                {"praise": praise.pk, "you": False, "employee": employee.full_name},
            )
        )
    return notifications_write(
        organisation_id=praise.organisation_id,
        tells=tells,
        case=None,
        dedupe_key=f"praise:{praise.pk}",
    )


def notifications_write(
    *,
    organisation_id: int,
    tells: Sequence[Tell],
    case: Case | None,
    dedupe_key: str,
    not_about: int | None = None,
) -> int:
    """Write one notification per active member told (once per recipient and key); never to
    the employee (person `not_about`) the case is about.

    Wakes the email job once the caller's transaction has committed, so no email tells of a
    change that did not happen.
    """
    wanted: dict[int, Tell] = {}
    for tell in tells:
        wanted.setdefault(tell.user_id, tell)
    members = Membership.objects.filter(
        organisation_id=organisation_id, user_id__in=wanted, user__is_active=True
    )
    if not_about is not None:
        members = members.exclude(
            user_id__in=Person.objects.filter(pk=not_about, user__isnull=False).values("user_id")
        )
    member_ids = set(members.values_list("user_id", flat=True))
    rows = [
        Notification(
            organisation_id=organisation_id,
            recipient_id=user_id,
            kind=tell.kind,
            case=case,
            dedupe_key=dedupe_key,
            data=tell.data,
        )
        for user_id, tell in wanted.items()
        if user_id in member_ids
    ]
    if not rows:
        return 0
    # ON CONFLICT DO NOTHING: an entry notified before stays as it was, and the caller's
    # transaction stays usable on PostgreSQL.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(wake_notification_emails, robust=True)
    return len(rows)


# Reading and marking one's own notifications -----------------------------------------------------


def notification_list(*, scope: Scope, unread_only: bool = False) -> QuerySet[Notification]:
    """The scope's user's own notifications in this organisation, newest first."""
    notifications = Notification.objects.filter(
        organisation=scope.organisation, recipient=scope.user
    ).select_related("case")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def notification_unread_count(*, scope: Scope) -> int:
    return notification_list(scope=scope, unread_only=True).count()


def notifications_mark_read(
    *, scope: Scope, notification_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Mark the user's own notifications read (these, or all when None); how many changed.

    Another user's notification is not found among one's own, so it is left alone.
    """
    unread = notification_list(scope=scope, unread_only=True)
    if notification_ids is not None:
        ids = list(notification_ids)
        if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
            raise ValidationFailed.on("ids", _("a list of notification numbers"))
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())


# Preferences -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    email_immediately: bool
    daily_digest: bool


DEFAULT_PREFERENCES = Preferences(email_immediately=True, daily_digest=False)


def notification_preferences(*, scope: Scope) -> Preferences:
    """How the scope's user hears about their cases here (email at once, unless they chose)."""
    row = NotificationPreference.objects.filter(
        organisation=scope.organisation, user=scope.user
    ).first()
    if row is None:
        return DEFAULT_PREFERENCES
    return Preferences(email_immediately=row.email_immediately, daily_digest=row.daily_digest)


def notification_preferences_set(
    *, scope: Scope, email_immediately: bool, daily_digest: bool
) -> Preferences:
    """Set one's own preferences: email at once, a daily digest, both, or neither (in-app only)."""
    for name, value in (("email_immediately", email_immediately), ("daily_digest", daily_digest)):
        if not isinstance(value, bool):
            raise ValidationFailed.on(name, _("true or false"))
    NotificationPreference.objects.update_or_create(
        organisation=scope.organisation,
        user=scope.user,
        defaults={"email_immediately": email_immediately, "daily_digest": daily_digest},
    )
    return Preferences(email_immediately=email_immediately, daily_digest=daily_digest)
