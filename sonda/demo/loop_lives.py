"""The lives of the demo bank's cases from opening to the reference date, drawn and written.

Each case is lived as the workflow (`sonda.loop.workflow`) and the SLA sweep (`sonda.loop.sla`)
would have written it, step by step on its timeline: a case that waited in the queue is taken by
the central CX team (or, in the demo region, by its region head); the owner calls back within the
working hours of the bank's calendar, notes what the customer said, codes the root causes the
call found, resolves or fails to, and closes with the recovery outcome; a few are reopened.
Deadlines missed are warned about and escalated as the sweep does, a minute after they pass, to
whom `escalation_recipient` names. Supervisors coach the employees a case was about, and the
executive calls back five detractors a month, allotted at the first tick of the day after they
open, as the daily job allots them.

How far a case got depends on its age at the reference date: old cases are closed, recent ones
are spread over every state. At small scales, where chance could leave a state or a demo login
without its share, a few cases are lived again to order (`_coverage`).

The rows are written by sonda.demo.loop_rows; nothing here notifies.
"""

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sonda.demo.experience import APP_FIXED, APP_RELEASE
from sonda.demo.loop_rows import Life, lives_write
from sonda.demo.loop_texts import (
    CALLBACK_NOTES,
    COACHING,
    QUEUE_TO_ANALYST,
    QUEUE_TO_REGION,
    REOPEN_REASONS,
    UNREACHABLE,
    in_language,
)
from sonda.demo.loop_world import CaseRow, LoopWorld, cases_load
from sonda.loop.business_hours import business_time_between
from sonda.loop.callbacks import first_of_month
from sonda.loop.models import (
    PRIORITY_RANK,
    CaseEvent,
    CaseEventKind,
)
from sonda.loop.routing import loop_decision

K = CaseEventKind
STATES = ("new", "in_contact", "resolved", "not_resolved", "closed")
# How far cases got, by their age at the reference date: (at least so many days, weights).
FATES: tuple[tuple[int, dict[str, float]], ...] = (
    (21, {"closed": 95, "resolved": 2, "not_resolved": 1, "in_contact": 1, "new": 1}),
    (7, {"closed": 62, "resolved": 12, "not_resolved": 5, "in_contact": 14, "new": 7}),
    (0, {"closed": 8, "resolved": 12, "not_resolved": 5, "in_contact": 30, "new": 45}),
)
REOPENED_SHARE = 0.03
LATE_CONTACT_SHARE = 0.08
LATE_RESOLUTION_SHARE = 0.07
UNREACHABLE_SHARE = 0.08
QUEUE_WAIT = timedelta(days=2)  # the newest queued cases still wait for an analyst
CALLBACKS_PER_MONTH = 5
SWEEP_TICK = timedelta(minutes=1)
# The longest the bank is closed at a stretch (Christmas and a weekend), with room to spare.
LONGEST_CLOSURE = timedelta(days=7)
# The root causes a callback finds when the answer gave none, by survey.
FOUND: dict[str, dict[str, float]] = {
    "branch": {
        "process.waiting": 30,
        "staff.attitude": 14,
        "staff.competence": 14,
        "staff.information": 14,
        "process.paperwork": 12,
        "branch.opening_hours": 6,
        "product.availability": 10,
    },
    "call": {
        "process.transfers": 24,
        "process.waiting": 22,
        "staff.competence": 14,
        "staff.information": 14,
        "billing.wrong_charge": 12,
        "product.fees": 14,
    },
    "relationship": {
        "product.fees": 32,
        "product.fit": 24,
        "digital.app_errors": 14,
        "billing.wrong_charge": 12,
        "process.waiting": 18,
    },
}
STAFF_PROBLEMS = ("staff.attitude", "staff.competence", "staff.information")


@dataclass(frozen=True)
class Orders:
    """A life lived to order (`_coverage`): its state, reopened or not, short and on time."""

    state: str
    reopen: bool = False


@dataclass(frozen=True)
class LivesSummary:
    states: Counter[str]
    reopened: int
    escalated: int
    events: int
    coaching_notes: int
    callbacks: int
    queued: int


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _root_causes(world: LoopWorld, rng: random.Random, case: CaseRow) -> list[int]:
    """What the callback finds beyond the answer's codings (at least one cause in all)."""
    codes = {pk: code for code, pk in world.problems.items()}
    have = [codes[pk] for pk in case.coded]
    found: list[str] = []
    setting = world.setting_of_survey.get(case.survey_id, "branch")
    local = case.completed_at.astimezone(world.clock.calendar.zone)
    if APP_RELEASE <= local.date() < APP_FIXED and (
        "digital.app_errors" in have or rng.random() < 0.08
    ):
        found.append("digital.login")  # the planted release that broke logins
    if (
        setting == "branch"
        and local.weekday() == 0
        and local.hour in (9, 10, 11)
        and ("process.waiting" in have or rng.random() < 0.4)
    ):
        found.append("process.staffing")  # Monday morning queues
    if case.unit_path.startswith(world.weak_region_path) and rng.random() < 0.3:
        found.append("staff.competence")
    if not have and not found:
        found.append(_pick(rng, FOUND[setting]))
    if rng.random() < 0.12:
        found.append(_pick(rng, FOUND[setting]))
    new = [code for code in dict.fromkeys(found) if code not in have]
    return [world.problems[code] for code in new]


def _fate(rng: random.Random, age: timedelta) -> str:
    days = age.total_seconds() / 86_400
    weights = next(w for least, w in FATES if days >= least)
    return _pick(rng, weights)


def _live(
    world: LoopWorld,
    rng: random.Random,
    case: CaseRow,
    *,
    callback_at: datetime | None = None,
    orders: Orders | None = None,
) -> Life:
    """One case's life until the reference date."""
    ref = world.reference
    t0 = case.opened_at
    life = Life(case=case)
    events = life.events
    codes = {pk: code for code, pk in world.problems.items()}

    def event(
        kind: CaseEventKind, at: datetime, actor: int | None, text: str = "", **data: Any
    ) -> None:
        events.append({"kind": kind.value, "at": at, "actor_id": actor, "text": text, "data": data})

    # The queue: the central CX team (or the region head) takes cases nobody could own.
    owner, queue, assigned_at = case.owner_id, case.queue, None
    if queue and ref - t0 > QUEUE_WAIT:
        assigned_at = world.after(t0, rng.uniform(0.25, 2))
        owner, queue = world.queue_owner(case), False
        reason = QUEUE_TO_REGION if owner == world.region_manager_id else QUEUE_TO_ANALYST
        event(
            K.ASSIGNED,
            assigned_at,
            world.analyst_id,
            reason,
            from_owner=None,
            to_owner=owner,
            via="manual",
        )

    def owner_at(moment: datetime) -> int | None:
        return owner if assigned_at is None or moment >= assigned_at else None

    if callback_at is not None:
        event(
            K.CALLBACK,
            callback_at,
            None,
            executive=world.executive_id,
            month=first_of_month(
                callback_at.astimezone(world.clock.calendar.zone).date()
            ).isoformat(),
            via="allotment",
        )
    actor = world.executive_id if callback_at is not None else owner
    language = (
        "en"
        if actor in (world.analyst_id, world.executive_id)
        else (world.staff_language.get(case.unit_id or 0, "en"))
    )
    target = orders.state if orders else _fate(rng, ref - t0)
    reopen = orders.reopen if orders else target == "closed" and rng.random() < REOPENED_SHARE
    if actor is None:
        target = "new"
    targets = world.clock.targets[case.priority]
    start = max(t0, assigned_at or t0, callback_at or t0)
    coded = list(case.coded)
    function_id, loop = case.owner_function_id, case.loop
    state, contact, resolved, closed, outcome = "new", None, None, None, ""
    reopened_count, close_due = 0, case.close_due
    unreachable = False

    if target != "new":
        late = not orders and rng.random() < LATE_CONTACT_SHARE
        share = rng.uniform(1.1, 2.5) if late else rng.uniform(0.05, 0.6)
        contact = world.after(start, 0.25 if orders else targets.first_contact_hours * share)
        if contact >= ref:
            contact = None
    if contact is not None:
        state = "in_contact"
        event(K.STATE_CHANGED, contact, actor, **{"from": "new", "to": "in_contact"})
        unreachable = not orders and rng.random() < UNREACHABLE_SHARE
        found = _root_causes(world, rng, case)
        primary = codes[(coded + found)[0]]
        note = UNREACHABLE if unreachable else CALLBACK_NOTES[primary]
        event(K.NOTE, contact + timedelta(minutes=6), actor, in_language(note, language))
        if found and (target != "in_contact" or rng.random() < 0.5):
            at = contact + timedelta(minutes=9)
            coded += found
            event(
                K.CODED,
                at,
                actor,
                added=[codes[p] for p in found],
                removed=[],
                problems=[codes[p] for p in coded],
            )
            life.codings += [
                {"problem_id": p, "coded_by_id": actor, "created_at": at} for p in found
            ]
            new_loop, new_function = loop_decision(
                concerns_employee=case.employee_id is not None,
                problems=[world.routing[p] for p in coded],
            )
            if new_function != function_id:
                event(K.LINKED, at, actor, from_function=function_id, to_function=new_function)
            loop, function_id = new_loop.value, new_function
    if contact is not None and target in ("resolved", "not_resolved", "closed"):
        late = not orders and rng.random() < LATE_RESOLUTION_SHARE
        share = rng.uniform(1.05, 1.6) if late else rng.uniform(0.1, 0.7)
        hours = 1.0 if orders else targets.close_hours * share
        resolved = max(world.after(t0, hours), contact + timedelta(minutes=15))
        if resolved >= ref:
            resolved = None
    if resolved is not None:
        failed = (
            unreachable
            or target == "not_resolved"
            or (target == "closed" and not orders and rng.random() < 0.15)
        )
        state = "not_resolved" if failed else "resolved"
        if failed:
            outcome = "unreachable" if unreachable else _pick(rng, {"not": 6, "partly": 4})
        else:
            outcome = _pick(rng, {"fixed": 7, "partly": 3})
        event(
            K.STATE_CHANGED,
            resolved,
            actor,
            **{"from": "in_contact", "to": state, "recovery_outcome": outcome},
        )
        if target == "closed" and coded:  # closing needs a root cause; the call found one
            closed = world.after(resolved, 0.5 if orders else rng.uniform(0.1, 6))
            if closed < ref:
                event(K.STATE_CHANGED, closed, actor, **{"from": state, "to": "closed"})
                state = "closed"
            else:
                closed = None

    first_cycle_end = resolved
    reopen_at = None
    if reopen and closed is not None:
        reopen_at = world.after(closed + timedelta(days=1 if orders else rng.uniform(2, 9)), 0)
        if reopen_at < ref - timedelta(days=1):
            reason = in_language(rng.choice(REOPEN_REASONS), language)
            event(
                K.REOPENED,
                reopen_at,
                actor,
                reason,
                **{"from": "closed", "to": "in_contact", "previous_outcome": outcome},
            )
            state, reopened_count, outcome = "in_contact", 1, ""
            resolved = closed = None
            close_due = world.clock.close_due(case.priority, reopen_at)
            if not orders and rng.random() < 0.7:
                again = world.after(reopen_at, rng.uniform(2, 20))
                if again < ref:
                    resolved, state, outcome = again, "resolved", "fixed"
                    event(
                        K.STATE_CHANGED,
                        again,
                        actor,
                        **{"from": "in_contact", "to": "resolved", "recovery_outcome": "fixed"},
                    )
                    closed = world.after(again, rng.uniform(0.2, 4))
                    if closed < ref:
                        event(
                            K.STATE_CHANGED, closed, actor, **{"from": "resolved", "to": "closed"}
                        )
                        state = "closed"
                    else:
                        closed = None
        else:
            reopen_at = None

    # The sweep's warnings and escalations, deadline by deadline, cycle by cycle.
    level, escalated_to = 0, None
    marks: dict[str, datetime | None] = {}

    def watch(deadline: str, due: datetime | None, met: datetime | None, until: datetime) -> None:
        nonlocal level, escalated_to
        marks[f"{deadline}_warned_at"] = marks[f"{deadline}_breached_at"] = None
        if due is None:
            return
        end = met if met is not None else until
        # The warning comes a lead of working time before the deadline: never more than the
        # lead and a long weekend of holidays earlier, so a deadline met before then had none.
        lead = timedelta(hours=targets.warn_before_hours)
        warn_at = (
            world.warning_moment(case.priority, due) if end > due - lead - LONGEST_CLOSURE else None
        )
        if warn_at is not None and t0 < warn_at < min(end, due):
            left = business_time_between(world.clock.calendar, warn_at, due)
            event(
                K.WARNED,
                warn_at,
                None,
                deadline=deadline,
                due=due.isoformat(),
                minutes_left=int(left.total_seconds() // 60),
                owner=owner_at(warn_at),
            )
            marks[f"{deadline}_warned_at"] = warn_at
        breach_at = due + SWEEP_TICK
        if end > due and breach_at < until:
            to_user, via = world.recipient(
                case, owner_id=owner_at(breach_at), level=level, escalated_to=escalated_to
            )
            level += 1
            escalated_to = to_user
            event(
                K.ESCALATED,
                breach_at,
                None,
                deadline=deadline,
                due=due.isoformat(),
                level=level,
                to_user=to_user,
                via=via,
                owner=owner_at(breach_at),
            )
            marks[f"{deadline}_breached_at"] = breach_at

    # Deadlines still unmet at the reference date are watched on until the demo is made: the
    # sweep would have warned and escalated them in the meantime.
    swept = max(ref, world.swept_until or ref)
    watch("first_contact", case.first_contact_due, contact, swept)
    watch("close", case.close_due, first_cycle_end, reopen_at or swept)
    if reopen_at is not None:
        watch("close", close_due, resolved, swept)

    if (
        case.employee_id is not None
        and first_cycle_end is not None
        and actor is not None
        and actor == owner
        and actor in world.line_managers.values()
    ):
        staff = [codes[p] for p in coded if codes[p] in STAFF_PROBLEMS]
        if rng.random() < (0.65 if staff else 0.05):
            life.coaching = _coaching(world, rng, case, actor, first_cycle_end, staff, language)
            if life.coaching is not None:
                event(
                    K.COACHING,
                    life.coaching["created_at"],
                    actor,
                    coaching_note=None,
                    employee=case.employee_id,
                )

    events.sort(key=lambda e: e["at"])
    writes = [e for e in events if e["kind"] != K.LINKED]
    life.fields = {
        "state": state,
        "owner_id": owner,
        "queue": queue,
        "first_contact_at": contact,
        "resolved_at": resolved,
        "closed_at": closed,
        "reopened_count": reopened_count,
        "recovery_outcome": outcome,
        "close_due": close_due,
        "escalation_level": level,
        "escalated_to_id": escalated_to,
        "loop": loop,
        "owner_function_id": function_id,
        "version": 1 + len(writes),
        "created_at": t0,
        "updated_at": events[-1]["at"] if events else t0,
        **marks,
    }
    if callback_at is not None:
        life.callback = {
            "executive_id": world.executive_id,
            "month": first_of_month(callback_at.astimezone(world.clock.calendar.zone).date()),
            "created_at": callback_at,
        }
    return life


def _coaching(
    world: LoopWorld,
    rng: random.Random,
    case: CaseRow,
    supervisor: int,
    after: datetime,
    staff: Sequence[str],
    language: str,
) -> dict[str, Any] | None:
    at = world.after(after, rng.uniform(0.5, 16))
    if at >= world.reference:
        return None
    behaviour, action = COACHING[staff[0] if staff else "staff.attitude"]
    seen = at + timedelta(hours=rng.uniform(2, 60))
    zone = world.clock.calendar.zone
    return {
        "supervisor_id": supervisor,
        "employee_id": case.employee_id,
        "behaviour": in_language(behaviour, language),
        "agreed_action": in_language(action, language),
        "due_on": (at + timedelta(days=14)).astimezone(zone).date(),
        "acknowledged_at": seen if seen < world.reference and rng.random() < 0.8 else None,
        "created_at": at,
        "updated_at": at,
    }


def _callbacks(world: LoopWorld, cases: Sequence[CaseRow]) -> dict[int, datetime]:
    """The executive's callbacks: each month, five detractors' cases still new the day after
    they opened, the most urgent first, one unit after another (`executive_callbacks_allot`)."""
    zone = world.clock.calendar.zone
    by_month: dict[date, list[CaseRow]] = defaultdict(list)
    about_executive = {p for p, u in world.user_of_person.items() if u == world.executive_id}
    for case in cases:
        if case.ltr is None or case.ltr > world.detractor_max:
            continue
        if case.employee_id in about_executive:
            continue
        by_month[first_of_month(case.opened_at.astimezone(zone).date())].append(case)
    chosen: dict[int, datetime] = {}
    for month in sorted(by_month):
        ordered = sorted(
            by_month[month], key=lambda c: (PRIORITY_RANK[c.priority], c.opened_at, c.pk)
        )
        units_called: Counter[int | None] = Counter()
        allotted_in_month = 0
        # A small bank's month has few detractors: the executive takes a share, not all of them.
        quota = min(CALLBACKS_PER_MONTH, max(1, len(ordered) // 4))
        while ordered and allotted_in_month < quota:
            fewest = min(units_called[c.unit_id] for c in ordered)
            case = next(c for c in ordered if units_called[c.unit_id] == fewest)
            ordered.remove(case)
            next_day = case.opened_at.astimezone(zone).date() + timedelta(days=1)
            allotted = datetime.combine(next_day, time(), tzinfo=zone) + SWEEP_TICK
            if allotted >= world.reference or first_of_month(next_day) != month:
                continue  # allotted in the next month, or after the reference date: not this one
            chosen[case.pk] = allotted
            units_called[case.unit_id] += 1
            allotted_in_month += 1
    return chosen


def _coverage(
    world: LoopWorld,
    rng: random.Random,
    cases: Sequence[CaseRow],
    lives: dict[int, Life],
    callbacks: dict[int, datetime],
) -> None:
    """Live a few cases again to order so that every state, a reopened case, an escalation, open
    cases of each line manager and coaching of the frontline login are there at any scale."""
    ref = world.reference

    def relive(case: CaseRow, orders: Orders) -> None:
        lives[case.pk] = _live(world, rng, case, callback_at=callbacks.get(case.pk), orders=orders)

    def candidates(least_days: float, most_days: float) -> list[CaseRow]:
        return [
            c
            for c in reversed(cases)
            if c.pk not in callbacks
            and (c.owner_id is not None or c.queue)
            and timedelta(days=least_days) <= ref - c.opened_at <= timedelta(days=most_days)
        ]

    touched: set[int] = set()

    def spare(case: CaseRow) -> bool:
        """Whether reliving the case loses nothing another part of the coverage needs."""
        life = lives[case.pk]
        if case.pk in touched:
            return False
        if sum(1 for other in lives.values() if other.state == life.state) <= 1:
            return False
        for mark in ("reopened_count", "escalation_level"):
            if life.fields[mark] and sum(1 for o in lives.values() if o.fields[mark]) <= 1:
                return False
        return True

    def relive_first(pool: Sequence[CaseRow], orders: Orders) -> None:
        case = next((c for c in pool if spare(c)), None)
        if case is not None:
            touched.add(case.pk)
            relive(case, orders)

    for state in STATES:
        if not any(life.state == state for life in lives.values()):
            relive_first(candidates(8 if state == "new" else 3, 400), Orders(state))
    if not any(life.fields["reopened_count"] for life in lives.values()):
        relive_first(candidates(6, 400), Orders("closed", reopen=True))
    if not any(life.fields["escalation_level"] for life in lives.values()):
        relive_first(candidates(8, 400), Orders("new"))
    for user in world.line_managers.values():
        theirs = [c for c in candidates(0, 400) if lives[c.pk].fields["owner_id"] == user]
        if theirs and all(lives[c.pk].state == "closed" for c in theirs):
            relive_first(theirs, Orders("in_contact"))
    frontline = [c for c in reversed(cases) if c.employee_id == world.frontline_person_id]
    if frontline and not any(lives[c.pk].coaching for c in frontline):
        for case in frontline:
            life = lives[case.pk]
            if life.fields["resolved_at"] is None and life.fields["first_contact_at"] is None:
                continue
            after = life.fields["resolved_at"] or life.fields["first_contact_at"]
            supervisor = life.fields["owner_id"]
            if supervisor not in world.line_managers.values():
                continue
            language = world.staff_language.get(case.unit_id or 0, "en")
            coaching = _coaching(world, rng, case, supervisor, after, ["staff.attitude"], language)
            if coaching is None:
                continue
            life.coaching = coaching
            life.events.append(
                {
                    "kind": K.COACHING.value,
                    "at": coaching["created_at"],
                    "actor_id": supervisor,
                    "text": "",
                    "data": {"coaching_note": None, "employee": case.employee_id},
                }
            )
            life.events.sort(key=lambda e: e["at"])
            life.fields["version"] += 1
            life.fields["updated_at"] = max(life.fields["updated_at"], coaching["created_at"])
            break


def case_lives_write(
    *, rng: random.Random, world: LoopWorld, case_ids: Sequence[int]
) -> LivesSummary:
    """Draw and write the lives of the opened cases; what they came to."""
    cases = cases_load(world, case_ids)
    callbacks = _callbacks(world, cases)
    lives = {case.pk: _live(world, rng, case, callback_at=callbacks.get(case.pk)) for case in cases}
    _coverage(world, rng, cases, lives, callbacks)
    ordered = [lives[case.pk] for case in cases]
    if ordered:
        lives_write(world, ordered)
    return LivesSummary(
        states=Counter(life.state for life in ordered),
        reopened=sum(1 for life in ordered if life.fields["reopened_count"]),
        escalated=sum(1 for life in ordered if life.fields["escalation_level"]),
        events=CaseEvent.objects.filter(organisation_id=world.organisation_id).count(),
        coaching_notes=sum(1 for life in ordered if life.coaching is not None),
        callbacks=len(callbacks),
        queued=sum(1 for life in ordered if life.fields["queue"]),
    )
