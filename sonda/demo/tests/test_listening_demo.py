"""The demo's listening: the events behind the responses, the rules and policy, the skips."""

import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, F

from sonda.accounts.models import Organisation
from sonda.demo.generator import (
    DEMO_INSURER_SLUG,
    DEMO_ORGANISATION_SLUG,
    SCALES,
    demo_generate,
)
from sonda.demo.listening import UNANSWERED_SINCE
from sonda.listening.models import (
    ContactRule,
    Event,
    Invitation,
    InvitationDecision,
    ListeningSettings,
    Message,
    TriggerRule,
)
from sonda.surveys.models import Response

TINY = SCALES["tiny"]


@pytest.fixture
def demo(db):
    started = time.perf_counter()
    result = demo_generate(seed=3, scale=TINY)
    return result, time.perf_counter() - started


@pytest.fixture
def bank(demo):
    return Organisation.objects.get(slug=DEMO_ORGANISATION_SLUG)


def test_every_response_by_email_or_sms_answers_an_invitation_asked_for_by_its_event(bank):
    responses = Response.objects.filter(
        organisation=bank,
        source="demo",
        customer__isnull=False,
        channel__in=["email", "sms"],
        survey__name__in=["After a branch visit", "After a call"],
    ).select_related("invitation__event", "invitation__rule")
    assert responses.count() > 50
    for response in responses:
        invitation = response.invitation
        assert invitation is not None
        event = invitation.event
        assert event is not None
        assert invitation.rule is not None
        assert invitation.rule.survey_id == response.survey_id
        context = ("customer_id", "unit_id", "employee_id", "touchpoint", "channel", "journey")
        for name in context:
            assert getattr(event, name) == getattr(response, name) == getattr(invitation, name)
        assert event.event_type == (
            "branch_visit" if response.survey.name == "After a branch visit" else "call_completed"
        )
        assert "product" in event.attributes
        assert invitation.sent_at is not None
        assert event.occurred_at < invitation.sent_at < response.started_at
        assert invitation.delivery == response.channel
        if response.status == "complete":
            assert invitation.status == "completed"
            assert invitation.completed_at == response.completed_at
        else:
            assert invitation.status == "expired"
            assert invitation.started_at == response.started_at


def test_the_relationship_survey_and_anonymous_answers_have_no_invitation(bank):
    assert not Response.objects.filter(
        organisation=bank, survey__name="Relationship survey", invitation__isnull=False
    ).exists()
    assert not Response.objects.filter(
        organisation=bank, channel__in=["link", "kiosk", "ivr"], invitation__isnull=False
    ).exists()


def test_the_bank_has_its_trigger_rules_contact_policy_and_quiet_hours(bank):
    rules = TriggerRule.objects.filter(organisation=bank)
    assert sorted(rules.values_list("name", "status", "sampling_percent")) == [
        ("After a branch visit", "active", Decimal(20)),
        ("After a call", "active", Decimal(50)),
        ("After a mortgage disbursement", "paused", Decimal(100)),
    ]
    branch = rules.get(name="After a branch visit")
    assert (branch.daily_quota_per_unit, branch.delivery_order) == (40, ["email", "sms"])
    mortgage = rules.get(name="After a mortgage disbursement")
    assert mortgage.conditions == [{"attribute": "product", "op": "eq", "value": "mortgage"}]
    policy = ContactRule.objects.filter(organisation=bank)
    assert sorted(policy.values_list("kind", "max_invitations", "window_days", "gap_days")) == [
        ("gap_after_response", None, None, 90),
        ("max_in_window", 1, 30, None),
        ("max_in_window", 4, 365, None),
    ]
    business = policy.get(kind="gap_after_response")
    assert business.customer_conditions == [{"attribute": "tier", "op": "eq", "value": "business"}]
    settings = ListeningSettings.objects.get(organisation=bank)
    assert (settings.time_zone, settings.quiet_hours_start.hour, settings.quiet_hours_end.hour) == (
        "Europe/Bucharest",
        21,
        9,
    )


def test_the_insurer_has_a_polish_contact_policy_and_warsaw_quiet_hours(demo):
    insurer = Organisation.objects.get(slug=DEMO_INSURER_SLUG)
    assert ListeningSettings.objects.get(organisation=insurer).time_zone == "Europe/Warsaw"
    names = list(ContactRule.objects.filter(organisation=insurer).values_list("name", flat=True))
    assert "Najwyżej 1 zaproszenie w 30 dni" in names
    claims = TriggerRule.objects.get(organisation=insurer)
    assert (claims.name, claims.event_types, claims.timing, claims.delay_minutes) == (
        "Po likwidacji szkody",
        ["claim_settled"],
        "delay",
        2 * 24 * 60,
    )
    assert claims.survey.organisation_id == insurer.pk
    assert claims.survey.versions.filter(status="published").exists()


def test_skipped_events_say_why_and_the_contact_policy_names_its_rule(bank):
    decisions = InvitationDecision.objects.filter(organisation=bank)
    reasons = dict(
        decisions.filter(outcome="skipped").values_list("reason").annotate(n=Count("id"))
    )
    # The rare reasons (do-not-contact, withdrawn consent) may miss the tiny scale's few events.
    assert {"sampled_out", "contact_policy"} <= set(reasons)
    assert len(reasons) >= 3
    assert reasons["sampled_out"] > reasons["contact_policy"]
    policy = decisions.filter(reason="contact_policy")
    assert not policy.filter(contact_rule__isnull=True).exists()
    assert not decisions.filter(outcome="skipped", detail="").exists()
    assert not decisions.filter(outcome="skipped", invitation__isnull=False).exists()
    # One decision per event, and every invited decision points at its event's invitation.
    assert decisions.count() == Event.objects.filter(organisation=bank).count()
    invited = decisions.filter(outcome="invited")
    assert (
        invited.count() == Invitation.objects.filter(organisation=bank, event__isnull=False).count()
    )
    assert not invited.exclude(invitation__event_id=F("event_id")).exists()
    do_not_contact = decisions.filter(reason="do_not_contact")
    assert not do_not_contact.exclude(customer__do_not_contact=True).exists()


def test_response_rates_of_the_last_six_months_are_plausible_by_channel(bank):
    invitations = Invitation.objects.filter(
        organisation=bank, event__occurred_at__gte=UNANSWERED_SINCE
    )
    for channel in ("email", "sms"):
        sent = invitations.filter(delivery=channel)
        answered = sent.filter(response__status="complete").count()
        assert 0.15 <= answered / sent.count() <= 0.4, channel


def test_every_sent_invitation_has_its_message_some_bounced(bank):
    invitations = Invitation.objects.filter(organisation=bank, event__isnull=False)
    messages = Message.objects.filter(organisation=bank)
    assert messages.count() == invitations.count()
    assert not messages.exclude(channel=F("invitation__delivery")).exists()
    assert set(messages.values_list("status", flat=True)) <= {
        "sent",
        "delivered",
        "bounced",
        "failed",
    }
    assert (
        not invitations.filter(status="failed")
        .exclude(messages__status__in=["bounced", "failed"])
        .exists()
    )
    # The demo's phone numbers are the reserved fictional ranges of its customers.
    sms = messages.filter(channel="sms").values_list("to_address", "invitation__customer_id")
    for address, customer_id in sms[:50]:
        assert address.startswith("+")
        assert customer_id is not None


def test_the_tiny_demo_is_quick_and_a_second_run_adds_nothing(demo, bank):
    result, seconds = demo
    assert result.listening is not None
    assert seconds < 10
    counts = [m.objects.count() for m in (Event, Invitation, InvitationDecision, Message)]
    again = demo_generate(seed=3, scale=TINY)
    assert not again.created
    assert [m.objects.count() for m in (Event, Invitation, InvitationDecision, Message)] == counts


def test_no_text_message_left_in_the_quiet_hours(bank):
    bucharest = ZoneInfo("Europe/Bucharest")
    sent = Invitation.objects.filter(organisation=bank, delivery="sms", event__isnull=False)
    hours = {at.astimezone(bucharest).hour for at in sent.values_list("sent_at", flat=True) if at}
    assert hours
    assert hours <= set(range(9, 21))
