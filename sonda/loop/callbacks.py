"""Executive callbacks: a detractor case an executive calls back personally.

Each executive takes a few cases a month (the organisation's setting, five by default). This is
the one write that assigns them; spreading the month's cases across units is the job of whoever
calls it (an analyst by hand, or a monthly assignment job).
"""

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.models import Membership, Role
from sonda.core.errors import Conflict, ValidationFailed
from sonda.loop.models import CaseEventKind, CaseState, ExecutiveCallback
from sonda.loop.opening import loop_settings_of
from sonda.loop.timeline import case_event_record, case_for_write, case_save
from sonda.loop.validation import is_id


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def executive_callback_assign(
    *,
    scope: Scope,
    case_id: int,
    executive_id: int,
    month: date,
    now: datetime | None = None,
) -> ExecutiveCallback:
    """Give an open case to an executive to call back in `month` (within their monthly quota).

    Conflict (`case_id`) when the case is closed or already an executive's, (`month`) when the
    executive has their month's callbacks already.
    """
    scope.require(CONFIGURE, "assign executive callbacks")
    if not isinstance(month, date):
        raise ValidationFailed.on("month", _("a date in the month"))
    executive = (
        Membership.objects.select_related("user")
        .filter(
            organisation=scope.organisation,
            user_id=executive_id,
            role=Role.EXECUTIVE,
            user__is_active=True,
        )
        .first()
        if is_id(executive_id)
        else None
    )
    if executive is None:
        raise ValidationFailed.on("executive_id", _("no such executive in this organisation"))
    quota = loop_settings_of(scope.organisation_id).executive_callbacks_per_month
    at = now or timezone.now()
    try:
        with transaction.atomic():
            case = case_for_write(scope=scope, case_id=case_id, expected_version=None)
            if case.state == CaseState.CLOSED:
                raise Conflict.on("case_id", _("The case is closed."))
            # The executive's row is the lock that keeps two assignments from both taking the
            # month's last place.
            Membership.objects.select_for_update().filter(pk=executive.pk).first()
            taken = ExecutiveCallback.objects.filter(
                organisation=scope.organisation,
                executive=executive.user,
                month=first_of_month(month),
            ).count()
            if taken >= quota:
                raise Conflict.on(
                    "month",
                    _("%(name)s already has %(count)d callbacks this month.")
                    % {"name": executive.user, "count": taken},
                )
            callback = ExecutiveCallback.objects.create(
                organisation=scope.organisation,
                case=case,
                executive=executive.user,
                month=first_of_month(month),
            )
            case_event_record(
                case=case,
                kind=CaseEventKind.CALLBACK,
                at=at,
                actor_id=scope.user.pk,
                data={"executive": executive.user_id, "month": callback.month.isoformat()},
            )
            case_save(case, [])
    except IntegrityError as exc:
        raise Conflict.on("case_id", _("An executive already calls this customer back.")) from exc
    return callback
