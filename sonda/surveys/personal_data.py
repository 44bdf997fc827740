"""The surveys app's entry in the personal-data registry: a customer's responses and answers.

Erasure keeps the answers, so that scores, counts and trends do not change when someone asks to be
forgotten, but makes them anonymous: the responses and answers no longer point at the customer, and
the customer's open answers are redacted. Redaction, not blanking: what the customer typed about the
bank (the queue, the fee, the app) stays usable for the problem statistics, while what identifies
them is replaced by a marker: e-mail addresses, phone numbers, account, card and other numbers of
six digits or more (IBANs included), and the customer's own name as the profile held it. What a
pattern cannot know (a street name, a relative's name) may remain; the answer is then no longer
linked to any profile, which is what the organisation keeps it under. Staff names stay: praise and
coaching are about them.

A merge moves the responses and answers of the merged profile to the surviving one.
"""

import re
from typing import Any

from django.db.models import Q

from sonda.customers.models import Customer
from sonda.privacy.registry import PersonalDataSource, register
from sonda.surveys.models import Answer, Response

REDACTED = {"email": "[email]", "phone": "[phone]", "number": "[number]", "name": "[name]"}
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
# A phone number: an optional +, then at least seven digits with spaces, dots, dashes or brackets.
PHONE_RE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().-]{5,}\d(?!\w)")
LONG_NUMBER_RE = re.compile(r"\d{6,}")
NAME_PART_MIN = 3


def _phone_or_number(match: re.Match[str]) -> str:
    found = match.group()
    if sum(c.isdigit() for c in found) < 7:
        return found  # a time, a date, an amount: not a phone number
    # Digits alone are an account, card or client number as much as a phone number.
    return REDACTED["number"] if found.isdigit() else REDACTED["phone"]


def redact(text: str, *, names: list[str]) -> str:
    """The text without e-mail addresses, IBANs, phone and long numbers, and the given names."""
    text = EMAIL_RE.sub(REDACTED["email"], text)
    text = IBAN_RE.sub(REDACTED["number"], text)
    text = PHONE_RE.sub(_phone_or_number, text)
    text = LONG_NUMBER_RE.sub(REDACTED["number"], text)
    for name in names:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", REDACTED["name"], text, flags=re.I)
    return text


def _profiles(customer: Customer) -> Q:
    # Profiles merged into this one are the same person; their rows count as theirs.
    return Q(customer=customer) | Q(customer__merged_into=customer)


def export(customer: Customer) -> list[dict[str, Any]]:
    """The customer's responses, oldest first, each with its answers and context."""
    responses = (
        Response.objects.filter(_profiles(customer), organisation_id=customer.organisation_id)
        .select_related("survey", "version", "unit")
        .prefetch_related("answers")
        .order_by("started_at", "pk")
    )
    return [
        {
            "survey": response.survey.name,
            "version": response.version.number,
            "status": response.status,
            "language": response.language,
            "unit": response.unit.name if response.unit else "",
            "touchpoint": response.touchpoint,
            "channel": response.channel,
            "journey": response.journey,
            "stage": response.stage,
            "started_at": response.started_at.isoformat(),
            "completed_at": response.completed_at.isoformat() if response.completed_at else None,
            "answers": [
                {
                    "question": answer.question_key,
                    "kind": answer.kind,
                    "number": answer.value_number,
                    "text": answer.value_text,
                    "choice": answer.value_choice,
                    "answered_at": answer.answered_at.isoformat(),
                }
                for answer in sorted(
                    response.answers.all(), key=lambda a: (a.question_key, a.value_choice)
                )
            ],
        }
        for response in responses
    ]


def erase(customer: Customer) -> int:
    """Unlink the customer's responses and answers and redact their open answers; rows touched."""
    names = [
        part for part in re.split(r"[\s,-]+", customer.full_name) if len(part) >= NAME_PART_MIN
    ]
    answers = Answer.objects.filter(_profiles(customer), organisation_id=customer.organisation_id)
    touched = 0
    for answer in answers.exclude(value_text="").only("pk", "value_text"):
        redacted = redact(answer.value_text, names=names)
        if redacted != answer.value_text:
            Answer.objects.filter(pk=answer.pk).update(value_text=redacted)
    touched += answers.update(customer=None)
    touched += Response.objects.filter(
        _profiles(customer), organisation_id=customer.organisation_id
    ).update(customer=None)
    return touched


def merge(surviving: Customer, merged: Customer) -> int:
    """Move the merged profile's responses and answers to the surviving one; rows moved."""
    moved = Response.objects.filter(customer=merged).update(customer=surviving)
    moved += Answer.objects.filter(customer=merged).update(customer=surviving)
    return moved


def register_source() -> None:
    register(PersonalDataSource(name="surveys", export=export, erase=erase, merge=merge))
