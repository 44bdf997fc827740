"""Who hears about what happens to a case, in the app and by email (at once or in a daily digest),
and the signed webhook events each step of a case queues for integrations."""

import socket
from datetime import timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sonda.accounts.models import Membership, Role
from sonda.core.errors import ValidationFailed
from sonda.loop.callbacks import executive_callback_assign
from sonda.loop.case_webhooks import case_event_webhook_emit
from sonda.loop.emails import notification_digests_send, notification_emails_send
from sonda.loop.models import (
    CaseEvent,
    CaseEventKind,
    Notification,
    NotificationPreference,
)
from sonda.loop.notifications import (
    case_event_notify,
    notification_list,
    notification_preferences,
    notification_preferences_set,
    notifications_mark_read,
)
from sonda.loop.routing import case_reassign
from sonda.loop.sweeps import loop_sweep
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.timeline import case_event_record
from sonda.loop.workflow import (
    case_add_note,
    case_close,
    case_code_root_causes,
    case_reopen,
    case_transition,
    coaching_note_create,
)
from sonda.webhooks.models import WebhookDelivery
from sonda.webhooks.services import webhook_endpoint_create


@pytest.fixture
def bank(world):
    return make_bank(world)


def told(**filters) -> list[tuple[str, str]]:
    """(recipient's email, kind) of the notifications, oldest first."""
    return list(
        Notification.objects.filter(**filters)
        .order_by("id")
        .values_list("recipient__email", "kind")
    )


def emails_job_enqueued() -> int:
    return DBTaskResult.objects.filter(
        task_path="sonda.loop.emails.send_notification_emails"
    ).count()


# In the app ---------------------------------------------------------------------------------------


def test_a_new_case_tells_its_owner_and_wakes_the_email_job_after_commit(
    bank, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case = bank.case(employee_id=bank.bogdan.pk)
    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind, notification.case) == (
        bank.world.manager_north,
        "case_assigned",
        case,
    )
    assert notification.data == {"case": case.pk, "priority": "normal"}
    assert (notification.read_at, notification.emailed_at) == (None, None)
    assert len(callbacks) >= 1
    assert emails_job_enqueued() >= 1


def test_a_case_nobody_owns_tells_head_office(bank, world):
    bank.case()  # no employee, no unit: the fallback queue
    assert told() == [("analyst@banca.example", "case_queued")]
    # Without analysts, the admins look after the queue.
    Membership.objects.filter(user=world.analyst).update(role=Role.EXECUTIVE)
    bank.case()
    assert told()[-1] == ("admin@banca.example", "case_queued")


def test_each_step_of_a_case_tells_the_people_it_concerns_and_nobody_twice(bank, world):
    bogdan = bank.bogdan.user
    operations = bank.function("Operations", member_ids=[world.admin.pk, bogdan.pk])
    systemic = bank.problem("branch_hours", owner_function_id=operations.pk)
    case = bank.case(employee_id=bank.bogdan.pk)  # about Bogdan: Maria (north) owns it
    analyst = bank.analyst
    south = bank.scope(world.manager_south)

    case_reassign(
        scope=analyst, case_id=case.pk, owner_id=world.manager_south.pk, reason="Maria is away"
    )
    case_add_note(scope=analyst, case_id=case.pk, text="The customer called again.")
    case_add_note(scope=south, case_id=case.pk, text="Called back, apologised.")  # own note
    case_code_root_causes(scope=south, case_id=case.pk, problem_ids=[systemic.pk])
    coaching_note_create(
        scope=south, case_id=case.pk, behaviour="Kept the customer waiting", agreed_action="Call"
    )
    case_transition(scope=south, case_id=case.pk, state="in_contact")
    case_transition(scope=south, case_id=case.pk, state="resolved", recovery_outcome="fixed")
    case_close(scope=south, case_id=case.pk, recovery_outcome="fixed")
    case_reopen(scope=analyst, case_id=case.pk, reason="The customer wrote again")
    executive_callback_assign(
        scope=analyst, case_id=case.pk, executive_id=world.executive.pk, month=OPENED.date()
    )

    assert told() == [
        ("north@banca.example", "case_assigned"),  # opened and routed to Maria
        ("south@banca.example", "case_assigned"),  # reassigned by the analyst
        ("south@banca.example", "case_note"),  # the analyst's note, not the owner's own
        ("admin@banca.example", "function_case"),  # not Bogdan: the case is about him
        ("bogdan@banca.example", "coaching"),  # his coaching note, which names no case
        ("south@banca.example", "case_reopened"),
        ("executive@banca.example", "callback"),
    ]
    coaching = Notification.objects.get(kind="coaching")
    assert coaching.case is None
    assert set(coaching.data) == {"coaching_note", "by"}
    assert Notification.objects.get(kind="function_case").data["function"] == "Operations"
    # Nothing about his own case reached Bogdan but his coaching note.
    assert told(recipient=bogdan) == [("bogdan@banca.example", "coaching")]


def test_sla_warnings_and_escalations_reach_the_owner_and_whom_it_went_to(bank, world):
    case = bank.case(employee_id=bank.bogdan.pk)  # owned by Maria (manager_north)
    due = (OPENED + timedelta(hours=8)).isoformat()
    with transaction.atomic():
        case_event_record(
            case=case,
            kind=CaseEventKind.WARNED,
            at=OPENED,
            data={
                "deadline": "first_contact",
                "due": due,
                "minutes_left": 60,
                "owner": case.owner_id,
            },
        )
        case_event_record(
            case=case,
            kind=CaseEventKind.ESCALATED,
            at=OPENED,
            data={
                "deadline": "first_contact",
                "due": due,
                "level": 1,
                "to_user": world.manager_south.pk,
                "via": "supervisor",
                "owner": case.owner_id,
            },
        )
        case_event_record(
            case=case,
            kind=CaseEventKind.ESCALATED,
            at=OPENED,
            data={
                "deadline": "close",
                "due": due,
                "level": 2,
                "to_user": None,
                "via": "head_office",
                "owner": case.owner_id,
            },
        )
    assert told()[1:] == [
        ("north@banca.example", "sla_warning"),
        ("south@banca.example", "sla_escalated"),
        ("north@banca.example", "sla_escalated"),
        ("analyst@banca.example", "sla_escalated"),
        ("north@banca.example", "sla_escalated"),
    ]
    to_south = Notification.objects.get(recipient=world.manager_south)
    assert to_south.data == {
        "case": case.pk,
        "priority": "normal",
        "deadline": "first_contact",
        "due": due,
        "to_you": True,
    }


class RequestFailed(Exception):
    pass


def note_then_fail(bank, case_id: int) -> None:
    with transaction.atomic():
        case_add_note(scope=bank.analyst, case_id=case_id, text="Written, then undone.")
        raise RequestFailed


def test_a_change_that_rolls_back_tells_nobody(bank, django_capture_on_commit_callbacks):
    case = bank.case(employee_id=bank.bogdan.pk)
    before = told()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RequestFailed):
        note_then_fail(bank, case.pk)
    assert told() == before
    assert emails_job_enqueued() == 0


def test_a_retried_entry_or_a_second_sweep_notifies_nobody_twice(bank):
    bank.rule()
    bank.respond({"ltr": 1}, employee_id=bank.bogdan.pk)
    loop_sweep(now=OPENED)
    loop_sweep(now=OPENED)
    assert told() == [("north@banca.example", "case_assigned")]
    # The same entry announced again (a job retried after the commit) changes nothing.
    event = CaseEvent.objects.get(kind="routed")
    case_event_notify(case=event.case, event=event)
    assert Notification.objects.count() == 1


def test_one_reads_and_marks_only_ones_own_notifications(bank, world):
    bank.case(employee_id=bank.bogdan.pk)  # Maria's
    bank.case()  # the analyst's queue notice
    maria = bank.scope(world.manager_north)
    analyst = bank.analyst
    [mine] = notification_list(scope=maria)
    [theirs] = notification_list(scope=analyst)

    assert notifications_mark_read(scope=maria, notification_ids=[theirs.pk]) == 0
    assert notifications_mark_read(scope=maria, notification_ids=[mine.pk]) == 1
    assert notifications_mark_read(scope=maria) == 0
    assert list(notification_list(scope=maria, unread_only=True)) == []
    assert [n.pk for n in notification_list(scope=analyst, unread_only=True)] == [theirs.pk]
    assert list(notification_list(scope=world.scope(world.outsider, world.other_org))) == []


# By email -----------------------------------------------------------------------------------------


def test_the_owner_receives_one_email_over_smtp_whatever_runs_twice(bank, world, mailbox, settings):
    world.manager_north.language = "ro"
    world.manager_north.save(update_fields=["language"])
    case = bank.case(employee_id=bank.bogdan.pk)

    assert notification_emails_send() == 1
    assert notification_emails_send() == 0

    [mail] = mailbox.messages
    assert mail["To"] == "north@banca.example"
    assert mail["Content-Language"] == "ro"
    subject = str(make_header(decode_header(mail["Subject"])))  # Romanian: encoded words
    assert str(case.pk) in subject
    body = mail.get_payload()[0].get_payload(decode=True).decode()
    assert f"{settings.SONDA_PUBLIC_URL}/loop/cases/{case.pk}/" in body
    assert Notification.objects.get().emailed_at is not None


def test_a_mail_server_that_is_down_leaves_the_email_for_the_next_run(bank, mailbox, settings):
    bank.case(employee_id=bank.bogdan.pk)
    working_port = settings.EMAIL_PORT
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = unused.getsockname()[1]  # nothing listens there
    assert notification_emails_send() == 0
    assert Notification.objects.get().emailed_at is None

    settings.EMAIL_PORT = working_port
    assert notification_emails_send() == 1
    assert len(mailbox.messages) == 1


def test_email_at_once_turned_off_keeps_the_notification_in_the_app_only(bank, world, mailbox):
    maria = bank.scope(world.manager_north)
    notification_preferences_set(scope=maria, email_immediately=False, daily_digest=False)
    bank.case(employee_id=bank.bogdan.pk)

    assert notification_emails_send() == 0
    assert notification_digests_send(now=timezone.now().replace(hour=18)) == 0
    assert mailbox.messages == []
    assert [n.kind for n in notification_list(scope=maria)] == ["case_assigned"]


def test_the_daily_digest_lists_the_days_notifications_once_a_day(bank, world, mailbox):
    world.org.time_zone = "Europe/Warsaw"
    world.org.save(update_fields=["time_zone"])
    world.manager_north.language = "pl"
    world.manager_north.save(update_fields=["language"])
    maria = bank.scope(world.manager_north)
    notification_preferences_set(scope=maria, email_immediately=False, daily_digest=True)
    first = bank.case(employee_id=bank.bogdan.pk)
    second = bank.case(employee_id=bank.bogdan.pk)
    assert notification_emails_send() == 0  # not at once

    today = timezone.localtime(timezone.now(), timezone=ZoneInfo("Europe/Warsaw")).replace(
        hour=16, minute=59, second=0, microsecond=0
    )
    assert notification_digests_send(now=today) == 0  # before 17:00 in Warsaw
    assert notification_digests_send(now=today + timedelta(minutes=1)) == 1
    assert notification_digests_send(now=today + timedelta(hours=2)) == 0  # once a day

    [digest] = mailbox.messages
    assert digest["To"] == "north@banca.example"
    assert digest["Content-Language"] == "pl"
    body = digest.get_payload()[0].get_payload(decode=True).decode()
    for case in (first, second):
        assert f"/loop/cases/{case.pk}/" in body
    assert NotificationPreference.objects.get().digest_sent_on == today.date()
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0

    third = bank.case(employee_id=bank.bogdan.pk)
    assert notification_digests_send(now=today + timedelta(days=1, minutes=1)) == 1
    latest = mailbox.messages[-1].get_payload()[0].get_payload(decode=True).decode()
    assert f"/loop/cases/{third.pk}/" in latest
    assert f"/loop/cases/{first.pk}/" not in latest


def test_preferences_are_ones_own_and_must_be_true_or_false(bank, world):
    maria = bank.scope(world.manager_north)
    assert notification_preferences(scope=maria).email_immediately is True
    notification_preferences_set(scope=maria, email_immediately=False, daily_digest=True)
    assert notification_preferences(scope=bank.analyst).email_immediately is True
    with pytest.raises(ValidationFailed) as refused:
        notification_preferences_set(scope=maria, email_immediately="yes", daily_digest=True)  # type: ignore[arg-type]
    assert [e.field for e in refused.value.errors] == ["email_immediately"]
    assert notification_preferences(scope=maria).daily_digest is True


# Webhooks -----------------------------------------------------------------------------------------


def test_each_case_event_queues_one_delivery_per_endpoint_without_what_was_said(bank, world):
    crm = webhook_endpoint_create(
        scope=world.scope(world.admin),
        url="https://crm.example/hooks/sonda",
        event_types=[
            "case.opened",
            "case.routed",
            "case.state_changed",
            "case.note_added",
            "case.coded",
            "case.closed",
            "case.reopened",
        ],
    ).endpoint
    webhook_endpoint_create(
        scope=world.scope(world.admin), url="https://bi.example/in", event_types=["case.closed"]
    )
    waiting = bank.problem("waiting")
    case = bank.case(employee_id=bank.bogdan.pk)
    analyst = bank.analyst
    note = case_add_note(scope=analyst, case_id=case.pk, text="Ana Popescu, 0721 000 000, angry.")
    case_code_root_causes(scope=analyst, case_id=case.pk, problem_ids=[waiting.pk])
    case_transition(scope=analyst, case_id=case.pk, state="in_contact")
    case_transition(scope=analyst, case_id=case.pk, state="resolved", recovery_outcome="fixed")
    case_close(scope=analyst, case_id=case.pk, recovery_outcome="fixed")
    case_reopen(scope=analyst, case_id=case.pk, reason="Ana Popescu wrote again")

    to_crm = list(
        WebhookDelivery.objects.filter(endpoint=crm)
        .order_by("id")
        .values_list("event_type", "event_id")
    )
    events = {e.kind: e.pk for e in CaseEvent.objects.filter(case=case)}
    assert [t for t, _ in to_crm] == [
        "case.opened",
        "case.routed",
        "case.note_added",
        "case.coded",
        "case.state_changed",
        "case.state_changed",
        "case.state_changed",
        "case.closed",
        "case.state_changed",
        "case.reopened",
    ]
    assert ("case.note_added", f"case-{case.pk}:{note.pk}:case.note_added") in to_crm
    assert (
        "case.reopened",
        f"case-{case.pk}:{events['reopened']}:case.reopened",
    ) in to_crm
    assert list(
        WebhookDelivery.objects.exclude(endpoint=crm).values_list("event_type", flat=True)
    ) == ["case.closed"]
    note_delivery = WebhookDelivery.objects.get(event_type="case.note_added")
    assert note_delivery.payload["case"]["id"] == case.pk
    assert note_delivery.payload["case"]["employee_id"] == bank.bogdan.pk
    assert note_delivery.payload["event"] == {
        "id": note.pk,
        "kind": "note",
        "at": note.at.isoformat(),
        "actor_id": world.analyst.pk,
        "data": {},
    }
    for delivery in WebhookDelivery.objects.all():
        assert "Popescu" not in str(delivery.payload)

    # The same timeline entry announced again (a retried job) queues nothing new.
    count = WebhookDelivery.objects.count()
    case_event_webhook_emit(case=case, event=note)
    assert WebhookDelivery.objects.count() == count


def test_without_endpoints_case_events_queue_nothing(bank):
    bank.case(employee_id=bank.bogdan.pk)
    assert WebhookDelivery.objects.count() == 0
