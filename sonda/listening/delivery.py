"""Delivery: the Message table is the queue. Claim what is due, send it, record what happened.

Claiming is one short transaction: due messages (queued and due, or `sending` whose lease ran out
because the worker holding them died) move to `sending` with a five-minute lease and one more
attempt counted. On PostgreSQL the rows are picked with `SELECT ... FOR UPDATE SKIP LOCKED`, so
two workers never wait on or take the same message; on SQLite each row is claimed by a
conditional UPDATE that only one writer can win. Sending happens outside that transaction (no
lock is held while talking to an SMTP server or an SMS provider). Just before each send the
run renews that message's lease, and every write after the claim is conditional on the claim
still holding: status `sending` and the attempt count the claim set, which works as a fencing
token. A run so slow that its lease ran out and another run took the message over finds its
UPDATE matching nothing and leaves the message alone.

What a crash can and cannot do. A worker that dies after claiming loses nothing: the lease runs
out and the next run takes the message again. A worker that dies after the provider accepted the
message but before recording it makes the next run send it again, with the same idempotency key:
- SMS: the key travels as the `Idempotency-Key` header; the provider answers the first send's
  result and sends nothing new.
- Email: SMTP has no idempotency key, and no protocol can make "hand over and record" one atomic
  step across two systems. The best available is what is done here: the Message-ID header is
  derived from the key, so every attempt at a message carries the same Message-ID, and receiving
  servers and mail clients that deduplicate on Message-ID (many do) show one email. Recording
  right after the server's 250 keeps the window a duplicate needs (a crash between that 250 and
  our UPDATE) a few milliseconds wide; a refused recipient or an unreachable server never
  produces one.
So delivery is at least once, and exactly once wherever the receiving side deduplicates.

Before sending, the message is checked again: the customer may have asked not to be contacted or
withdrawn consent on the channel, the invitation may have been completed or expired, and an SMS
must not go out during quiet hours (it waits for the morning, no attempt counted).
"""

import contextlib
import logging
import secrets
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from sonda.core.errors import NotFound
from sonda.customers.models import Consent, Customer
from sonda.listening.emails import email_build, message_language, survey_url
from sonda.listening.models import (
    DeliveryChannel,
    Invitation,
    InvitationStatus,
    ListeningSettings,
    Message,
    MessageKind,
    MessageStatus,
    SkipReason,
)
from sonda.listening.quiet_hours import QuietHours
from sonda.listening.sms import (
    PermanentSmsError,
    SmsProvider,
    TransientSmsError,
    sms_provider,
    sms_text,
)
from sonda.surveys.pages import look_of

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF_BASE_MINUTES = 1
BACKOFF_FACTOR = 5  # 1, 5, 25, 125 minutes between attempts
# Statuses from which the invitation has been asked, still open: a reminder may follow.
REMINDABLE = (InvitationStatus.SENT, InvitationStatus.DELIVERED)
# Statuses whose link still works: expiry moves them to expired.
OPEN = (
    InvitationStatus.CREATED,
    InvitationStatus.SENT,
    InvitationStatus.DELIVERED,
    InvitationStatus.OPENED,
    InvitationStatus.STARTED,
)
BATCH = 500


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 1, 5, 25, 125 minutes."""
    return timedelta(minutes=BACKOFF_BASE_MINUTES * BACKOFF_FACTOR ** max(0, attempts - 1))


def _due(now: datetime) -> Q:
    return Q(status=MessageStatus.QUEUED, next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, lease_until__lt=now
    )


def messages_claim(*, now: datetime, limit: int = BATCH) -> list[int]:
    """Take up to `limit` due messages for this worker: `sending`, leased, one attempt more."""
    claim = {
        "status": MessageStatus.SENDING,
        "lease_until": now + LEASE,
        "attempts": F("attempts") + 1,
    }
    due = Message.objects.filter(_due(now)).order_by("next_attempt_at", "id")
    if connection.vendor == "postgresql":
        with transaction.atomic():
            ids = list(
                due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[
                    :limit
                ]
            )
            Message.objects.filter(pk__in=ids).update(**claim)
        return ids
    claimed = []
    for pk in list(due.values_list("pk", flat=True)[:limit]):
        # Another worker may have taken it since the read: only the UPDATE that still sees it
        # due wins.
        if Message.objects.filter(_due(now), pk=pk).update(**claim):
            claimed.append(pk)
    return claimed


@dataclass(frozen=True)
class Outcome:
    """What a send attempt came to: sent (with the provider's id), or why not."""

    sent: bool
    provider_id: str = ""
    error: str = ""
    permanent: bool = False


class Batch:
    """One run's senders: one SMTP connection for all its emails, one SMS provider."""

    def __init__(self, sms: SmsProvider | None = None) -> None:
        self.sms = sms or sms_provider()
        self.smtp: Any = None
        # Once the mail server cannot be reached, the run's other emails wait for the next run
        # instead of each waiting for its own timeout.
        self.smtp_down = ""
        self.quiet: dict[int, QuietHours] = {}

    def quiet_hours(self, organisation_id: int) -> QuietHours:
        if organisation_id not in self.quiet:
            settings = ListeningSettings.objects.filter(organisation_id=organisation_id).first()
            self.quiet[organisation_id] = QuietHours.of(settings)
        return self.quiet[organisation_id]

    def send_email(self, message: Message) -> Outcome:
        if self.smtp_down:
            return Outcome(sent=False, error=self.smtp_down)
        email = email_build(message, quiet=self.quiet_hours(message.organisation_id))
        try:
            if self.smtp is None:
                self.smtp = get_connection(fail_silently=False)
                self.smtp.open()
            email.connection = self.smtp
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            text = "; ".join(f"{code} {reply!r}" for code, reply in error.recipients.values())
            return Outcome(sent=False, error=f"recipient refused: {text}", permanent=_is_5xx(codes))
        except smtplib.SMTPSenderRefused as error:
            # Our sender address or the server's configuration, not this recipient: retry later.
            return Outcome(
                sent=False, error=f"sender refused: {error.smtp_code} {error.smtp_error!r}"
            )
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as error:
            return self._down(error)
        except smtplib.SMTPResponseException as error:
            return Outcome(
                sent=False,
                error=f"mail server answered {error.smtp_code} {error.smtp_error!r}",
                permanent=_is_5xx([error.smtp_code]),
            )
        except smtplib.SMTPException as error:
            self.close()
            return Outcome(sent=False, error=f"mail error: {error}")
        except OSError as error:  # refused, reset, timed out: the server is not there
            return self._down(error)
        return Outcome(sent=True, provider_id=str(email.extra_headers["Message-ID"]))

    def _down(self, error: Exception) -> Outcome:
        self.close()
        self.smtp_down = f"mail server unreachable: {error}"
        return Outcome(sent=False, error=self.smtp_down)

    def send_sms(self, message: Message) -> Outcome:
        invitation = message.invitation
        text = sms_text(
            kind=message.kind,
            language=message_language(message),
            sender=look_of(invitation.organisation).sender,
            url=survey_url(invitation.token),
        )
        try:
            result = self.sms.send(
                to=message.to_address, text=text, idempotency_key=message.idempotency_key
            )
        except PermanentSmsError as error:
            return Outcome(sent=False, error=str(error), permanent=True)
        except TransientSmsError as error:
            return Outcome(sent=False, error=str(error))
        return Outcome(sent=True, provider_id=result.provider_id)

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):  # SMTPException is an OSError
                self.smtp.close()
            self.smtp = None


def _is_5xx(codes: list[int]) -> bool:
    return bool(codes) and all(500 <= code < 600 for code in codes)


def messages_deliver_due(
    *, now: datetime | None = None, limit: int = BATCH, sms: SmsProvider | None = None
) -> int:
    """Send the messages that are due; answers how many went out."""
    now = now or timezone.now()
    ids = messages_claim(now=now, limit=limit)
    if not ids:
        return 0
    messages = (
        # Only the rows this claim leased: a slow run must not pick up another worker's claim.
        Message.objects.filter(pk__in=ids, status=MessageStatus.SENDING, lease_until=now + LEASE)
        .select_related("invitation", "invitation__organisation", "invitation__customer")
        .order_by("next_attempt_at", "id")
    )
    batch = Batch(sms)
    started = time.monotonic()
    sent = 0
    try:
        for message in messages:
            at = now + timedelta(seconds=time.monotonic() - started)
            # A long batch renews each lease just before sending; a message whose lease ran
            # out and was claimed again (its attempt count moved on) belongs to that worker now.
            if not still_ours(message).update(lease_until=at + LEASE):
                continue
            if _held_back(message, batch, at):
                continue
            outcome = _send(message, batch)
            _record(message, outcome, now + timedelta(seconds=time.monotonic() - started))
            sent += outcome.sent
    finally:
        batch.close()
    return sent


def _send(message: Message, batch: Batch) -> Outcome:
    try:
        if message.channel == DeliveryChannel.EMAIL:
            return batch.send_email(message)
        if message.channel == DeliveryChannel.SMS:
            return batch.send_sms(message)
    except Exception as error:
        # A bug in building one message must not stall the batch; it is retried, then fails.
        log.exception("Message %s could not be sent", message.pk)
        return Outcome(sent=False, error=f"{type(error).__name__}: {error}")
    return Outcome(sent=False, error=f"no sender for {message.channel}", permanent=True)


def still_ours(message: Message) -> "QuerySet[Message]":
    """The message's row while this run's claim holds: the attempt count is the claim's token."""
    return Message.objects.filter(
        pk=message.pk, status=MessageStatus.SENDING, attempts=message.attempts
    )


def _held_back(message: Message, batch: Batch, now: datetime) -> bool:
    """Cancel or postpone a message that must not go out now; True when it was."""
    invitation = message.invitation
    # The customer may have answered while the batch was going out.
    invitation.refresh_from_db(fields=["status", "expires_at"])
    if invitation.status in (InvitationStatus.COMPLETED, InvitationStatus.EXPIRED) or (
        invitation.expires_at <= now
    ):
        _cancel(message, "the invitation is completed or expired")
        return True
    if invitation.status in (InvitationStatus.SKIPPED, InvitationStatus.FAILED):
        _cancel(message, f"the invitation is {invitation.status}")
        return True
    customer = (
        Customer.objects.filter(pk=invitation.customer_id)
        .values("pk", "do_not_contact", "erased_at", "time_zone")
        .first()
        if invitation.customer_id
        else None
    )
    if customer is not None:
        if customer["do_not_contact"] or customer["erased_at"] is not None:
            _cancel(message, "the customer asked not to be contacted", SkipReason.DO_NOT_CONTACT)
            return True
        if Consent.objects.filter(
            customer_id=customer["pk"], channel=message.channel, granted=False
        ).exists():
            _cancel(message, f"no consent to {message.channel}", SkipReason.NO_CONSENT)
            return True
    allowed = batch.quiet_hours(message.organisation_id).next_allowed_time(
        now, channel=message.channel, customer_time_zone=customer["time_zone"] if customer else ""
    )
    if allowed > now:
        # Not an attempt: the message simply waits for the morning.
        still_ours(message).update(
            status=MessageStatus.QUEUED,
            next_attempt_at=allowed,
            lease_until=None,
            attempts=F("attempts") - 1,
        )
        return True
    return False


def _cancel(message: Message, why: str, skip_reason: str = "") -> None:
    with transaction.atomic():
        still_ours(message).update(status=MessageStatus.CANCELLED, lease_until=None, last_error=why)
        if skip_reason and message.kind == MessageKind.INVITATION:
            # Never sent: the invitation did not ask the customer, so it must not count as asked.
            Invitation.objects.filter(
                pk=message.invitation_id, status=InvitationStatus.CREATED
            ).update(
                status=InvitationStatus.SKIPPED,
                skip_reason=skip_reason,
                skipped_at=timezone.now(),
            )


def _record(message: Message, outcome: Outcome, now: datetime) -> None:
    ours = still_ours(message)
    is_invitation = message.kind == MessageKind.INVITATION
    with transaction.atomic():
        if outcome.sent:
            ours.update(
                status=MessageStatus.SENT,
                sent_at=now,
                provider_message_id=outcome.provider_id[:200],
                lease_until=None,
                last_error="",
            )
            if is_invitation:
                Invitation.objects.filter(
                    pk=message.invitation_id, status=InvitationStatus.CREATED
                ).update(status=InvitationStatus.SENT, sent_at=now)
            return
        error = outcome.error[:500]
        if outcome.permanent or message.attempts >= MAX_ATTEMPTS:
            final = (
                MessageStatus.BOUNCED
                if outcome.permanent and message.channel == DeliveryChannel.EMAIL
                else MessageStatus.FAILED
            )
            ours.update(status=final, failed_at=now, lease_until=None, last_error=error)
            if is_invitation:
                Invitation.objects.filter(
                    pk=message.invitation_id,
                    status__in=(InvitationStatus.CREATED, InvitationStatus.SENT),
                ).update(status=InvitationStatus.FAILED, failed_at=now)
            log.warning("Message %s %s: %s", message.pk, final, error)
            return
        ours.update(
            status=MessageStatus.QUEUED,
            next_attempt_at=now + backoff(message.attempts),
            lease_until=None,
            last_error=error,
        )


# --- Delivery receipts ------------------------------------------------------------------------

RECEIPT_STATUSES = ("delivered", "failed")


def receipt_record(
    *, provider_message_id: str, status: str, error: str = "", now: datetime | None = None
) -> Message:
    """A provider's word on an SMS: delivered or failed. The same receipt twice changes nothing;
    a message already further along (delivered, or failed) keeps what it has."""
    now = now or timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(provider_message_id=provider_message_id, channel=DeliveryChannel.SMS)
            .exclude(provider_message_id="")
            .first()
        )
        if message is None:
            raise NotFound("No message with this provider id.")
        if message.status not in (MessageStatus.SENT, MessageStatus.SENDING):
            return message
        invitation = Invitation.objects.filter(pk=message.invitation_id)
        if status == "delivered":
            message.status, message.delivered_at = MessageStatus.DELIVERED, now
            message.save(update_fields=["status", "delivered_at", "updated_at"])
            if message.kind == MessageKind.INVITATION:
                invitation.filter(
                    status__in=(InvitationStatus.CREATED, InvitationStatus.SENT)
                ).update(status=InvitationStatus.DELIVERED, delivered_at=now)
        else:
            message.status, message.failed_at = MessageStatus.FAILED, now
            message.last_error = (error or "the provider could not deliver it")[:500]
            message.save(update_fields=["status", "failed_at", "last_error", "updated_at"])
            if message.kind == MessageKind.INVITATION:
                invitation.filter(
                    status__in=(InvitationStatus.CREATED, InvitationStatus.SENT)
                ).update(status=InvitationStatus.FAILED, failed_at=now)
    return message


# --- Reminders and expiry ---------------------------------------------------------------------


def reminders_queue(*, now: datetime | None = None) -> int:
    """Queue one reminder for each invitation whose rule asks for one, once its days have passed
    since sending without an answer. Reminders are messages, not invitations: the contact policy
    never counts them."""
    now = now or timezone.now()
    candidates = (
        Invitation.objects.filter(
            status__in=REMINDABLE,
            delivery__in=(DeliveryChannel.EMAIL, DeliveryChannel.SMS),
            rule__reminder_after_days__isnull=False,
            sent_at__isnull=False,
            sent_at__lte=now - timedelta(days=1),
            expires_at__gt=now,
        )
        .exclude(messages__kind=MessageKind.REMINDER)
        .values("pk", "organisation_id", "sent_at", "rule__reminder_after_days")
    )
    due = [
        row
        for row in candidates.iterator(chunk_size=BATCH)
        if row["sent_at"] is not None
        and row["rule__reminder_after_days"] is not None
        and row["sent_at"] + timedelta(days=row["rule__reminder_after_days"]) <= now
    ]
    if not due:
        return 0
    originals = {
        message.invitation_id: message
        for message in Message.objects.filter(
            invitation_id__in=[row["pk"] for row in due], kind=MessageKind.INVITATION
        )
    }
    reminders = [
        Message(
            organisation_id=original.organisation_id,
            invitation_id=original.invitation_id,
            kind=MessageKind.REMINDER,
            channel=original.channel,
            to_address=original.to_address,
            language=original.language,
            idempotency_key=secrets.token_hex(16),
            next_attempt_at=now,
        )
        for original in originals.values()
    ]
    # A second clock running at the same time finds the (invitation, kind) pair taken.
    Message.objects.bulk_create(reminders, batch_size=BATCH, ignore_conflicts=True)
    return len(reminders)


def invitations_expire(*, now: datetime | None = None) -> int:
    """Expire the open invitations whose link ran out and cancel what they still had queued."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            ids = list(
                Invitation.objects.filter(status__in=OPEN, expires_at__lte=now)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                return expired
            expired += Invitation.objects.filter(pk__in=ids, status__in=OPEN).update(
                status=InvitationStatus.EXPIRED, expired_at=now
            )
            Message.objects.filter(invitation_id__in=ids, status=MessageStatus.QUEUED).update(
                status=MessageStatus.CANCELLED, last_error="the invitation expired"
            )
