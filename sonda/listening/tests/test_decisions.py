"""Trigger rules deciding invitations for a batch of events: matching, sampling, quotas,
priorities, skips with their reasons, the context and timing of each invitation."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sonda.core.errors import NotFound
from sonda.customers.models import Consent
from sonda.listening.decisions import customer_decisions, decide_events, in_sample
from sonda.listening.models import (
    Event,
    Invitation,
    InvitationDecision,
    ListeningSettings,
    Message,
    RuleStatus,
    Timing,
    TriggerRule,
)
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    EventFactory,
    TriggerRuleFactory,
    make_customer,
)
from sonda.surveys.models import Survey
from sonda.surveys.tests.factories import make_published_survey

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 14:00 in Bucharest: no quiet hours


@pytest.fixture
def survey(world) -> Survey:
    return make_published_survey(world.scope(world.analyst))


def second(world, survey: Survey) -> Survey:
    return make_published_survey(world.scope(world.analyst), program=survey.program, name="Second")


def event(world, customer=None, **fields):
    fields.setdefault("occurred_at", NOW - timedelta(minutes=5))
    fields.setdefault("unit", world.north_branch)
    return EventFactory(organisation=world.org, customer=customer, **fields)


def decide(world, *events, now=NOW):
    return decide_events(organisation_id=world.org.pk, event_ids=[e.pk for e in events], now=now)


def withdraw(customer, channel: str) -> None:
    Consent.objects.create(
        organisation=customer.organisation, customer=customer, channel=channel, granted=False
    )


def decisions_of(an_event):
    return list(
        InvitationDecision.objects.filter(event=an_event).values_list(
            "rule_id", "outcome", "reason"
        )
    )


# --- Matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "event_fields", "matches"),
    [
        ({"event_types": ["call_completed"]}, {"event_type": "call_completed"}, True),
        ({"event_types": ["call_completed"]}, {"event_type": "branch_visit"}, False),
        ({"channels": ["phone"]}, {"channel": "phone"}, True),
        ({"channels": ["phone"]}, {"channel": "branch"}, False),
        ({"touchpoints": ["cash_desk"]}, {"touchpoint": "cash_desk"}, True),
        ({"touchpoints": ["cash_desk"]}, {"touchpoint": "loans"}, False),
        (
            {"conditions": [{"attribute": "product", "op": "eq", "value": "mortgage"}]},
            {"attributes": {"product": "mortgage"}},
            True,
        ),
        (
            {"conditions": [{"attribute": "product", "op": "eq", "value": "mortgage"}]},
            {"attributes": {"product": "card"}},
            False,
        ),
        (
            {"conditions": [{"attribute": "customer.segment", "op": "eq", "value": "business"}]},
            {},
            False,  # the customer below is retail
        ),
        (
            {"conditions": [{"attribute": "customer.segment", "op": "eq", "value": "retail"}]},
            {},
            True,
        ),
    ],
)
def test_a_rule_invites_only_for_events_matching_each_of_its_criteria(
    world, survey, criteria, event_fields, matches
):
    rule = TriggerRuleFactory(survey=survey, **criteria)
    customer = make_customer(world.org, attributes={"segment": "retail"})
    happened = event(world, customer, **event_fields)

    decided = decide(world, happened)

    assert decided.invited == (1 if matches else 0)
    expected = [(rule.pk, "invited", "")] if matches else [(None, "skipped", "no_rule")]
    assert decisions_of(happened) == expected


@pytest.mark.parametrize(
    ("unit_name", "matches"),
    [("north", True), ("north_branch", True), ("south_branch", False), ("hq", False)],
)
def test_a_rule_on_a_unit_covers_its_whole_subtree_and_nothing_else(
    world, survey, unit_name, matches
):
    TriggerRuleFactory(survey=survey, unit=world.north)
    happened = event(world, make_customer(world.org), unit=getattr(world, unit_name))
    assert decide(world, happened).invited == (1 if matches else 0)


def test_a_paused_rule_and_a_rule_of_another_organisation_invite_nobody(world, survey):
    TriggerRuleFactory(survey=survey, status=RuleStatus.PAUSED)
    stranger_survey = make_published_survey(world.scope(world.outsider, world.other_org))
    TriggerRuleFactory(survey=stranger_survey)
    happened = event(world, make_customer(world.org))

    assert decide(world, happened).invited == 0
    assert decisions_of(happened) == [(None, "skipped", "no_rule")]


def test_a_rule_whose_survey_has_no_published_version_is_treated_as_not_active(world):
    scope = world.scope(world.analyst)
    draft = make_published_survey(scope, name="Draft only")
    draft.versions.update(status="retired")
    TriggerRuleFactory(survey=draft)
    happened = event(world, make_customer(world.org))

    assert decide(world, happened).invited == 0
    assert decisions_of(happened) == [(None, "skipped", "no_rule")]


# --- Sampling ---------------------------------------------------------------------------------


def test_sampling_gives_the_same_answer_for_the_same_customer_every_time():
    answers = {in_sample(rule_id=7, customer_id=42, sampling=0.5) for _ in range(20)}
    assert len(answers) == 1


def test_sampling_takes_about_the_asked_share_of_ten_thousand_customers():
    chosen = sum(in_sample(rule_id=3, customer_id=c, sampling=0.3) for c in range(10_000))
    assert 2_850 <= chosen <= 3_150
    assert sum(in_sample(rule_id=3, customer_id=c, sampling=0) for c in range(1000)) == 0
    assert sum(in_sample(rule_id=3, customer_id=c, sampling=1) for c in range(1000)) == 1000


def test_a_customer_out_of_the_sample_stays_out_on_every_event(world, survey):
    rule = TriggerRuleFactory(survey=survey, sampling_percent=Decimal("50"))
    customers = [make_customer(world.org) for _ in range(12)]
    out = [c for c in customers if not in_sample(rule_id=rule.pk, customer_id=c.pk, sampling=0.5)]
    assert out, "with 12 customers at 50% some fall outside the sample"
    first = [event(world, c) for c in out]
    second = [event(world, c, occurred_at=NOW - timedelta(minutes=1)) for c in out]

    decided = decide(world, *first, *second)

    assert decided.invited == 0
    reasons = set(InvitationDecision.objects.values_list("reason", flat=True))
    assert reasons == {"sampled_out"}


# --- Quotas -----------------------------------------------------------------------------------


def test_a_units_daily_quota_skips_the_invitations_past_it_and_resets_the_next_local_day(
    world, survey
):
    rule = TriggerRuleFactory(survey=survey, daily_quota_per_unit=2)
    # 21:30 UTC on 9 March is already 10 March in Bucharest: the same local day as the others.
    late_evening = datetime(2026, 3, 9, 22, 30, tzinfo=UTC)
    today = [
        event(world, make_customer(world.org), occurred_at=late_evening),
        event(world, make_customer(world.org), occurred_at=NOW - timedelta(hours=3)),
        event(world, make_customer(world.org), occurred_at=NOW - timedelta(hours=2)),
    ]
    elsewhere = event(world, make_customer(world.org), unit=world.south_branch)
    yesterday = event(
        world, make_customer(world.org), occurred_at=datetime(2026, 3, 9, 21, 30, tzinfo=UTC)
    )

    decide(world, *today[:2])
    decided = decide(world, today[2], elsewhere, yesterday)

    assert decided.invited == 2
    assert decisions_of(today[2]) == [(rule.pk, "skipped", "quota_full")]
    assert decisions_of(elsewhere) == [(rule.pk, "invited", "")]
    assert decisions_of(yesterday) == [(rule.pk, "invited", "")]


# --- Priorities -------------------------------------------------------------------------------


def test_the_first_rule_by_priority_that_invites_stops_the_others(world, survey):
    second_survey = second(world, survey)
    low = TriggerRuleFactory(survey=second_survey, priority=20)
    high = TriggerRuleFactory(survey=survey, priority=10)
    happened = event(world, make_customer(world.org))

    decided = decide(world, happened)

    assert decided.invited == 1
    assert decisions_of(happened) == [(high.pk, "invited", "")]
    assert decided.invitations[happened.pk][0].survey_id == survey.pk
    assert low.pk not in [r for r, _o, _s in decisions_of(happened)]


def test_a_rule_that_lets_others_invite_too_leads_to_two_invitations(world, survey):
    second_survey = second(world, survey)
    first = TriggerRuleFactory(survey=survey, priority=10, also_evaluate_others=True)
    then = TriggerRuleFactory(survey=second_survey, priority=20)
    happened = event(world, make_customer(world.org))

    decided = decide(world, happened)

    assert decided.invited == 2
    assert decisions_of(happened) == [(first.pk, "invited", ""), (then.pk, "invited", "")]


def test_rules_of_equal_priority_are_tried_in_the_order_they_were_made(world, survey):
    second_survey = second(world, survey)
    older = TriggerRuleFactory(survey=survey, priority=5)
    TriggerRuleFactory(survey=second_survey, priority=5)
    happened = event(world, make_customer(world.org))
    decide(world, happened)
    assert decisions_of(happened) == [(older.pk, "invited", "")]


def test_after_a_sample_or_quota_skip_a_lower_rule_may_still_invite(world, survey):
    second_survey = second(world, survey)
    nobody = TriggerRuleFactory(survey=survey, priority=1, sampling_percent=0)
    full = TriggerRuleFactory(survey=survey, priority=2, daily_quota_per_unit=0)
    fallback = TriggerRuleFactory(survey=second_survey, priority=3)
    happened = event(world, make_customer(world.org))

    decide(world, happened)

    assert decisions_of(happened) == [
        (nobody.pk, "skipped", "sampled_out"),
        (full.pk, "skipped", "quota_full"),
        (fallback.pk, "invited", ""),
    ]


def test_a_contact_policy_skip_stops_the_lower_rules(world, survey):
    second_survey = second(world, survey)
    first = TriggerRuleFactory(survey=survey, priority=1)
    TriggerRuleFactory(survey=second_survey, priority=2)
    policy = ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    customer = make_customer(world.org)
    decide(world, event(world, customer, occurred_at=NOW - timedelta(days=3)))
    happened = event(world, customer)

    decide(world, happened)

    decision = InvitationDecision.objects.get(event=happened)
    assert (decision.rule_id, decision.reason, decision.contact_rule_id) == (
        first.pk,
        "contact_policy",
        policy.pk,
    )
    assert policy.name in decision.detail


# --- Skip reasons -----------------------------------------------------------------------------


def test_an_event_without_a_customer_is_recorded_as_such(world, survey):
    rule = TriggerRuleFactory(survey=survey)
    happened = event(world, None)
    assert decide(world, happened).skipped == 1
    assert decisions_of(happened) == [(rule.pk, "skipped", "no_customer")]


def test_a_do_not_contact_customer_is_skipped_whatever_the_channel(world, survey):
    rule = TriggerRuleFactory(survey=survey, delivery_order=["link"])
    happened = event(world, make_customer(world.org, do_not_contact=True))
    decide(world, happened)
    assert decisions_of(happened) == [(rule.pk, "skipped", "do_not_contact")]


def test_withdrawn_consent_on_every_channel_of_the_rule_skips_with_no_consent(world, survey):
    rule = TriggerRuleFactory(survey=survey, delivery_order=["email", "sms"])
    customer = make_customer(world.org, phone="+40722000001")
    Consent.objects.create(
        organisation=world.org, customer=customer, channel="email", granted=False
    )
    Consent.objects.create(organisation=world.org, customer=customer, channel="sms", granted=False)
    happened = event(world, customer)
    decide(world, happened)
    assert decisions_of(happened) == [(rule.pk, "skipped", "no_consent")]


def test_a_customer_without_an_address_for_the_rules_channels_is_skipped(world, survey):
    rule = TriggerRuleFactory(survey=survey, delivery_order=["sms"])
    happened = event(world, make_customer(world.org))  # email only
    decide(world, happened)
    assert decisions_of(happened) == [(rule.pk, "skipped", "no_address")]


def test_withdrawn_email_consent_falls_back_to_the_next_channel(world, survey):
    TriggerRuleFactory(survey=survey, delivery_order=["email", "sms"])
    customer = make_customer(world.org, phone="+40722000002")
    Consent.objects.create(
        organisation=world.org, customer=customer, channel="email", granted=False
    )
    decided = decide(world, event(world, customer))
    (invitation,) = Invitation.objects.all()
    assert decided.invited == 1
    assert invitation.delivery == "sms"
    assert Message.objects.get().to_address == "+40722000002"


# --- The invitation -------------------------------------------------------------------------


def test_the_invitation_carries_the_events_context_and_its_message_is_queued(world, survey):
    rule = TriggerRuleFactory(survey=survey, valid_days=10)
    customer = make_customer(world.org, email="ana@mail.example", preferred_language="pl")
    happened = event(
        world,
        customer,
        channel="branch",
        touchpoint="cash_desk",
        employee=world.frontline_person,
        journey="moving house",
        stage="first bill",
    )

    decided = decide(world, happened)

    (invitation,) = decided.invitations[happened.pk]
    invitation.refresh_from_db()
    assert (invitation.customer_id, invitation.survey_id, invitation.rule_id) == (
        customer.pk,
        survey.pk,
        rule.pk,
    )
    assert invitation.event_id == happened.pk
    assert invitation.unit_id == world.north_branch.pk
    assert invitation.employee_id == world.frontline_person.pk
    assert (invitation.channel, invitation.touchpoint) == ("branch", "cash_desk")
    assert (invitation.journey, invitation.stage) == ("moving house", "first bill")
    assert (invitation.language, invitation.delivery, invitation.status) == (
        "pl",
        "email",
        "created",
    )
    assert invitation.send_at == NOW
    assert invitation.expires_at == NOW + timedelta(days=10)
    assert len(invitation.token) >= 43
    message = Message.objects.get()
    assert (message.invitation_id, message.kind, message.channel) == (
        invitation.pk,
        "invitation",
        "email",
    )
    assert (message.to_address, message.language, message.status) == (
        "ana@mail.example",
        "pl",
        "queued",
    )
    assert message.next_attempt_at == NOW
    assert len(message.idempotency_key) == 32
    assert InvitationDecision.objects.get().invitation_id == invitation.pk


def test_a_language_the_survey_does_not_offer_falls_back_to_the_surveys_default(world, survey):
    TriggerRuleFactory(survey=survey)
    decide(world, event(world, make_customer(world.org, preferred_language="de")))
    assert Invitation.objects.get().language == survey.default_language


def test_a_link_invitation_returns_its_token_and_sends_nothing(world, survey):
    TriggerRuleFactory(survey=survey, delivery_order=["link"])
    happened = event(world, make_customer(world.org, email=None))
    decided = decide(world, happened)
    (invitation,) = decided.invitations[happened.pk]
    assert invitation.delivery == "link"
    assert Invitation.objects.get(token=invitation.token).pk == invitation.pk
    assert not Message.objects.exists()


def test_an_sms_decided_at_night_is_scheduled_for_the_morning_in_the_customers_time_zone(
    world, survey
):
    TriggerRuleFactory(survey=survey, delivery_order=["sms"])
    customer = make_customer(
        world.org, email=None, phone="+12125550100", time_zone="America/New_York"
    )
    night = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 23:00 in New York, 05:00 in Bucharest

    decide(world, event(world, customer, occurred_at=night), now=night)

    invitation = Invitation.objects.get()
    assert invitation.send_at == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 09:00 New York
    assert Message.objects.get().next_attempt_at == invitation.send_at
    assert invitation.expires_at == invitation.send_at + timedelta(days=14)


def test_an_sms_to_a_customer_without_a_time_zone_waits_for_the_organisations_morning(
    world, survey
):
    ListeningSettings.objects.create(organisation=world.org, time_zone="Europe/Warsaw")
    TriggerRuleFactory(survey=survey, delivery_order=["sms"])
    customer = make_customer(world.org, email=None, phone="+48600000001")
    night = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # 23:00 in Warsaw
    decide(world, event(world, customer, occurred_at=night), now=night)
    assert Invitation.objects.get().send_at == datetime(2026, 3, 11, 8, 0, tzinfo=UTC)


def test_an_email_at_night_goes_at_once_unless_quiet_hours_hold_email_too(world, survey):
    TriggerRuleFactory(survey=survey)
    night = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)  # midnight in Bucharest
    decide(world, event(world, make_customer(world.org), occurred_at=night), now=night)
    assert Invitation.objects.get().send_at == night

    ListeningSettings.objects.create(organisation=world.org, quiet_hours_for_email=True)
    decide(world, event(world, make_customer(world.org), occurred_at=night), now=night)
    held = Invitation.objects.order_by("-id").first()
    assert held is not None
    assert held.send_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 09:00 in Bucharest


def test_a_delayed_rule_sends_after_the_delay_counted_from_the_event(world, survey):
    TriggerRuleFactory(survey=survey, timing=Timing.DELAY, delay_minutes=120)
    happened = event(world, make_customer(world.org), occurred_at=NOW - timedelta(minutes=30))
    late = event(world, make_customer(world.org), occurred_at=NOW - timedelta(days=2))

    decide(world, happened, late)

    assert Invitation.objects.get(event=happened).send_at == NOW + timedelta(minutes=90)
    assert Invitation.objects.get(event=late).send_at == NOW  # the delay is already over


def test_next_allowed_timing_sends_now_by_day_and_in_the_morning_by_night(world, survey):
    TriggerRuleFactory(survey=survey, timing=Timing.NEXT_ALLOWED, delivery_order=["sms"])
    by_day = event(world, make_customer(world.org, email=None, phone="+40722000003"))
    decide(world, by_day)
    assert Invitation.objects.get(event=by_day).send_at == NOW

    night = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 22:00 in Bucharest
    at_night = event(
        world, make_customer(world.org, email=None, phone="+40722000004"), occurred_at=night
    )
    decide(world, at_night, now=night)
    assert Invitation.objects.get(event=at_night).send_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


def test_two_events_of_one_customer_in_one_batch_respect_the_contact_policy(world, survey):
    TriggerRuleFactory(survey=survey)
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    customer = make_customer(world.org)
    first = event(world, customer, occurred_at=NOW - timedelta(hours=2))
    second = event(world, customer, occurred_at=NOW - timedelta(hours=1))

    decided = decide(world, second, first)

    assert decided.invited == 1
    assert Invitation.objects.get().event_id == first.pk
    assert decisions_of(second)[0][2] == "contact_policy"


def test_the_delivery_is_woken_after_the_commit_when_there_is_something_to_send(
    world, survey, django_capture_on_commit_callbacks
):
    TriggerRuleFactory(survey=survey)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        decide(world, event(world, make_customer(world.org)))
    assert [c.__name__ for c in callbacks] == ["wake_delivery"]
    with django_capture_on_commit_callbacks() as callbacks:
        TriggerRule.objects.update(delivery_order=["link"])
        decide(world, event(world, make_customer(world.org)))
    assert callbacks == []


def test_the_batch_is_decided_in_a_fixed_number_of_reads_and_bulk_writes(world, survey):
    second_survey = second(world, survey)
    TriggerRuleFactory(survey=survey, daily_quota_per_unit=1000, also_evaluate_others=True)
    TriggerRuleFactory(survey=second_survey, conditions=[{"attribute": "x", "op": "exists"}])
    ContactRuleFactory(organisation=world.org, max_invitations=3, window_days=30)
    ContactRuleFactory(organisation=world.org, gap_after_response=True, gap_days=7)

    def batch(first: int, size: int) -> list[Event]:
        return [
            event(world, make_customer(world.org, phone=f"+4072200{n:04d}"), attributes={"x": n})
            for n in range(first, first + size)
        ]

    def statements(events: list[Event]) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as context:
            decide(world, *events)
        inserts = sum(q["sql"].startswith("INSERT") for q in context.captured_queries)
        return len(context.captured_queries) - inserts, inserts

    small, large = batch(0, 3), batch(3, 120)
    reads_small, _ = statements(small)
    reads_large, inserts_large = statements(large)

    assert reads_large == reads_small <= 18
    # 240 invitations, 240 messages, 240 decisions in multi-row inserts: one per table on
    # PostgreSQL; Django caps SQLite statements at 999 values, so there a few per table.
    assert inserts_large <= (3 if connection.vendor == "postgresql" else 20)
    assert Invitation.objects.count() == 246


# --- Why was / wasn't this customer invited? --------------------------------------------------


def test_the_customer_page_lists_each_event_with_the_decisions_and_their_reasons(world, survey):
    rule = TriggerRuleFactory(survey=survey, name="After a visit")
    policy = ContactRuleFactory(organisation=world.org, name="Once a month")
    customer = make_customer(world.org)
    older = event(world, customer, occurred_at=NOW - timedelta(days=2))
    newer = event(world, customer, occurred_at=NOW - timedelta(days=1))
    decide(world, older, newer)

    events = customer_decisions(scope=world.scope(world.analyst), customer_id=customer.pk)

    assert [e.event_id for e in events] == [newer.pk, older.pk]
    (skip,) = events[0].decisions
    assert (skip.rule_name, skip.outcome, skip.reason) == (rule.name, "skipped", "contact_policy")
    assert skip.contact_rule_name == policy.name
    assert skip.reason_label == "The contact policy"
    (invite,) = events[1].decisions
    assert (invite.outcome, invite.invitation_status, invite.delivery) == (
        "invited",
        "created",
        "email",
    )
    assert events[1].unit_name == world.north_branch.name


@pytest.mark.parametrize("who", ["manager_north", "frontline", "outsider"])
def test_the_customer_decisions_are_not_found_for_who_may_not_read_the_customer(world, survey, who):
    customer = make_customer(world.org)
    user = getattr(world, who)
    scope = world.scope(user, world.other_org if who == "outsider" else world.org)
    with pytest.raises(NotFound):
        customer_decisions(scope=scope, customer_id=customer.pk)


# --- PostgreSQL: two batches at once ----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_batches_deciding_at_once_for_one_customer_still_respect_the_policy(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    survey = make_published_survey(world.scope(world.analyst))
    TriggerRuleFactory(survey=survey)
    ContactRuleFactory(organisation=world.org, max_invitations=1, window_days=30)
    customer = make_customer(world.org)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def post(minutes: int) -> None:
        try:
            with transaction.atomic():
                happened = event(world, customer, occurred_at=NOW - timedelta(minutes=minutes))
                barrier.wait()
                decide(world, happened)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(m,)) for m in (10, 20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Invitation.objects.filter(customer=customer).count() == 1
    assert sorted(InvitationDecision.objects.values_list("outcome", flat=True)) == [
        "invited",
        "skipped",
    ]
