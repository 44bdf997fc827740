"""Background jobs of the loop. Thin: each calls a service that is safe to run twice.

The clock (`manage.py listening_clock`) enqueues LOOP_PERIODIC every minute: the sweep that
evaluates every completed response, the daily jobs (each runs once a day per organisation
whatever the number of ticks), and the notification emails (at once and the daily digests).
"""

from django_tasks import task

from sonda.loop.emails import send_notification_digests, send_notification_emails
from sonda.loop.opening import cases_open_for_silence
from sonda.loop.sweeps import (
    callbacks_sweep,
    loop_sweep,
    response_evaluate_once,
    silence_sweep,
)


@task()
def evaluate_response(response_id: int) -> int | None:
    """Open the case (and record the praise) of a completed response; the case's id or None."""
    case = response_evaluate_once(response_id=response_id)
    return case.pk if case is not None else None


@task()
def open_silence_cases(organisation_id: int) -> int:
    """Open cases for the organisation's accounts that stopped answering; how many opened."""
    return len(cases_open_for_silence(organisation_id=organisation_id))


@task()
def evaluate_completed_responses() -> int:
    """Evaluate the completed responses the loop has not seen yet; how many opened a case."""
    return len(loop_sweep().cases)


@task()
def open_silence_cases_daily() -> int:
    """Once a day per organisation: cases for the accounts that stopped answering."""
    return sum(silence_sweep().values())


@task()
def allot_executive_callbacks_daily() -> int:
    """Once a day per organisation: top up each executive's callbacks for the month."""
    return sum(callbacks_sweep().values())


LOOP_PERIODIC = (
    evaluate_completed_responses,
    open_silence_cases_daily,
    allot_executive_callbacks_daily,
    send_notification_emails,
    send_notification_digests,
)
