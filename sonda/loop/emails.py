"""How a notification reads (in the app and by email) and the emails that carry notifications.

Email goes out from the job worker, never inside the transaction that wrote the notification:
`sonda.loop.notifications` wakes `send_notification_emails` once that transaction has committed,
and the clock runs it every minute as well, which retries what a mail server refused.

- **At once** (the default): one email per notification, in the recipient's language.
- **Daily digest**: once a day, from DIGEST_HOUR in the organisation's time zone, one email
  listing the notifications that no email has carried yet.
- **Neither**: in-app only.

A notification is claimed before its email is sent (`emailed_at` set by a conditional UPDATE that
only one worker can win), so two workers never both send it; a send that fails releases the claim
for the next run. A worker that dies between the claim and the mail server's answer loses that
email (the in-app notification stays): at most once, never twice. The Message-ID is derived from
the notification, so a receiving server that deduplicates shows even a resent email once.
"""

import contextlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from sonda.accounts.models import Organisation, User
from sonda.core.jobs import enqueue_unless_waiting
from sonda.loop.answer_words import answer_words
from sonda.loop.models import Notification, NotificationKind, NotificationPreference, Priority

logger = logging.getLogger(__name__)

K = NotificationKind
LANGUAGES = ("en", "ro", "pl")
# Notifications older than this are not emailed on their own any more (after an outage, a pile
# of stale emails helps nobody; the app still lists them).
EMAIL_WINDOW = timedelta(days=2)
# The digest lists what no email carried within this window (a missed day is caught up).
DIGEST_WINDOW = timedelta(days=7)
DIGEST_HOUR = 17
BATCH = 200


# How a notification reads ------------------------------------------------------------------------


def _priority(value: object) -> str:
    return (
        str(Priority(value).label).lower()
        if isinstance(value, str) and value in Priority.values
        else ""
    )


def _deadline(value: object) -> str:
    if value == "first_contact":
        return _("first-contact")
    if value == "close":
        return _("closing")
    return _("SLA")


def notification_text(notification: Notification) -> str:
    """What the notification says, in the active language."""
    data: dict[str, Any] = notification.data or {}
    params = {
        "case": data.get("case", ""),
        "priority": _priority(data.get("priority")),
        "by": data.get("by") or _("A colleague"),
        "function": data.get("function", ""),
        "employee": data.get("employee", ""),
        "deadline": _deadline(data.get("deadline")),
    }
    kind = notification.kind
    if kind == K.CASE_ASSIGNED:
        if data.get("by"):
            return _("%(by)s gave you case %(case)s (%(priority)s priority).") % params
        return _("Case %(case)s (%(priority)s priority) is yours: call the customer back.") % params
    if kind == K.CASE_QUEUED:
        return (
            _(
                "Case %(case)s (%(priority)s priority) waits in the queue: nobody could be "
                "found to own it. Assign it to someone."
            )
            % params
        )
    if kind == K.CASE_REOPENED:
        return _("%(by)s reopened your case %(case)s.") % params
    if kind == K.CASE_NOTE:
        return _("%(by)s added a note to your case %(case)s.") % params
    if kind == K.SLA_WARNING:
        return _("Case %(case)s is close to its %(deadline)s deadline.") % params
    if kind == K.SLA_ESCALATED:
        if data.get("to_you"):
            return (
                _("Case %(case)s missed its %(deadline)s deadline and was escalated to you.")
                % params
            )
        return _("Your case %(case)s missed its %(deadline)s deadline and was escalated.") % params
    if kind == K.FUNCTION_CASE:
        return _("Case %(case)s was coded with a problem that %(function)s owns.") % params
    if kind == K.COACHING:
        return _("%(by)s recorded a coaching note for you.") % params
    if kind == K.PRAISE:
        if data.get("you"):
            return _("A customer praised you.")
        return _("A customer praised %(employee)s.") % params
    if kind == K.CALLBACK:
        return _("Case %(case)s is one of your customer callbacks this month.") % params
    if kind == K.FOLLOW_UP:
        answer = answer_words(data)
        if answer:
            return _("The customer of case %(case)s answered the follow-up survey: %(answer)s.") % {
                **params,
                "answer": answer,
            }
        return _("The customer of case %(case)s answered the follow-up survey.") % params
    return str(NotificationKind(kind).label) if kind in NotificationKind.values else kind


def _path(name: str, **kwargs: Any) -> str | None:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def notification_path(notification: Notification) -> str:
    """Where the notification leads: its case, one's coaching notes and praise, else the list
    of one's notifications."""
    found: str | None = None
    if notification.case_id is not None:
        found = _path("loop:case", case_id=notification.case_id)
    elif notification.kind == K.COACHING or (
        notification.kind == K.PRAISE and (notification.data or {}).get("you")
    ):
        found = _path("loop:coaching")
    return found or _path("loop_notifications:list") or "/"


def public_url(path: str) -> str:
    return f"{settings.SONDA_PUBLIC_URL.rstrip('/')}{path}"


def _language(user: User) -> str:
    base = (user.language or "").lower().split("-")[0]
    return base if base in LANGUAGES else "en"


def _zone(organisation: Organisation) -> ZoneInfo:
    try:
        return ZoneInfo(organisation.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _from_address() -> str:
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr(("Sonda", address or "sonda@localhost"))


def _message_id(local_part: str) -> str:
    domain = urlsplit(settings.SONDA_PUBLIC_URL).hostname or "sonda.invalid"
    return f"<{local_part}@{domain}>"


@dataclass(frozen=True)
class Item:
    text: str
    link: str


def notification_email(
    notification: Notification, *, connection: Any = None
) -> EmailMultiAlternatives:
    """One notification's email, in its recipient's language."""
    user = notification.recipient
    language = _language(user)
    with translation.override(language):
        text = notification_text(notification)
        context = {
            "name": user.full_name or user.email,
            "organisation": notification.organisation.name,
            "item": Item(text=text, link=public_url(notification_path(notification))),
            "settings_link": public_url(_path("loop_notifications:list") or "/"),
        }
        body = render_to_string("loop/email/notification.txt", context)
        html = render_to_string("loop/email/notification.html", context)
        subject = _("Sonda: %(text)s") % {"text": text}
    email = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=body,
        from_email=_from_address(),
        to=[user.email],
        headers={
            "Message-ID": _message_id(f"loop-notification-{notification.pk}"),
            "Content-Language": language,
        },
        connection=connection,
    )
    email.attach_alternative(html, "text/html")
    return email


def digest_email(
    *,
    user: User,
    organisation: Organisation,
    notifications: list[Notification],
    day: date,
    connection: Any = None,
) -> EmailMultiAlternatives:
    """The day's digest: one email listing the notifications, in the user's language."""
    language = _language(user)
    with translation.override(language):
        items = [
            Item(text=notification_text(n), link=public_url(notification_path(n)))
            for n in notifications
        ]
        context = {
            "name": user.full_name or user.email,
            "organisation": organisation.name,
            "items": items,
            "settings_link": public_url(_path("loop_notifications:list") or "/"),
        }
        body = render_to_string("loop/email/digest.txt", context)
        html = render_to_string("loop/email/digest.html", context)
        subject = _("Sonda: your day in %(organisation)s (%(count)d)") % {
            "organisation": organisation.name,
            "count": len(items),
        }
    email = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=_from_address(),
        to=[user.email],
        headers={
            "Message-ID": _message_id(f"loop-digest-{organisation.pk}-{user.pk}-{day.isoformat()}"),
            "Content-Language": language,
        },
        connection=connection,
    )
    email.attach_alternative(html, "text/html")
    return email


# Sending -----------------------------------------------------------------------------------------


class _Mailer:
    """One run's SMTP connection; after the server is found unreachable, the run stops sending."""

    def __init__(self) -> None:
        self.connection: Any = None
        self.down = False

    def send(self, email: EmailMultiAlternatives) -> bool | None:
        """True sent; False refused for good (not retried); None not now (retried next run)."""
        try:
            if self.connection is None:
                self.connection = get_connection(fail_silently=False)
                self.connection.open()
            email.connection = self.connection
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            permanent = all(500 <= code < 600 for code, _reply in error.recipients.values())
            logger.warning("notification email refused: %s", error.recipients)
            return False if permanent else None
        except (smtplib.SMTPException, OSError) as error:
            logger.warning("notification email not sent: %s", error)
            self.close()
            self.down = True
            return None
        return True

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError):  # it may have broken already
                self.connection.close()
            self.connection = None


def _wants_immediate_email() -> Q:
    """Notifications whose recipient has not turned email at once off (it is on by default)."""
    return ~Q(
        Exists(
            NotificationPreference.objects.filter(
                organisation_id=OuterRef("organisation_id"),
                user_id=OuterRef("recipient_id"),
                email_immediately=False,
            )
        )
    )


def notification_emails_send(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Email the notifications waiting for an email at once; answers how many went out."""
    now = now or timezone.now()
    waiting = list(
        Notification.objects.filter(
            emailed_at__isnull=True,
            created_at__gte=now - EMAIL_WINDOW,
            recipient__is_active=True,
        )
        .filter(_wants_immediate_email())
        .select_related("recipient", "organisation")
        .order_by("created_at", "id")[:limit]
    )
    mailer = _Mailer()
    sent = 0
    try:
        for notification in waiting:
            if mailer.down:
                break
            claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True)
            if not claimed.update(emailed_at=now):
                continue  # another run has it
            outcome = mailer.send(notification_email(notification))
            if outcome is None:
                Notification.objects.filter(pk=notification.pk, emailed_at=now).update(
                    emailed_at=None
                )
            sent += bool(outcome)
    finally:
        mailer.close()
    return sent


def notification_digests_send(*, now: datetime | None = None) -> int:
    """Send today's digest to each user who asked for one, once a day; how many went out."""
    now = now or timezone.now()
    preferences = (
        NotificationPreference.objects.filter(daily_digest=True, user__is_active=True)
        .select_related("user", "organisation")
        .order_by("organisation_id", "user_id")
    )
    mailer = _Mailer()
    sent = 0
    try:
        for preference in preferences:
            if mailer.down:
                break
            outcome = _digest_send(preference, now=now, mailer=mailer)
            sent += bool(outcome)
    finally:
        mailer.close()
    return sent


def _digest_send(
    preference: NotificationPreference, *, now: datetime, mailer: _Mailer
) -> bool | None:
    local = now.astimezone(_zone(preference.organisation))
    today = local.date()
    if local.hour < DIGEST_HOUR or preference.digest_sent_on == today:
        return None
    previous = preference.digest_sent_on
    with transaction.atomic():
        # The day's claim: one worker wins it, whatever runs at the same time.
        won = (
            NotificationPreference.objects.filter(pk=preference.pk)
            .filter(Q(digest_sent_on__isnull=True) | Q(digest_sent_on__lt=today))
            .update(digest_sent_on=today)
        )
        if not won:
            return None
        pending = list(
            Notification.objects.filter(
                organisation_id=preference.organisation_id,
                recipient_id=preference.user_id,
                emailed_at__isnull=True,
                created_at__gte=now - DIGEST_WINDOW,
            ).order_by("created_at", "id")
        )
        ids = [n.pk for n in pending]
        Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).update(emailed_at=now)
        # Only what this claim took: an email at once may have carried one meanwhile.
        pending = [
            n
            for n in pending
            if n.pk
            in set(
                Notification.objects.filter(pk__in=ids, emailed_at=now).values_list("pk", flat=True)
            )
        ]
    if not pending:
        return None
    outcome = mailer.send(
        digest_email(
            user=preference.user,
            organisation=preference.organisation,
            notifications=pending,
            day=today,
        )
    )
    if outcome is None:
        # Not sent: the next run tries today's digest again, with the same notifications.
        with transaction.atomic():
            NotificationPreference.objects.filter(pk=preference.pk, digest_sent_on=today).update(
                digest_sent_on=previous
            )
            Notification.objects.filter(pk__in=[n.pk for n in pending], emailed_at=now).update(
                emailed_at=None
            )
    return outcome


# Jobs --------------------------------------------------------------------------------------------


@task()
def send_notification_emails() -> int:
    return notification_emails_send()


@task()
def send_notification_digests() -> int:
    return notification_digests_send()


def wake_notification_emails() -> None:
    """Ask the worker to send the emails due now (the clock also runs the job every minute);
    one waiting job sends them all."""
    enqueue_unless_waiting(send_notification_emails)
