"""The invitation and reminder emails: subject and body in the message's language, the link,
and the unsubscribe link with its RFC 8058 one-click headers.

The texts are written per language (templates under listening/email/<language>/), so Romanian and
Polish read as written by someone speaking them rather than word for word from English.
"""

from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from sonda.listening.models import Message, MessageKind
from sonda.listening.quiet_hours import QuietHours
from sonda.listening.unsubscribe import unsubscribe_token
from sonda.surveys.pages import look_of

LANGUAGES = ("en", "ro", "pl")

SUBJECTS: dict[str, dict[str, str]] = {
    "en": {
        "invitation": "{sender}: how was your experience?",
        "reminder": "{sender}: a minute for your opinion?",
    },
    "ro": {
        "invitation": "{sender}: cum a fost experiența dumneavoastră?",
        "reminder": "{sender}: aveți un minut pentru părerea dumneavoastră?",
    },
    "pl": {
        "invitation": "{sender}: jak oceniasz swoją wizytę?",
        "reminder": "{sender}: znajdziesz minutę na swoją opinię?",
    },
}


def message_language(message: Message) -> str:
    """The message's language when Sonda writes in it, otherwise English."""
    for code in (message.language, message.invitation.language):
        base = (code or "").lower().split("-")[0]
        if base in LANGUAGES:
            return base
    return "en"


def public_url(path: str) -> str:
    return f"{settings.SONDA_PUBLIC_URL.rstrip('/')}{path}"


def survey_url(token: str) -> str:
    return public_url(reverse("respond:survey", kwargs={"token": token}))


def unsubscribe_url(*, customer_id: int, language: str) -> str:
    token = unsubscribe_token(customer_id=customer_id, channel="email", language=language)
    return public_url(reverse("listening_public:unsubscribe", kwargs={"token": token}))


def message_id(message: Message) -> str:
    """The Message-ID header, the same for every attempt at this message (see delivery)."""
    domain = urlsplit(settings.SONDA_PUBLIC_URL).hostname or "sonda.invalid"
    return f"<{message.idempotency_key}@{domain}>"


def sender_address(sender_name: str) -> str:
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((sender_name, address or "sonda@localhost"))


@dataclass(frozen=True)
class EmailTexts:
    subject: str
    text: str
    html: str


def email_texts(
    message: Message, *, sender: str, survey_link: str, unsubscribe: str, zone: ZoneInfo
) -> EmailTexts:
    language = message_language(message)
    kind = (
        message.kind
        if message.kind in (MessageKind.INVITATION, MessageKind.REMINDER)
        else "invitation"
    )
    invitation = message.invitation
    customer = invitation.customer
    context = {
        "sender": sender,
        "name": (customer.full_name if customer else "").strip(),
        "survey_url": survey_link,
        "unsubscribe_url": unsubscribe,
        "expires_on": invitation.expires_at.astimezone(zone).date(),
        "language": language,
    }
    with translation.override(language):
        text = render_to_string(f"listening/email/{language}/{kind}.txt", context)
        html = render_to_string(f"listening/email/{language}/{kind}.html", context)
    subject = SUBJECTS[language][kind].format(sender=sender)
    return EmailTexts(subject=" ".join(subject.split()), text=text, html=html)


def email_build(
    message: Message, *, quiet: QuietHours | None = None, connection: Any = None
) -> EmailMultiAlternatives:
    """The email of a message (invitation or reminder), ready to send over `connection`.

    `quiet` carries the organisation's time zone, in which the link's last day is written when
    the customer's own zone is unknown.
    """
    invitation = message.invitation
    customer = invitation.customer
    zone = (quiet or QuietHours.of(None)).zone(customer.time_zone if customer else "")
    sender = look_of(invitation.organisation).sender
    language = message_language(message)
    unsubscribe = (
        unsubscribe_url(customer_id=invitation.customer_id, language=language)
        if invitation.customer_id
        else ""
    )
    texts = email_texts(
        message,
        sender=sender,
        survey_link=survey_url(invitation.token),
        unsubscribe=unsubscribe,
        zone=zone,
    )
    headers = {"Message-ID": message_id(message), "Content-Language": language}
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=texts.subject,
        body=texts.text,
        from_email=sender_address(sender),
        to=[message.to_address],
        headers=headers,
        connection=connection,
    )
    email.attach_alternative(texts.html, "text/html")
    return email
