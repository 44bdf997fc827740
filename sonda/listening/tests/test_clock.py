"""The clock: every tick enqueues delivery, reminders, expiry, webhook retries and the loop's jobs
for the worker."""

import os
import signal
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks_db.models import DBTaskResult

from sonda.listening.tasks import deliver_due_messages, expire_invitations, queue_reminders

PATHS = {
    "sonda.listening.tasks.deliver_due_messages",
    "sonda.listening.tasks.queue_reminders",
    "sonda.listening.tasks.expire_invitations",
    "sonda.webhooks.tasks.deliver_due_webhooks",
    "sonda.loop.tasks.evaluate_completed_responses",
    "sonda.loop.tasks.open_silence_cases_daily",
    "sonda.loop.tasks.allot_executive_callbacks_daily",
    "sonda.loop.emails.send_notification_emails",
    "sonda.loop.emails.send_notification_digests",
    "sonda.loop.sla_tasks.sweep_sla_deadlines",
}


def enqueued() -> list[str]:
    return sorted(DBTaskResult.objects.values_list("task_path", flat=True))


@pytest.mark.django_db
def test_once_enqueues_delivery_reminders_and_expiry():
    out = StringIO()
    call_command("listening_clock", "--once", verbosity=2, stdout=out)

    assert set(enqueued()) == PATHS
    assert len(enqueued()) == len(PATHS)
    assert "deliver_due_messages" in out.getvalue()


@pytest.mark.django_db
def test_a_job_still_waiting_is_not_enqueued_again():
    call_command("listening_clock", "--once")
    call_command("listening_clock", "--once")

    assert len(enqueued()) == len(PATHS)

    DBTaskResult.objects.filter(task_path__endswith="deliver_due_messages").update(
        status="SUCCESSFUL"
    )
    call_command("listening_clock", "--once")

    assert len(enqueued()) == len(PATHS) + 1


@pytest.mark.django_db
def test_the_clock_ticks_until_sigterm_then_stops_cleanly():
    previous = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        call_command("listening_clock", "--interval", "0.05")
    finally:
        timer.cancel()

    assert set(enqueued()) == PATHS
    assert signal.getsignal(signal.SIGTERM) == previous


def test_an_interval_of_zero_is_refused():
    with pytest.raises(CommandError, match="interval"):
        call_command("listening_clock", "--interval", "0")


@pytest.mark.django_db
def test_the_periodic_jobs_call_their_services():
    assert deliver_due_messages.call() == 0
    assert queue_reminders.call() == 0
    assert expire_invitations.call() == 0
