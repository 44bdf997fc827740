"""Normalising identities, so that the same person is recognised however a system wrote them."""

import re
from dataclasses import dataclass

import phonenumbers

from sonda.core.errors import ValidationFailed
from sonda.customers.models import IdentityKind

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SOURCE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
IDENTITY_KINDS = frozenset(IdentityKind.values)  # built once: normalising runs per event


@dataclass(frozen=True)
class IdentityKey:
    """A normalised identity: what the unique constraint compares."""

    kind: str
    source: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.source + ':' if self.source else ''}{self.value}"


def identity_normalise(
    *, kind: str, value: str, source: str = "", default_region: str | None = None, field: str = ""
) -> IdentityKey:
    """The identity in canonical form: emails lower-case, phones E.164, external ids trimmed.

    Raises ValidationFailed naming `field` (or the kind) when the value cannot be an identity.
    """
    where = field or kind
    value = (value or "").strip()
    source = (source or "").strip().lower()
    if kind not in IDENTITY_KINDS:
        raise ValidationFailed.on(
            field or "kind", f"unknown identity kind '{kind}' (email, phone, external)"
        )
    if not value:
        raise ValidationFailed.on(where, "is empty")
    if len(value) > 254:
        raise ValidationFailed.on(where, "is longer than 254 characters")
    if kind == IdentityKind.EMAIL:
        if source:
            raise ValidationFailed.on(field or "source", "only external ids have a source system")
        if not EMAIL_RE.match(value):
            raise ValidationFailed.on(where, f"'{value}' is not an email address")
        return IdentityKey(kind, "", value.lower())
    if kind == IdentityKind.PHONE:
        if source:
            raise ValidationFailed.on(field or "source", "only external ids have a source system")
        try:
            number = phonenumbers.parse(value, default_region)
        except phonenumbers.NumberParseException as exc:
            raise ValidationFailed.on(
                where, f"'{value}' is not a phone number (use E.164, e.g. +40721234567)"
            ) from exc
        if not phonenumbers.is_valid_number(number):
            raise ValidationFailed.on(where, f"'{value}' is not a valid phone number")
        return IdentityKey(
            kind, "", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        )
    if not SOURCE_RE.match(source):
        raise ValidationFailed.on(
            field or "source",
            "an external id needs its source system: lower-case letters, digits, - or _",
        )
    return IdentityKey(kind, source, value)
