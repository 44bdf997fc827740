"""The loop's periodic work: every completed response evaluated, silent accounts and executive
callbacks once a day. The clock enqueues the jobs (`sonda.loop.tasks.LOOP_PERIODIC`) every minute.

**Evaluation.** Each run evaluates the responses completed within EVALUATION_WINDOW that the loop
has not evaluated yet (`ResponseEvaluation` remembers which it has), oldest id first, in batches.
A response's evaluation (its case, its praise, the notifications) and its memory row commit
together, so a worker that dies mid-batch leaves the rest for the next run, and a response
evaluated by two runs at once opens one case (the memory row's unique index makes the second wait
and then skip; the case's own unique constraint holds even without it). A response is found
however its completing transaction interleaved with others and however long that took, which a
watermark on ids or times could not promise. Responses completed before the window (history
imported from another tool, answers given while the loop was not set up) open no case.

**Daily jobs** run at the first tick of each local day of the organisation: non-response cases
for accounts that stopped answering, and the executives' callbacks for the month, topped up to
each executive's quota with new detractor cases spread across units.
"""

import logging
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from sonda.accounts.models import Membership, Organisation, Role
from sonda.loop.callbacks import first_of_month
from sonda.loop.follow_up import follow_up_answer_link
from sonda.loop.models import (
    PRIORITY_RANK,
    AlertRule,
    Case,
    CaseEventKind,
    CaseState,
    ExecutiveCallback,
    LoopSettings,
    Praise,
    ResponseEvaluation,
)
from sonda.loop.notifications import praise_notify
from sonda.loop.opening import cases_open_for_silence, loop_evaluate_response, loop_settings_of
from sonda.loop.timeline import case_event_record, case_save
from sonda.org.models import Person
from sonda.surveys.models import Answer, QuestionKind, Response, ResponseStatus

logger = logging.getLogger(__name__)

# A detractor from last week still deserves a call; one from last year is history. The window
# also covers a worker stopped over a long weekend.
EVALUATION_WINDOW = timedelta(days=7)
BATCH = 200
# One run's share; the next minute's run goes on from there.
MOST_PER_RUN = 5_000


@dataclass
class SweepResult:
    evaluated: int = 0
    cases: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def responses_awaiting_evaluation(
    *, now: datetime, after_id: int = 0, limit: int = BATCH
) -> list[int]:
    """Ids of responses completed within the window that the loop has not evaluated, in order."""
    return list(
        Response.objects.filter(
            status=ResponseStatus.COMPLETE,
            completed_at__gte=now - EVALUATION_WINDOW,
            pk__gt=after_id,
        )
        .filter(~Exists(ResponseEvaluation.objects.filter(response=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def response_evaluate_once(*, response_id: int, now: datetime | None = None) -> Case | None:
    """Evaluate one completed response unless it has been already; the case it opened, if any.

    A response evaluated before (or being evaluated by another run, which then commits first)
    is left as it is: its case, if it opened one, is the answer.
    """
    at = now or timezone.now()
    with transaction.atomic():
        response = Response.objects.filter(pk=response_id).values("organisation_id").first()
        if response is None:
            return None
        try:
            with transaction.atomic():
                ResponseEvaluation.objects.create(
                    organisation_id=response["organisation_id"], response_id=response_id
                )
        except IntegrityError:
            return Case.objects.filter(response_id=response_id).first()
        if follow_up_answer_link(response_id=response_id, now=at) is not None:
            # The answer to a case's follow-up survey belongs to that case (its timeline shows
            # the score): it opens no case of its own, however low, and praises nobody for the
            # interaction the customer complained about. A customer still unhappy is the
            # owner's to see there and to reopen the case for, with the reason, as one story.
            return None
        case = loop_evaluate_response(response_id=response_id, now=at)
        for praise in Praise.objects.filter(response_id=response_id).order_by("pk"):
            praise_notify(praise=praise)
    return case


def loop_sweep(*, now: datetime | None = None, most: int = MOST_PER_RUN) -> SweepResult:
    """Evaluate the completed responses awaiting it (up to `most`), then forget old ones."""
    now = now or timezone.now()
    result = SweepResult()
    after = 0
    while result.evaluated + len(result.failed) < most:
        batch = responses_awaiting_evaluation(
            now=now, after_id=after, limit=min(BATCH, most - result.evaluated - len(result.failed))
        )
        if not batch:
            break
        for response_id in batch:
            try:
                case = response_evaluate_once(response_id=response_id, now=now)
            except Exception:
                # One response that cannot be evaluated must not hold up the others; it is
                # tried again by the next run, as long as it is within the window.
                logger.exception("loop: evaluating response %s failed", response_id)
                result.failed.append(response_id)
                continue
            result.evaluated += 1
            if case is not None:
                result.cases.append(case.pk)
        after = batch[-1]
    ResponseEvaluation.objects.filter(response__completed_at__lt=now - EVALUATION_WINDOW).delete()
    return result


# Daily jobs --------------------------------------------------------------------------------------


def organisation_zone(organisation: Organisation) -> ZoneInfo:
    try:
        return ZoneInfo(organisation.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _daily(
    *,
    organisations: Iterable[Organisation],
    marker: str,
    now: datetime,
    work: Callable[[Organisation, date], int],
) -> dict[int, int]:
    """Run `work` for each organisation whose local day has not had it yet; marks the day after.

    A run that fails is tried again at the next tick; two runs at once are harmless, since the
    work itself is idempotent.
    """
    done: dict[int, int] = {}
    for organisation in organisations:
        today = now.astimezone(organisation_zone(organisation)).date()
        settings = loop_settings_of(organisation.pk)
        if getattr(settings, marker) == today:
            continue
        try:
            done[organisation.pk] = work(organisation, today)
        except Exception:
            logger.exception("loop: daily %s failed for organisation %s", marker, organisation.pk)
            continue
        LoopSettings.objects.filter(pk=settings.pk).update(**{marker: today})
    return done


def silence_sweep(*, now: datetime | None = None) -> dict[int, int]:
    """Once a day per organisation with program rules: open the silent accounts' cases."""
    at = now or timezone.now()
    # Only a rule of a program can be a non-response rule; the opening skips the others.
    with_rules = AlertRule.objects.filter(is_active=True, program__isnull=False).values(
        "organisation_id"
    )
    return _daily(
        organisations=Organisation.objects.filter(pk__in=with_rules).order_by("pk"),
        marker="silence_checked_on",
        now=at,
        work=lambda organisation, _today: len(
            cases_open_for_silence(organisation_id=organisation.pk, now=at)
        ),
    )


def callbacks_sweep(*, now: datetime | None = None) -> dict[int, int]:
    """Once a day per organisation with executives: top up each executive's callbacks."""
    at = now or timezone.now()
    with_executives = Membership.objects.filter(role=Role.EXECUTIVE, user__is_active=True).values(
        "organisation_id"
    )
    return _daily(
        organisations=Organisation.objects.filter(pk__in=with_executives).order_by("pk"),
        marker="callbacks_allotted_on",
        now=at,
        work=lambda organisation, _today: len(
            executive_callbacks_allot(organisation=organisation, now=at)
        ),
    )


def units_in_turn(cases: Iterable[Case]) -> list[Case]:
    """The cases reordered so that every unit gives one before any gives a second."""
    by_unit: dict[int | None, deque[Case]] = defaultdict(deque)
    for case in cases:
        by_unit[case.unit_id].append(case)
    queues = list(by_unit.values())
    ordered: list[Case] = []
    while queues:
        ordered.extend(queue.popleft() for queue in queues)
        queues = [queue for queue in queues if queue]
    return ordered


def executive_callbacks_allot(
    *, organisation: Organisation, now: datetime | None = None
) -> list[ExecutiveCallback]:
    """Give each executive new detractor cases of this month, up to their monthly quota.

    Candidates are cases still new, opened this month (in the organisation's time zone) from a
    response with a detractor's recommendation, not yet anyone's callback and not about the
    executive: the most urgent first, spread across units, and dealt to the executives in turn
    so that they call different units. What was allotted before stays.
    """
    at = now or timezone.now()
    zone = organisation_zone(organisation)
    month = first_of_month(at.astimezone(zone).date())
    quota = loop_settings_of(organisation.pk).executive_callbacks_per_month
    executives = list(
        Membership.objects.filter(
            organisation=organisation, role=Role.EXECUTIVE, user__is_active=True
        )
        .order_by("user_id")
        .values_list("pk", "user_id")
    )
    taken = dict(
        ExecutiveCallback.objects.filter(organisation=organisation, month=month)
        .values("executive_id")
        .annotate(n=Count("pk"))
        .values_list("executive_id", "n")
    )
    wanted = {user: quota - taken.get(user, 0) for _membership, user in executives}
    turn = deque((membership, user) for membership, user in executives if wanted[user] > 0)
    if not turn:
        return []
    detractor = Exists(
        Answer.objects.filter(
            response_id=OuterRef("response_id"),
            kind=QuestionKind.NPS,
            value_number__lte=OuterRef("program__detractor_max"),
        )
    )
    cases = sorted(
        Case.objects.filter(
            organisation=organisation,
            state=CaseState.NEW,
            response__isnull=False,
            opened_at__gte=datetime.combine(month, time.min, tzinfo=zone),
        )
        .filter(~Exists(ExecutiveCallback.objects.filter(case=OuterRef("pk"))))
        .filter(detractor)
        .only("pk", "unit_id", "employee_id", "priority", "opened_at"),
        key=lambda c: (PRIORITY_RANK.get(c.priority, len(PRIORITY_RANK)), c.opened_at, c.pk),
    )
    user_of_employee = dict(
        Person.objects.filter(
            organisation=organisation, pk__in={c.employee_id for c in cases if c.employee_id}
        ).values_list("pk", "user_id")
    )
    pool = units_in_turn(cases)
    # Each executive's units this month: the next case is from a unit they have called least.
    units_called: dict[int, Counter[int | None]] = defaultdict(Counter)
    for executive_id, unit_id in ExecutiveCallback.objects.filter(
        organisation=organisation, month=month
    ).values_list("executive_id", "case__unit_id"):
        units_called[executive_id][unit_id] += 1
    allotted: list[ExecutiveCallback] = []
    while turn and pool:
        membership, user = turn.popleft()
        # Nobody calls a customer back about their own work.
        theirs = [
            c for c in pool if c.employee_id is None or user_of_employee.get(c.employee_id) != user
        ]
        if not theirs:
            continue
        case = min(theirs, key=lambda c: units_called[user][c.unit_id])
        pool.remove(case)
        callback = _callback_give(
            case_id=case.pk, membership_id=membership, user_id=user, month=month, quota=quota, at=at
        )
        if callback is not None:
            allotted.append(callback)
            units_called[user][case.unit_id] += 1
            wanted[user] -= 1
        if wanted[user] > 0:
            turn.append((membership, user))
    return allotted


def _callback_give(
    *, case_id: int, membership_id: int, user_id: int, month: date, quota: int, at: datetime
) -> ExecutiveCallback | None:
    """Give one case to one executive within their quota, with the locks the assigning service
    takes (the executive's membership, then the case), so the two never overfill a month."""
    try:
        with transaction.atomic():
            Membership.objects.select_for_update().filter(pk=membership_id).first()
            case = Case.objects.select_for_update().filter(pk=case_id, state=CaseState.NEW).first()
            if case is None or ExecutiveCallback.objects.filter(case_id=case_id).exists():
                return None
            taken = ExecutiveCallback.objects.filter(
                organisation_id=case.organisation_id, executive_id=user_id, month=month
            ).count()
            if taken >= quota:
                return None
            callback = ExecutiveCallback.objects.create(
                organisation_id=case.organisation_id, case=case, executive_id=user_id, month=month
            )
            case_event_record(
                case=case,
                kind=CaseEventKind.CALLBACK,
                at=at,
                data={"executive": user_id, "month": month.isoformat(), "via": "allotment"},
            )
            case_save(case, [])
    except IntegrityError:
        return None  # the case became an executive's meanwhile
    return callback
