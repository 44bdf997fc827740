"""SMS delivery: the text (language, link, two segments at most), quiet hours in the customer's
time zone, consent checked at sending time, the logging provider, and two workers at once."""

import logging
import threading
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection

from sonda.customers.services import consent_set
from sonda.listening.delivery import messages_claim, messages_deliver_due, still_ours
from sonda.listening.models import (
    InvitationStatus,
    ListeningSettings,
    Message,
    MessageStatus,
    SkipReason,
)
from sonda.listening.sms import LoggingSmsProvider, SmsResult, sms_segments, sms_text
from sonda.listening.tests.delivery_helpers import (
    NOON,
    customer_of,
    fresh,
    invite,
    published_survey,
)
from sonda.surveys.models import SurveyLook

LONG_LINK = "https://feedback.a-rather-long-bank-domain.example/s/" + "x" * 43 + "/"


class Phone:
    """Stands in for the SMS provider outside the machine: remembers what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    def send(self, *, to: str, text: str, idempotency_key: str) -> SmsResult:
        self.sent.append({"to": to, "text": text, "key": idempotency_key})
        return SmsResult(provider_id=f"p-{len(self.sent)}")


@pytest.mark.parametrize("language", ["en", "ro", "pl"])
@pytest.mark.parametrize("kind", ["invitation", "reminder"])
@pytest.mark.parametrize(
    "sender", ["Banca", "Banca Comercială Carpatică — Sucursala Ștefan cel Mare"]
)
def test_an_sms_is_at_most_two_segments_in_every_language_and_keeps_the_whole_link(
    language, kind, sender
):
    text = sms_text(kind=kind, language=language, sender=sender, url=LONG_LINK)

    assert sms_segments(text) <= 2
    assert text.endswith(LONG_LINK)


def test_a_romanian_sms_keeps_its_diacritics_when_they_fit():
    text = sms_text(kind="invitation", language="ro", sender="Banca", url="https://b.ro/s/abc/")

    assert text == "Banca: cum a fost? Spuneți-ne într-un minut: https://b.ro/s/abc/"


def test_segments_are_counted_as_phones_count_them():
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2
    assert sms_segments("ș" * 70) == 1
    assert sms_segments("ș" * 71) == 2
    assert sms_segments("€" * 80) == 1  # two septets each in GSM-7


def test_an_sms_goes_out_in_the_messages_language_with_the_link(world, settings):
    settings.SONDA_PUBLIC_URL = "https://feedback.banca.example"
    SurveyLook.objects.create(organisation=world.org, sender_name="Banca Demo")
    message = invite(world, channel="sms", language="pl")
    phone = Phone()

    assert messages_deliver_due(now=NOON, sms=phone) == 1

    [sms] = phone.sent
    link = f"https://feedback.banca.example/s/{message.invitation.token}/"
    assert sms == {
        "to": message.to_address,
        "text": f"Banca Demo: jak nam poszło? Oceń nas w minutę: {link}",
        "key": message.idempotency_key,
    }
    message = fresh(message)
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, "p-1")
    assert message.invitation.status == InvitationStatus.SENT


def test_an_sms_due_at_night_waits_for_the_morning_without_counting_an_attempt(world):
    night = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)  # 23:30 in Bucharest
    message = invite(world, channel="sms", now=night)
    phone = Phone()

    assert messages_deliver_due(now=night, sms=phone) == 0

    message = fresh(message)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)
    assert message.next_attempt_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 09:00 local
    assert phone.sent == []
    assert messages_deliver_due(now=message.next_attempt_at, sms=phone) == 1


def test_quiet_hours_follow_the_customers_own_time_zone(world):
    ListeningSettings.objects.create(
        organisation=world.org, quiet_hours_start=time(21, 0), quiet_hours_end=time(8, 0)
    )
    at = datetime(2026, 11, 24, 19, 30, tzinfo=UTC)  # 21:30 in Bucharest, 20:30 in Warsaw
    survey = published_survey(world)
    warsaw = invite(world, survey=survey, channel="sms", now=at, time_zone="Europe/Warsaw")
    bucharest = invite(world, survey=survey, channel="sms", now=at, time_zone="Europe/Bucharest")
    phone = Phone()

    messages_deliver_due(now=at, sms=phone)

    assert fresh(warsaw).status == MessageStatus.SENT
    bucharest = fresh(bucharest)
    assert bucharest.status == MessageStatus.QUEUED
    assert bucharest.next_attempt_at == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_email_waits_for_the_morning_only_when_the_organisation_asks(world, mailbox):
    ListeningSettings.objects.create(organisation=world.org, quiet_hours_for_email=True)
    night = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)
    message = invite(world, now=night)

    assert messages_deliver_due(now=night) == 0
    assert fresh(message).next_attempt_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def test_an_sms_is_not_sent_once_the_customer_withdrew_sms_consent(world):
    message = invite(world, channel="sms")
    consent_set(customer=customer_of(message), channel="sms", granted=False)
    phone = Phone()

    messages_deliver_due(now=NOON, sms=phone)

    message = fresh(message)
    assert message.status == MessageStatus.CANCELLED
    assert message.invitation.skip_reason == SkipReason.NO_CONSENT
    assert phone.sent == []


def test_withdrawn_email_consent_does_not_stop_an_sms(world):
    message = invite(world, channel="sms")
    consent_set(customer=customer_of(message), channel="email", granted=False)

    assert messages_deliver_due(now=NOON, sms=Phone()) == 1


def test_the_logging_provider_writes_the_sms_to_the_log_in_development(world, caplog):
    message = invite(world, channel="sms", language="ro")
    caplog.set_level(logging.INFO, logger="sonda.listening.sms")

    assert messages_deliver_due(now=NOON, sms=LoggingSmsProvider()) == 1

    assert message.to_address in caplog.text
    assert message.invitation.token in caplog.text
    assert fresh(message).provider_message_id == f"log-{message.idempotency_key}"


def test_the_logging_provider_is_the_default(world, settings, caplog):
    settings.SONDA_SMS_PROVIDER = "logging"
    message = invite(world, channel="sms")
    caplog.set_level(logging.INFO, logger="sonda.listening.sms")

    assert messages_deliver_due(now=NOON) == 1
    assert message.to_address in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_never_take_the_same_message(world: Any):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SKIP LOCKED is what is under test")
    survey = published_survey(world)
    for _ in range(40):
        invite(world, survey=survey, channel="sms")
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def worker(index: int) -> None:
        try:
            barrier.wait()
            for _round in range(5):
                claimed[index] += messages_claim(now=NOON, limit=5)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 40
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}


def test_a_slow_worker_whose_lease_was_taken_over_no_longer_owns_the_message(world):
    message = invite(world, channel="sms")
    messages_claim(now=NOON)
    slow = Message.objects.get(pk=message.pk)  # what the first worker holds: attempt 1

    messages_claim(now=NOON + timedelta(minutes=6))  # its lease ran out; another run takes it
    taken = Message.objects.get(pk=message.pk)

    assert not still_ours(slow).exists()
    assert still_ours(taken).exists()
    phone = Phone()
    assert messages_deliver_due(now=NOON + timedelta(minutes=12), sms=phone) == 1
    assert len(phone.sent) == 1


class BrokenPhone:
    def send(self, *, to: str, text: str, idempotency_key: str) -> SmsResult:
        raise RuntimeError("the provider's client library broke")


def test_an_unexpected_error_on_one_message_is_recorded_and_retried_not_left_hanging(world):
    message = invite(world, channel="sms")

    assert messages_deliver_due(now=NOON, sms=BrokenPhone()) == 0

    message = fresh(message)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert "RuntimeError" in message.last_error
