"""Invitation emails over a real SMTP server on loopback: language, link, unsubscribe headers,
refused recipients, an unreachable server, and the checks made just before sending."""

import email
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.header import decode_header, make_header
from email.message import Message as MailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from sonda.core.testing.smtp import Mailbox
from sonda.customers.services import consent_set
from sonda.listening.decisions import decide_events
from sonda.listening.delivery import MAX_ATTEMPTS, messages_claim, messages_deliver_due
from sonda.listening.models import InvitationStatus, MessageStatus, SkipReason
from sonda.listening.tests.delivery_helpers import (
    NOON,
    about,
    customer_of,
    fresh,
    invite,
    published_survey,
)
from sonda.listening.tests.listening_factories import (
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.surveys.models import SurveyLook

PUBLIC = "https://feedback.banca.example"


@pytest.fixture(autouse=True)
def _public_url(settings: Any) -> None:
    settings.SONDA_PUBLIC_URL = PUBLIC
    settings.DEFAULT_FROM_EMAIL = "Sonda <surveys@banca.example>"


def header(mail: MailMessage, name: str) -> str:
    return str(make_header(decode_header(mail[name])))


def body(mail: MailMessage, kind: str = "text/plain") -> str:
    for part in mail.walk():
        if part.get_content_type() == kind:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no {kind} part")


@pytest.mark.parametrize(
    ("language", "subject", "line"),
    [
        ("en", "Banca Demo Feedback: how was your experience?", "Take the survey:"),
        ("ro", "Banca Demo Feedback: cum a fost experiența dumneavoastră?", "Completați"),
        ("pl", "Banca Demo Feedback: jak oceniasz swoją wizytę?", "Wypełnij ankietę:"),
    ],
)
def test_the_invitation_email_speaks_the_customers_language_with_the_link_and_one_click_unsubscribe(
    world, mailbox, language, subject, line
):
    SurveyLook.objects.create(organisation=world.org, sender_name="Banca Demo Feedback")
    message = invite(world, language=language)

    assert messages_deliver_due(now=NOON) == 1

    [mail] = mailbox.messages
    assert header(mail, "Subject") == subject
    assert header(mail, "From") == "Banca Demo Feedback <surveys@banca.example>"
    assert mail["To"] == message.to_address
    assert mail["Content-Language"] == language
    link = f"{PUBLIC}/s/{message.invitation.token}/"
    assert line in body(mail)
    assert link in body(mail)
    assert f'href="{link}"' in body(mail, "text/html")
    unsubscribe = "".join(mail["List-Unsubscribe"].split())  # unfolded
    assert unsubscribe.startswith(f"<{PUBLIC}/u/")
    assert unsubscribe.endswith("/>")
    assert unsubscribe[1:-1] in body(mail)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.idempotency_key in mail["Message-ID"]
    message = fresh(message)
    assert message.status == MessageStatus.SENT
    assert about(message.sent_at, NOON)
    assert message.provider_message_id == mail["Message-ID"]
    assert message.invitation.status == InvitationStatus.SENT
    assert about(message.invitation.sent_at, NOON)


def test_a_language_sonda_does_not_write_falls_back_to_english(world, mailbox):
    invite(world, language="de")

    messages_deliver_due(now=NOON)

    [mail] = mailbox.messages
    assert header(mail, "Subject") == "Banca Demo: how was your experience?"


def test_a_batch_goes_out_in_one_run_and_nothing_is_sent_twice(world, mailbox):
    survey = published_survey(world)
    messages = [invite(world, survey=survey) for _ in range(3)]

    assert messages_deliver_due(now=NOON) == 3
    assert messages_deliver_due(now=NOON + timedelta(hours=1)) == 0

    assert sorted(m["To"] for m in mailbox.messages) == sorted(m.to_address for m in messages)


def test_a_message_not_yet_due_waits(world, mailbox):
    invite(world, now=NOON + timedelta(minutes=30))

    assert messages_deliver_due(now=NOON) == 0
    assert messages_deliver_due(now=NOON + timedelta(minutes=30)) == 1


class RefusingMailbox(Mailbox):
    """Refuses recipients whose address starts with "nobody", like a server with no such user;
    counts the SMTP sessions opened to it."""

    sessions: int = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("nobody"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_mailbox(settings: Any) -> Iterator[RefusingMailbox]:
    box = RefusingMailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        yield box
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_recipient_the_server_refuses_bounces_at_once_and_the_rest_of_the_batch_goes_out(
    world, refusing_mailbox
):
    survey = published_survey(world)
    refused = invite(world, survey=survey, email="nobody@banca.example")
    accepted = invite(world, survey=survey, email="ana@banca.example")
    accepted.next_attempt_at = NOON + timedelta(seconds=1)  # after the refused one
    accepted.save()

    assert messages_deliver_due(now=NOON + timedelta(seconds=1)) == 1

    refused = fresh(refused)
    assert refused.status == MessageStatus.BOUNCED
    assert refused.attempts == 1
    assert "550" in refused.last_error
    assert refused.invitation.status == InvitationStatus.FAILED
    assert refused.invitation.failed_at is not None
    assert fresh(accepted).status == MessageStatus.SENT
    assert [m["To"] for m in refusing_mailbox.messages] == ["ana@banca.example"]


def test_a_batch_of_emails_shares_one_smtp_session(world, refusing_mailbox):
    survey = published_survey(world)
    for _ in range(3):
        invite(world, survey=survey)

    assert messages_deliver_due(now=NOON) == 3

    assert len(refusing_mailbox.messages) == 3
    assert refusing_mailbox.sessions == 1


def test_an_unreachable_mail_server_is_tried_again_with_growing_waits_then_given_up(
    world, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    message = invite(world)
    now = NOON
    waits = []
    for attempt in range(1, MAX_ATTEMPTS):
        assert messages_deliver_due(now=now) == 0
        message = fresh(message)
        assert (message.status, message.attempts) == (MessageStatus.QUEUED, attempt)
        assert "unreachable" in message.last_error
        waits.append(message.next_attempt_at - now)
        # Not due again before its wait is over.
        assert messages_claim(now=message.next_attempt_at - timedelta(seconds=1)) == []
        now = message.next_attempt_at

    for wait, minutes in zip(waits, (1, 5, 25, 125), strict=True):
        assert about(wait, timedelta(minutes=minutes))
    messages_deliver_due(now=now)
    message = fresh(message)
    assert (message.status, message.attempts) == (MessageStatus.FAILED, MAX_ATTEMPTS)
    assert about(message.failed_at, now)
    assert message.invitation.status == InvitationStatus.FAILED


def test_an_email_is_not_sent_once_the_customer_withdrew_consent(world, mailbox):
    message = invite(world)
    consent_set(customer=customer_of(message), channel="email", granted=False)

    assert messages_deliver_due(now=NOON) == 0

    message = fresh(message)
    assert message.status == MessageStatus.CANCELLED
    assert message.invitation.status == InvitationStatus.SKIPPED
    assert message.invitation.skip_reason == SkipReason.NO_CONSENT
    assert mailbox.messages == []


def test_an_email_is_not_sent_to_a_customer_marked_do_not_contact_since_the_decision(
    world, mailbox
):
    message = invite(world)
    customer = customer_of(message)
    customer.do_not_contact = True
    customer.save()

    messages_deliver_due(now=NOON)

    message = fresh(message)
    assert message.status == MessageStatus.CANCELLED
    assert message.invitation.skip_reason == SkipReason.DO_NOT_CONTACT
    assert mailbox.messages == []


@pytest.mark.parametrize("status", [InvitationStatus.COMPLETED, InvitationStatus.EXPIRED])
def test_nothing_is_sent_for_an_invitation_already_completed_or_expired(world, mailbox, status):
    message = invite(world, status=InvitationStatus.SENT, sent_at=NOON - timedelta(days=1))
    invitation = message.invitation
    invitation.status = status
    invitation.completed_at = NOON
    invitation.save()

    messages_deliver_due(now=NOON)

    message = fresh(message)
    assert message.status == MessageStatus.CANCELLED
    assert message.invitation.status == status
    assert mailbox.messages == []


def test_a_worker_that_died_after_claiming_leaves_the_message_to_the_next_run(world, mailbox):
    message = invite(world)
    assert messages_claim(now=NOON) == [message.pk]  # ... and the worker dies here

    assert messages_deliver_due(now=NOON + timedelta(minutes=4)) == 0  # the lease still holds
    assert messages_deliver_due(now=NOON + timedelta(minutes=6)) == 1

    [mail] = mailbox.messages
    assert message.idempotency_key in mail["Message-ID"]
    assert fresh(message).attempts == 2


def test_the_embedded_setup_writes_email_to_files_under_var(world, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    message = invite(world)

    assert messages_deliver_due(now=NOON) == 1

    [written] = list((tmp_path / "mail").iterdir())
    mail = email.message_from_bytes(written.read_bytes())
    assert mail["To"] == message.to_address


def test_an_event_decided_into_an_invitation_reaches_the_customers_mailbox(world, mailbox):
    TriggerRuleFactory(survey=published_survey(world), delivery_order=["email"])
    customer = make_customer(world.org, email="ioana@banca.example", preferred_language="ro")
    event = EventFactory(
        organisation=world.org,
        customer=customer,
        unit=world.north_branch,
        occurred_at=NOON - timedelta(minutes=5),
    )
    decide_events(organisation_id=world.org.pk, event_ids=[event.pk], now=NOON)

    assert messages_deliver_due(now=NOON) == 1

    [mail] = mailbox.messages
    assert mail["To"] == "ioana@banca.example"
    assert "Completați chestionarul" in body(mail)
