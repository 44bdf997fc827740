"""Unsubscribing from an invitation email: the confirm page, the button, the mail client's
RFC 8058 one-click POST, idempotency, and tokens that were not signed for this."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from sonda.customers.models import Consent
from sonda.listening.delivery import messages_deliver_due
from sonda.listening.emails import unsubscribe_url
from sonda.listening.models import MessageStatus
from sonda.listening.tests.delivery_helpers import (
    NOON,
    customer_of,
    fresh,
    invite,
    published_survey,
)
from sonda.listening.unsubscribe import SOURCE, unsubscribe_token

PUBLIC = "https://feedback.banca.example"


@pytest.fixture(autouse=True)
def _public_url(settings: Any) -> None:
    settings.SONDA_PUBLIC_URL = PUBLIC


def path_of(message: Any, language: str = "en") -> str:
    return unsubscribe_url(customer_id=customer_of(message).pk, language=language).removeprefix(
        PUBLIC
    )


def withdrawn(message: Any) -> bool:
    return Consent.objects.filter(
        customer=customer_of(message), channel="email", granted=False, source=SOURCE
    ).exists()


def test_the_link_asks_to_confirm_in_the_customers_language_and_changes_nothing(world, client):
    message = invite(world, preferred_language="ro")

    page = client.get(path_of(message))

    assert page.status_code == 200
    assert page["Content-Language"] == "ro"
    assert "Doriți să vă dezabonați" in page.content.decode()
    assert '<form method="post">' in page.content.decode()
    assert not withdrawn(message)
    assert fresh(message).status == MessageStatus.QUEUED


def test_confirming_withdraws_email_consent_and_cancels_queued_emails_but_not_sms(world):
    survey = published_survey(world)
    email = invite(world, survey=survey, preferred_language="pl")
    customer = customer_of(email)
    customer.identities.create(organisation=world.org, kind="phone", value="+48600100200")
    sms = invite(world, survey=survey, customer=customer, channel="sms")
    browser = Client(enforce_csrf_checks=True)

    page = browser.post(path_of(email))

    assert page.status_code == 200
    assert "Wypisano Cię z listy" in page.content.decode()
    assert withdrawn(email)
    assert fresh(email).status == MessageStatus.CANCELLED
    assert fresh(sms).status == MessageStatus.QUEUED


def test_a_mail_clients_one_click_post_needs_no_csrf_token_and_is_idempotent(world):
    message = invite(world)
    mail_client = Client(enforce_csrf_checks=True)
    path = path_of(message)

    first = mail_client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    consent = Consent.objects.get(customer=customer_of(message), channel="email")
    second = mail_client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert (first.status_code, second.status_code) == (200, 200)
    assert Consent.objects.filter(customer=customer_of(message)).count() == 1
    again = Consent.objects.get(pk=consent.pk)
    assert (again.granted, again.source) == (False, SOURCE)
    assert fresh(message).status == MessageStatus.CANCELLED


def test_after_unsubscribing_the_link_says_so_instead_of_asking_again(world, client):
    message = invite(world, preferred_language="en")
    client.post(path_of(message))

    page = client.get(path_of(message))

    assert "You are unsubscribed" in page.content.decode()


def test_the_link_in_a_real_email_unsubscribes_and_no_more_email_goes_out(world, mailbox):
    survey = published_survey(world)
    first = invite(world, survey=survey)
    messages_deliver_due(now=NOON)
    [mail] = mailbox.messages
    link = "".join(mail["List-Unsubscribe"].split())[1:-1]
    later = invite(world, survey=survey, customer=customer_of(first), now=NOON + timedelta(days=40))
    later.status = MessageStatus.QUEUED
    later.save()

    Client(enforce_csrf_checks=True).post(link.removeprefix(PUBLIC))

    assert fresh(later).status == MessageStatus.CANCELLED
    assert messages_deliver_due(now=NOON + timedelta(days=40)) == 0
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        signing.dumps({"c": 1, "ch": "email", "l": "en"}, salt="another.purpose"),
        unsubscribe_token(customer_id=1)[:-3] + "abc",
    ],
    ids=["garbage", "signed_for_another_purpose", "tampered"],
)
def test_a_token_not_signed_for_unsubscribing_answers_400_and_changes_nothing(world, client, token):
    message = invite(world)

    for response in (client.get(f"/u/{token}/"), client.post(f"/u/{token}/")):
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
    assert not withdrawn(message)


def test_a_token_for_a_tampered_customer_id_does_not_pass(world, client):
    message = invite(world)
    good = unsubscribe_token(customer_id=customer_of(message).pk)
    payload, rest = good.split(":", 1)
    forged = signing.b64_encode(b'{"c":999,"ch":"email","l":"en"}').decode() + ":" + rest

    assert payload != forged.split(":", 1)[0]
    assert client.post(f"/u/{forged}/").status_code == 400


def test_an_erased_customer_has_nothing_left_to_unsubscribe(world, client):
    message = invite(world)
    customer = customer_of(message)
    customer.erased_at = timezone.now()
    customer.save()

    assert client.post(path_of(message)).status_code == 404


def test_a_merged_profile_unsubscribes_the_profile_it_became(world, client):
    survey = published_survey(world)
    old = invite(world, survey=survey)
    new = invite(world, survey=survey)
    merged = customer_of(old)
    merged.merged_into = customer_of(new)
    merged.save()

    client.post(path_of(old))

    assert withdrawn(new)
    assert fresh(new).status == MessageStatus.CANCELLED


def test_a_get_or_post_is_all_the_page_answers(world, client):
    message = invite(world)

    assert client.put(path_of(message)).status_code == 405
