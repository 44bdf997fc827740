"""The follow-up survey after a case closes ("did we fix it?") and the loop settings that choose it.

**Settings.** Admins and analysts choose the follow-up survey (one of the organisation's published,
unarchived surveys, or none) and the executives' monthly callbacks (`LoopSettings`).

**Sending.** When a case closes (`sonda.loop.workflow`), in the same transaction and with the case
locked, its customer is invited to the follow-up survey: one invitation carrying the original
response's context (unit, employee, touchpoint, channel, journey, stage, language), its message
queued by email, else SMS, through listening's delivery queue, and a `follow_up` entry on the
timeline. A case sends one follow-up, ever: closing it again after a reopening sends none, and a
retried close is refused by the workflow before it gets here. A customer who cannot be written to
(anonymous, do not contact, consent withdrawn, no address) gets nothing and the timeline says why.

**The answer.** The loop's sweep (`sonda.loop.sweeps`) gives every completed response to
`follow_up_answer_link` first: the answer to a case's follow-up is linked to that case, with its
score on the timeline, and is otherwise left alone (it opens no case and records no praise).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.services import audit_record
from sonda.core.errors import ValidationFailed
from sonda.customers.models import IdentityKind
from sonda.listening.decisions import CustomerFacts, load_customers, organisation_clock
from sonda.listening.models import DeliveryChannel, Invitation
from sonda.listening.services import invitation_create, invitation_message_queue
from sonda.loop.answer_words import answer_words
from sonda.loop.models import Case, CaseEvent, CaseEventKind, LoopSettings
from sonda.loop.timeline import case_event_record, case_save
from sonda.surveys.models import (
    Answer,
    QuestionKind,
    Response,
    ResponseStatus,
    Survey,
    SurveyVersion,
    VersionStatus,
)
from sonda.surveys.response_selectors import response_list
from sonda.surveys.selectors import survey_list

MOST_CALLBACKS = 100

# What a `follow_up` timeline entry records (`data["outcome"]`).
SENT = "sent"
NOT_SENT = "not_sent"
ANSWERED = "answered"

# The channels a follow-up goes by, the preferred first.
CHANNELS = (DeliveryChannel.EMAIL.value, DeliveryChannel.SMS.value)
CHANNEL_WORDS = {"email": gettext_lazy("email"), "sms": gettext_lazy("SMS")}

# Why a closing case sent no follow-up (`data["reason"]`).
NO_CUSTOMER = "no_customer"
DO_NOT_CONTACT = "do_not_contact"
NO_CONSENT = "no_consent"
NO_ADDRESS = "no_address"
SURVEY_UNAVAILABLE = "survey_unavailable"
REASON_WORDS = {
    NO_CUSTOMER: gettext_lazy("the response is anonymous: there is no customer to ask"),
    DO_NOT_CONTACT: gettext_lazy("the customer is not to be contacted"),
    NO_CONSENT: gettext_lazy("the customer withdrew consent to email and SMS"),
    NO_ADDRESS: gettext_lazy("no email address or phone number on record"),
    SURVEY_UNAVAILABLE: gettext_lazy(
        "the follow-up survey is archived or has no published version"
    ),
}

# The answer the timeline quotes: the first scale question's, else the first yes/no.
SCORE_KINDS = (QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES, QuestionKind.RATING)
# Settings ----------------------------------------------------------------------------------------


def loop_settings_get(*, scope: Scope) -> LoopSettings:
    """The organisation's loop settings with the follow-up survey loaded (admins and analysts)."""
    scope.require(CONFIGURE, "read the loop settings")
    LoopSettings.objects.get_or_create(organisation=scope.organisation)
    return LoopSettings.objects.select_related("follow_up_survey").get(
        organisation=scope.organisation
    )


def follow_up_survey_choices(*, scope: Scope) -> QuerySet[Survey]:
    """The surveys that may be the follow-up: the organisation's published, unarchived ones."""
    published = SurveyVersion.objects.filter(survey=OuterRef("pk"), status=VersionStatus.PUBLISHED)
    return survey_list(scope=scope, include_archived=False).filter(Exists(published))


def _follow_up_survey(scope: Scope, survey_id: object) -> Survey | None:
    field = "follow_up_survey_id"
    if survey_id is None:
        return None
    if isinstance(survey_id, bool) or not isinstance(survey_id, int):
        raise ValidationFailed.on(field, _("the id of a survey, or null for none"))
    # Another organisation's survey reads as no survey at all: its existence is not disclosed.
    survey = Survey.objects.filter(organisation=scope.organisation, pk=survey_id).first()
    if survey is None:
        raise ValidationFailed.on(field, _("no survey with id %(id)s") % {"id": survey_id})
    if survey.is_archived:
        raise ValidationFailed.on(field, _("the survey is archived"))
    if not follow_up_survey_choices(scope=scope).filter(pk=survey.pk).exists():
        raise ValidationFailed.on(field, _("the survey has no published version"))
    return survey


def _callbacks(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MOST_CALLBACKS:
        raise ValidationFailed.on(
            "executive_callbacks_per_month",
            _("a whole number from 0 to %(most)d") % {"most": MOST_CALLBACKS},
        )
    return value


def loop_settings_update(
    *, scope: Scope, executive_callbacks_per_month: int, follow_up_survey_id: int | None
) -> LoopSettings:
    """Set the executives' monthly callbacks and the follow-up survey (None: no follow-up).

    Admins and analysts. ValidationFailed names `executive_callbacks_per_month` (0 to 100) or
    `follow_up_survey_id` (a published, unarchived survey of the organisation); then nothing
    changes. The survey applies to cases closed from now on.
    """
    scope.require(CONFIGURE, "change the loop settings")
    callbacks = _callbacks(executive_callbacks_per_month)
    survey = _follow_up_survey(scope, follow_up_survey_id)
    with transaction.atomic():
        row, _created = LoopSettings.objects.update_or_create(
            organisation=scope.organisation,
            defaults={"executive_callbacks_per_month": callbacks, "follow_up_survey": survey},
        )
        audit_record(
            action="loop.settings_updated",
            organisation=scope.organisation,
            actor=scope.user,
            target=row,
            detail={
                "executive_callbacks_per_month": callbacks,
                "follow_up_survey_id": survey.pk if survey is not None else None,
            },
        )
    return loop_settings_get(scope=scope)


# Sending the follow-up as a case closes ----------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """The interaction the follow-up is about, as the original response recorded it."""

    unit_id: int | None
    employee_id: int | None
    touchpoint: str = ""
    channel: str = ""
    journey: str = ""
    stage: str = ""
    language: str = ""


def _context(case: Case) -> _Context:
    if case.response_id is None:
        # A silent account's case: the unit it last answered about, and nothing more.
        return _Context(unit_id=case.unit_id, employee_id=None)
    row = (
        Response.objects.filter(pk=case.response_id)
        .values("unit_id", "employee_id", "touchpoint", "channel", "journey", "stage", "language")
        .get()
    )
    return _Context(**row)


def _language(survey: Survey, wanted: Iterable[str]) -> str:
    """The first wanted language the survey speaks, else its default."""
    languages = list(survey.languages or [])
    for language in wanted:
        if language and language in languages:
            return language
    if survey.default_language in languages or not languages:
        return survey.default_language
    return str(languages[0])


def _reach(customer: CustomerFacts) -> tuple[str, str, str]:
    """(channel, address, "") of the first channel the customer may and can be written on;
    ("", "", why not) when none."""
    withdrawn = False
    for channel in CHANNELS:
        if channel in customer.withdrawn:
            withdrawn = True
            continue
        address = customer.email if channel == IdentityKind.EMAIL else customer.phone
        if address:
            return channel, address, ""
    return "", "", NO_CONSENT if withdrawn else NO_ADDRESS


def _sent_before(case: Case) -> bool:
    # The timeline also remembers it, should the invitation itself ever be removed.
    return (
        case.follow_up_invitation_id is not None
        or CaseEvent.objects.filter(case=case, kind=CaseEventKind.FOLLOW_UP)
        .filter(data__outcome=SENT)
        .exists()
    )


def _usable(survey: Survey | None) -> bool:
    return (
        survey is not None
        and not survey.is_archived
        and survey.versions.filter(status=VersionStatus.PUBLISHED).exists()
    )


def case_follow_up_send(*, case: Case, at: datetime) -> list[str]:
    """Invite the customer of a closing case to the follow-up survey; the case's fields changed.

    Call inside the closing's transaction, with the case locked: the invitation, its queued
    message and the timeline entry commit with the closing or not at all. Nothing happens
    without a follow-up survey in the settings, or when the case sent its follow-up before.
    """
    survey_id = (
        LoopSettings.objects.filter(organisation_id=case.organisation_id)
        .values_list("follow_up_survey_id", flat=True)
        .first()
    )
    if survey_id is None or _sent_before(case):
        return []
    survey = Survey.objects.filter(pk=survey_id).first()
    customer: CustomerFacts | None = None
    channel = address = reason = ""
    if not _usable(survey):
        reason = SURVEY_UNAVAILABLE
    elif case.customer_id is None:
        reason = NO_CUSTOMER
    else:
        customer = load_customers(
            organisation_id=case.organisation_id, customer_ids=[case.customer_id]
        ).get(case.customer_id)
        if customer is None or customer.do_not_contact:
            reason = DO_NOT_CONTACT
        else:
            # The contact policy (at most so many surveys in so many days) does not apply: the
            # follow-up is the end of the callback about the customer's own complaint, not one
            # more survey, and a policy that held it back would leave the case without its
            # answer. Their consent and "do not contact" hold all the same, here and again when
            # the delivery job sends the message.
            channel, address, reason = _reach(customer)
    if reason or survey is None or customer is None:
        case_event_record(
            case=case,
            kind=CaseEventKind.FOLLOW_UP,
            at=at,
            data={"outcome": NOT_SENT, "reason": reason, "survey": survey_id},
        )
        return []
    context = _context(case)
    quiet, _zone = organisation_clock(case.organisation_id)
    # Quiet hours hold SMS (and email, if the organisation asks) until the customer's morning.
    send_at = quiet.next_allowed_time(at, channel=channel, customer_time_zone=customer.time_zone)
    invitation = invitation_create(
        organisation=case.organisation,
        survey=survey,
        customer_id=customer.id,
        language=_language(survey, (context.language, customer.language)),
        unit_id=context.unit_id,
        employee_id=context.employee_id,
        touchpoint=context.touchpoint,
        channel=context.channel,
        journey=context.journey,
        stage=context.stage,
        now=send_at,
    )
    invitation_message_queue(
        invitation=invitation, channel=channel, to_address=address, send_at=send_at
    )
    case.follow_up_invitation = invitation
    case_event_record(
        case=case,
        kind=CaseEventKind.FOLLOW_UP,
        at=at,
        data={
            "outcome": SENT,
            "invitation": invitation.pk,
            "survey": survey.pk,
            "delivery": channel,
        },
    )
    return ["follow_up_invitation"]


# The answer --------------------------------------------------------------------------------------


def _headline(response_id: int) -> dict[str, Any]:
    """The answer the timeline quotes: {"measure": kind, "value": number}, or {} when none."""
    rows = list(
        Answer.objects.filter(
            response_id=response_id,
            kind__in=[*SCORE_KINDS, QuestionKind.YES_NO],
            value_number__isnull=False,
        )
        .order_by("question__position")
        .values_list("kind", "value_number")
    )
    chosen = next((row for row in rows if row[0] in SCORE_KINDS), rows[0] if rows else None)
    if chosen is None:
        return {}
    return {"measure": chosen[0], "value": chosen[1]}


def follow_up_answer_link(*, response_id: int, now: datetime | None = None) -> Case | None:
    """The case whose follow-up survey this completed response answers, linked to it; None when
    the response answers no case's follow-up. Linking twice changes nothing."""
    response = (
        Response.objects.filter(
            pk=response_id, status=ResponseStatus.COMPLETE, invitation__isnull=False
        )
        .values("organisation_id", "invitation_id", "completed_at")
        .first()
    )
    if response is None:
        return None
    # The timeline says when the customer answered, whenever the sweep came by.
    at = response["completed_at"] or now or timezone.now()
    with transaction.atomic():
        case = (
            Case.objects.select_for_update()
            .filter(
                organisation_id=response["organisation_id"],
                follow_up_invitation_id=response["invitation_id"],
            )
            .first()
        )
        if case is None:
            return None
        if case.follow_up_response_id is None:
            case.follow_up_response_id = response_id
            case_event_record(
                case=case,
                kind=CaseEventKind.FOLLOW_UP,
                at=at,
                data={"outcome": ANSWERED, "response": response_id, **_headline(response_id)},
            )
            case_save(case, ["follow_up_response"])
    return case


# Reading it back ---------------------------------------------------------------------------------


def follow_up_entry_words(data: Mapping[str, Any]) -> str:
    """What a `follow_up` timeline entry says, in the reader's language."""
    outcome = data.get("outcome")
    if outcome == SENT:
        delivery = CHANNEL_WORDS.get(str(data.get("delivery")), str(data.get("delivery", "")))
        return _("sent by %(channel)s") % {"channel": delivery}
    if outcome == NOT_SENT:
        why = REASON_WORDS.get(str(data.get("reason")), str(data.get("reason", "")))
        return _("not sent: %(why)s") % {"why": why}
    if outcome == ANSWERED:
        answer = answer_words(data)
        if answer:
            return _("answered: %(answer)s") % {"answer": answer}
        return _("answered")
    return ""


@dataclass(frozen=True)
class CaseFollowUp:
    """What the case page shows of the follow-up: sent or why not, and the answer."""

    invitation: Invitation | None
    delivery: str  # the channel it went by, in words
    not_sent: str  # why the last closing sent none, in words; "" when one was sent
    response_id: int | None
    answer: str  # the answer quoted, in words ("8 (NPS)")
    answered_at: datetime | None
    response_readable: bool  # whether the reader may open the response itself


def case_follow_up(*, scope: Scope, case: Case, events: Sequence[CaseEvent]) -> CaseFollowUp | None:
    """The follow-up of a case the scope reads (with its timeline `events`); None when the case
    never came to one."""
    entries = [event for event in events if event.kind == CaseEventKind.FOLLOW_UP]
    if not entries and case.follow_up_invitation_id is None:
        return None
    invitation = (
        Invitation.objects.filter(pk=case.follow_up_invitation_id).first()
        if case.follow_up_invitation_id is not None
        else None
    )
    last_refusal = next(
        (e for e in reversed(entries) if (e.data or {}).get("outcome") == NOT_SENT), None
    )
    answered = next(
        (e for e in reversed(entries) if (e.data or {}).get("outcome") == ANSWERED), None
    )
    response_id = case.follow_up_response_id
    return CaseFollowUp(
        invitation=invitation,
        delivery=(
            str(CHANNEL_WORDS.get(invitation.delivery, invitation.delivery)) if invitation else ""
        ),
        not_sent=(
            str(REASON_WORDS.get(str(last_refusal.data.get("reason")), ""))
            if invitation is None and last_refusal is not None
            else ""
        ),
        response_id=response_id,
        answer=answer_words(answered.data) if answered is not None else "",
        answered_at=answered.at if answered is not None else None,
        response_readable=(
            response_id is not None and response_list(scope=scope).filter(pk=response_id).exists()
        ),
    )
