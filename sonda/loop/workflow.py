"""The case workflow: new → in contact → resolved | not resolved → closed; reopened with a reason.

Every move is one of the transitions below; anything else is refused with a Conflict naming
`state`. Closing needs at least one root-cause problem coded (the callback asked where exactly
the company failed) and the recovery outcome. Notes, root causes and coaching go on the timeline
with the moves. Each write locks the case and bumps its version (see `sonda.loop.timeline`).
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from sonda.loop.follow_up import case_follow_up_send
from sonda.loop.models import (
    Case,
    CaseEvent,
    CaseEventKind,
    CaseProblem,
    CaseState,
    CoachingNote,
    CodingSource,
    Problem,
    RecoveryOutcome,
)
from sonda.loop.routing import case_relink
from sonda.loop.selectors import may_coach
from sonda.loop.sla import case_deadlines_restart
from sonda.loop.timeline import case_event_record, case_for_write, case_save
from sonda.loop.validation import is_id, required_text

# The workflow. Reopening (closed → in contact) also needs a reason.
TRANSITIONS: Mapping[str, frozenset[str]] = {
    CaseState.NEW: frozenset({CaseState.IN_CONTACT}),
    CaseState.IN_CONTACT: frozenset({CaseState.RESOLVED, CaseState.NOT_RESOLVED}),
    CaseState.RESOLVED: frozenset({CaseState.CLOSED}),
    CaseState.NOT_RESOLVED: frozenset({CaseState.CLOSED}),
    CaseState.CLOSED: frozenset({CaseState.IN_CONTACT}),
}
MAX_NOTE = 10_000


def transition_allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def _state_label(state: str) -> str:
    return str(CaseState(state).label) if state in CaseState.values else state


def _refuse(current: str, target: str) -> Conflict:
    if current == target:
        return Conflict.on(
            "state", _("The case is already %(state)s.") % {"state": _state_label(current)}
        )
    allowed = ", ".join(_state_label(s) for s in sorted(TRANSITIONS.get(current, ())))
    return Conflict.on(
        "state",
        _(
            "A case cannot go from %(current)s to %(target)s; "
            "from %(current)s it can go to %(allowed)s."
        )
        % {
            "current": _state_label(current),
            "target": _state_label(target),
            "allowed": allowed,
        },
    )


def _outcome(value: object) -> str:
    if value in (None, ""):
        return ""
    if value not in RecoveryOutcome.values:
        raise ValidationFailed.on(
            "recovery_outcome",
            _("one of %(values)s") % {"values": ", ".join(RecoveryOutcome.values)},
        )
    return str(value)


def _move(
    *,
    scope: Scope,
    case: Case,
    target: str,
    reason: str,
    recovery_outcome: str,
    at: datetime,
) -> None:
    """Move the locked case to `target` (already allowed) and record it."""
    current = case.state
    fields = ["state"]
    data: dict[str, object] = {"from": current, "to": target}
    if recovery_outcome:
        case.recovery_outcome = recovery_outcome
        fields.append("recovery_outcome")
        data["recovery_outcome"] = recovery_outcome
    if target == CaseState.CLOSED:
        if not CaseProblem.objects.filter(case=case).exists():
            raise ValidationFailed.on(
                "root_causes", _("Code at least one root cause before closing the case.")
            )
        if not case.recovery_outcome:
            raise ValidationFailed.on(
                "recovery_outcome",
                _("Record the recovery outcome (fixed, partly, not fixed or unreachable)."),
            )
        case.closed_at = at
        fields.append("closed_at")
    if current == CaseState.CLOSED:
        # Reopening: the call goes on, and the next closing records its outcome afresh.
        data["previous_outcome"] = case.recovery_outcome
        case.reopened_count += 1
        case.closed_at = None
        case.resolved_at = None
        case.recovery_outcome = ""
        fields += ["reopened_count", "closed_at", "resolved_at", "recovery_outcome"]
        # The reopened case gets a fresh closing deadline (SLAs: `sonda.loop.sla`).
        fields += case_deadlines_restart(case=case, at=at)
    elif target == CaseState.IN_CONTACT and case.first_contact_at is None:
        case.first_contact_at = at
        fields.append("first_contact_at")
    if target in (CaseState.RESOLVED, CaseState.NOT_RESOLVED):
        case.resolved_at = at
        fields.append("resolved_at")
    case.state = target
    case_event_record(
        case=case,
        kind=CaseEventKind.REOPENED if current == CaseState.CLOSED else CaseEventKind.STATE_CHANGED,
        at=at,
        actor_id=scope.user.pk,
        text=reason,
        data=data,
    )
    if target == CaseState.CLOSED:
        # "Did we fix it?": the follow-up survey, once per case (`sonda.loop.follow_up`).
        fields += case_follow_up_send(case=case, at=at)
    case_save(case, list(dict.fromkeys(fields)))


def case_transition(
    *,
    scope: Scope,
    case_id: int,
    state: str,
    reason: str = "",
    recovery_outcome: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """Move a case to `state` by the workflow; the case as it now is.

    Conflict (`state`) for a move the workflow does not allow, (`version`) when the case changed
    since `expected_version`; ValidationFailed (`root_causes`, `recovery_outcome`) when closing
    without them, (`reason`) when reopening without one.
    """
    if state not in CaseState.values:
        raise ValidationFailed.on(
            "state", _("one of %(values)s") % {"values": ", ".join(CaseState.values)}
        )
    outcome = _outcome(recovery_outcome)
    at = now or timezone.now()
    with transaction.atomic():
        case = case_for_write(scope=scope, case_id=case_id, expected_version=expected_version)
        if not transition_allowed(case.state, state):
            raise _refuse(case.state, state)
        clean_reason = ""
        if case.state == CaseState.CLOSED:
            if not isinstance(reason, str) or not reason.strip():
                raise ValidationFailed.on("reason", _("Say why the case is reopened."))
            clean_reason = required_text(reason, "reason", longest=2000)
        _move(
            scope=scope,
            case=case,
            target=state,
            reason=clean_reason,
            recovery_outcome=outcome,
            at=at,
        )
    return case


def case_close(
    *,
    scope: Scope,
    case_id: int,
    recovery_outcome: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """Close a resolved or not-resolved case with its recovery outcome."""
    return case_transition(
        scope=scope,
        case_id=case_id,
        state=CaseState.CLOSED,
        recovery_outcome=recovery_outcome,
        expected_version=expected_version,
        now=now,
    )


def case_reopen(
    *,
    scope: Scope,
    case_id: int,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """Reopen a closed case (back to in contact), saying why."""
    at = now or timezone.now()
    with transaction.atomic():
        case = case_for_write(scope=scope, case_id=case_id, expected_version=expected_version)
        if case.state != CaseState.CLOSED:
            raise Conflict.on("state", _("Only a closed case can be reopened."))
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationFailed.on("reason", _("Say why the case is reopened."))
        _move(
            scope=scope,
            case=case,
            target=CaseState.IN_CONTACT,
            reason=required_text(reason, "reason", longest=2000),
            recovery_outcome="",
            at=at,
        )
    return case


def case_record_outcome(
    *,
    scope: Scope,
    case_id: int,
    recovery_outcome: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """Record the recovery outcome of an open case (closing records it too)."""
    outcome = _outcome(recovery_outcome)
    if not outcome:
        raise ValidationFailed.on("recovery_outcome", _("required"))
    at = now or timezone.now()
    with transaction.atomic():
        case = case_for_write(scope=scope, case_id=case_id, expected_version=expected_version)
        if case.state == CaseState.CLOSED:
            raise Conflict.on("state", _("Reopen the case before changing its outcome."))
        case_event_record(
            case=case,
            kind=CaseEventKind.STATE_CHANGED,
            at=at,
            actor_id=scope.user.pk,
            data={"from": case.state, "to": case.state, "recovery_outcome": outcome},
        )
        case.recovery_outcome = outcome
        case_save(case, ["recovery_outcome"])
    return case


def case_add_note(
    *,
    scope: Scope,
    case_id: int,
    text: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> CaseEvent:
    """Add a note to the case's timeline (what the customer said, what was tried)."""
    clean = required_text(text, "text", longest=MAX_NOTE)
    at = now or timezone.now()
    with transaction.atomic():
        case = case_for_write(scope=scope, case_id=case_id, expected_version=expected_version)
        event = case_event_record(
            case=case, kind=CaseEventKind.NOTE, at=at, actor_id=scope.user.pk, text=clean
        )
        case_save(case, [])
    return event


def _problems(scope: Scope, problem_ids: object, *, coded: Collection[int]) -> list[Problem]:
    """The problems named, checked: each the organisation's and in use — or, retired since,
    already coded on the case (a retired problem is not offered any more, but saving a case's
    coding again must not drop what was true of it)."""
    field = "root_causes"
    if not isinstance(problem_ids, (list, tuple)) or not problem_ids:
        raise ValidationFailed.on(field, _("Code at least one root cause."))
    wanted = [pid for pid in problem_ids if is_id(pid)]
    found = {
        p.pk: p for p in Problem.objects.filter(organisation=scope.organisation, pk__in=wanted)
    }
    errors: list[FieldError] = []
    chosen: list[Problem] = []
    for index, problem_id in enumerate(problem_ids):
        problem = found.get(problem_id) if is_id(problem_id) else None
        if problem is None:
            errors.append(FieldError(f"{field}[{index}]", _("no such problem")))
        elif not problem.is_active and problem.pk not in coded:
            errors.append(FieldError(f"{field}[{index}]", _("this problem is no longer used")))
        elif problem not in chosen:
            chosen.append(problem)
    if errors:
        raise ValidationFailed(_("Some root causes are not valid."), errors=errors)
    return chosen


def case_code_root_causes(
    *,
    scope: Scope,
    case_id: int,
    problem_ids: Sequence[int],
    notes: Mapping[int, str] | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> list[CaseProblem]:
    """Code the case with exactly these root-cause problems (those left out are uncoded).

    Coding a problem the frontline cannot fix links the case to the function that owns it. The
    same coding again changes nothing.
    """
    notes = notes or {}
    at = now or timezone.now()
    with transaction.atomic():
        case = case_for_write(scope=scope, case_id=case_id, expected_version=expected_version)
        existing = {row.problem_id: row for row in CaseProblem.objects.filter(case=case)}
        problems = _problems(scope, problem_ids, coded=existing.keys())
        for problem_id, note in notes.items():
            if problem_id not in {p.pk for p in problems}:
                raise ValidationFailed.on(f"notes.{problem_id}", _("not one of the root causes"))
            if not isinstance(note, str) or len(note) > 2000:
                raise ValidationFailed.on(
                    f"notes.{problem_id}", _("a text of up to 2000 characters")
                )
        if case.state == CaseState.CLOSED:
            raise Conflict.on("state", _("Reopen the case before changing its root causes."))
        wanted = {p.pk for p in problems}
        removed = [pid for pid in existing if pid not in wanted]
        added = [p for p in problems if p.pk not in existing]
        renoted = [
            existing[pid]
            for pid, note in notes.items()
            if pid in existing and existing[pid].note != note.strip()
        ]
        if removed or added or renoted:
            CaseProblem.objects.filter(case=case, problem_id__in=removed).delete()
            CaseProblem.objects.bulk_create(
                CaseProblem(
                    organisation_id=case.organisation_id,
                    case=case,
                    problem=p,
                    note=notes.get(p.pk, "").strip(),
                    source=CodingSource.CALLBACK,
                    coded_by=scope.user,
                )
                for p in added
            )
            for row in renoted:
                row.note = notes[row.problem_id].strip()
                row.save(update_fields=["note", "updated_at"])
            codes = {p.pk: p.code for p in problems}
            removed_codes = dict(Problem.objects.filter(pk__in=removed).values_list("pk", "code"))
            case_event_record(
                case=case,
                kind=CaseEventKind.CODED,
                at=at,
                actor_id=scope.user.pk,
                data={
                    "added": [p.code for p in added],
                    "removed": [removed_codes[pid] for pid in removed],
                    "problems": [codes[p.pk] for p in problems],
                },
            )
            case_save(case, case_relink(case=case, actor_id=scope.user.pk, at=at))
    return list(CaseProblem.objects.filter(case=case).select_related("problem").order_by("id"))


# Coaching ----------------------------------------------------------------------------------------


def coaching_note_create(
    *,
    scope: Scope,
    case_id: int,
    behaviour: str,
    agreed_action: str,
    due_on: date | None = None,
    now: datetime | None = None,
) -> CoachingNote:
    """Record what the supervisor agreed with the employee an inner-loop case is about."""
    clean_behaviour = required_text(behaviour, "behaviour", longest=4000)
    clean_action = required_text(agreed_action, "agreed_action", longest=4000)
    if due_on is not None and not isinstance(due_on, date):
        raise ValidationFailed.on("due_on", _("a date"))
    at = now or timezone.now()
    with transaction.atomic():
        case = case_for_write(scope=scope, case_id=case_id, expected_version=None)
        if case.employee_id is None:
            raise ValidationFailed.on(
                "case_id", _("Coaching follows a case about an employee; this case names none.")
            )
        if not may_coach(scope, case):
            raise PermissionDenied(
                _("Coaching is recorded by the employee's supervisor or the case's owner.")
            )
        note = CoachingNote.objects.create(
            organisation_id=case.organisation_id,
            case=case,
            supervisor=scope.user,
            employee_id=case.employee_id,
            behaviour=clean_behaviour,
            agreed_action=clean_action,
            due_on=due_on,
        )
        case_event_record(
            case=case,
            kind=CaseEventKind.COACHING,
            at=at,
            actor_id=scope.user.pk,
            data={"coaching_note": note.pk, "employee": case.employee_id},
        )
        case_save(case, [])
    return note


def coaching_note_acknowledge(
    *, scope: Scope, note_id: int, now: datetime | None = None
) -> CoachingNote:
    """The employee marks a coaching note addressed to them as seen (once)."""
    with transaction.atomic():
        note = (
            CoachingNote.objects.select_for_update()
            .filter(organisation=scope.organisation, pk=note_id, employee__user=scope.user)
            .first()
        )
        if note is None:
            raise NotFound(_("No such coaching note."))
        if note.acknowledged_at is None:
            note.acknowledged_at = now or timezone.now()
            note.save(update_fields=["acknowledged_at", "updated_at"])
    return note
