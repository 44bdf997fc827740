"""Trigger rules: what a rule may say, who may write it, and that a paused rule invites nobody."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sonda.accounts.models import AuditEvent
from sonda.core.errors import NotFound, PermissionDenied, ValidationFailed
from sonda.listening import rules
from sonda.listening.decisions import decide_events
from sonda.listening.models import (
    DecisionOutcome,
    InvitationDecision,
    RuleStatus,
    SkipReason,
    Timing,
    TriggerRule,
)
from sonda.listening.rules import KEEP
from sonda.listening.rules_selectors import trigger_rule_decision_counts
from sonda.listening.tests.listening_factories import EventFactory, make_customer
from sonda.org.tests.factories import UnitFactory
from sonda.surveys import services as survey_services
from sonda.surveys.models import Survey
from sonda.surveys.tests.factories import make_published_survey

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 14:00 in Bucharest: no quiet hours


@pytest.fixture
def survey(world) -> Survey:
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def draft_survey(world, survey) -> Survey:
    """A survey that was never published: nobody can be invited to it yet."""
    return survey_services.survey_create(
        scope=world.scope(world.analyst),
        program_id=survey.program_id,
        name="Not yet published",
        languages=["en"],
        default_language="en",
    )


def create(world, survey, who="analyst", **fields) -> TriggerRule:
    fields.setdefault("name", "After a branch visit")
    return rules.trigger_rule_create(
        scope=world.scope(world.users_by_role[who]), survey_id=survey.pk, **fields
    )


def failure(call) -> list[str]:
    """The fields a refused write names, after checking that it was refused."""
    with pytest.raises(ValidationFailed) as caught:
        call()
    return [error.field for error in caught.value.errors]


# --- Creating ----------------------------------------------------------------------------------


def test_a_new_rule_is_stored_as_given_and_paused_by_default(world, survey):
    rule = create(
        world,
        survey,
        name="  Mortgage calls  ",
        priority=10,
        event_types=["call_completed", " call_completed "],
        channels=["phone"],
        unit_id=world.north.pk,
        touchpoints=["mortgage_desk"],
        conditions=[{"attribute": "product", "op": "eq", "value": "mortgage"}],
        timing="delay",
        delay_minutes=90,
        delivery_order=["sms", "email"],
        sampling_percent=12.5,
        daily_quota_per_unit=20,
        also_evaluate_others=True,
        valid_days=7,
        reminder_after_days=3,
    )
    rule.refresh_from_db()
    assert rule.organisation == world.org
    assert rule.name == "Mortgage calls"
    assert rule.status == RuleStatus.PAUSED
    assert rule.event_types == ["call_completed"]  # listed once
    assert (rule.channels, rule.touchpoints, rule.unit) == (
        ["phone"],
        ["mortgage_desk"],
        world.north,
    )
    assert rule.conditions == [{"attribute": "product", "op": "eq", "value": "mortgage"}]
    assert (rule.timing, rule.delay_minutes, rule.delivery_order) == ("delay", 90, ["sms", "email"])
    assert rule.sampling_percent == Decimal("12.5")
    assert (rule.daily_quota_per_unit, rule.also_evaluate_others) == (20, True)
    assert (rule.valid_days, rule.reminder_after_days) == (7, 3)


def test_creating_a_rule_is_audited(world, survey):
    rule = create(world, survey)
    event = AuditEvent.objects.get(action="trigger_rule.created")
    assert (event.organisation, event.actor, event.target_id) == (
        world.org,
        world.analyst,
        str(rule.pk),
    )


def test_a_rule_can_start_active_when_its_survey_is_published(world, survey):
    assert create(world, survey, status="active").status == RuleStatus.ACTIVE


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"status": "running"}, "status"),
        ({"priority": -1}, "priority"),
        ({"event_types": ["call", ""]}, "event_types[1]"),
        ({"channels": [" "]}, "channels[0]"),
        ({"touchpoints": [3]}, "touchpoints[0]"),
        ({"event_types": "call"}, "event_types"),
        (
            {"conditions": [{"attribute": "product", "op": "like", "value": "x"}]},
            "conditions[0].op",
        ),
        ({"conditions": [{"attribute": "", "op": "eq", "value": "x"}]}, "conditions[0].attribute"),
        ({"timing": "tomorrow"}, "timing"),
        ({"timing": "delay", "delay_minutes": 0}, "delay_minutes"),
        ({"delivery_order": []}, "delivery_order"),
        ({"delivery_order": ["email", "fax"]}, "delivery_order[1]"),
        ({"delivery_order": ["sms", "email", "sms"]}, "delivery_order[2]"),
        ({"sampling_percent": -0.5}, "sampling_percent"),
        ({"sampling_percent": 100.5}, "sampling_percent"),
        ({"daily_quota_per_unit": 0}, "daily_quota_per_unit"),
        ({"valid_days": 0}, "valid_days"),
        ({"valid_days": 91}, "valid_days"),
        ({"valid_days": 7, "reminder_after_days": 7}, "reminder_after_days"),
        ({"reminder_after_days": 0}, "reminder_after_days"),
    ],
)
def test_a_rule_that_does_not_make_sense_is_refused_naming_the_field(world, survey, fields, field):
    assert failure(lambda: create(world, survey, **fields)) == [field]
    assert not TriggerRule.objects.exists()


def test_a_rule_names_a_survey_and_a_unit_of_its_own_organisation(world, survey):
    outsider_scope = world.scope(world.outsider, world.other_org)
    foreign_survey = make_published_survey(outsider_scope)
    assert failure(lambda: create(world, foreign_survey)) == ["survey_id"]
    foreign_unit = UnitFactory(organisation=world.other_org)
    assert failure(lambda: create(world, survey, unit_id=foreign_unit.pk)) == ["unit_id"]
    assert not TriggerRule.objects.exists()


def test_a_rule_for_an_unpublished_survey_is_kept_paused(world, draft_survey):
    errors = failure(lambda: create(world, draft_survey, status="active"))
    assert errors == ["survey_id"]
    rule = create(world, draft_survey)
    assert rule.status == RuleStatus.PAUSED
    assert failure(
        lambda: rules.trigger_rule_resume(scope=world.scope(world.admin), rule_id=rule.pk)
    )
    rule.refresh_from_db()
    assert rule.status == RuleStatus.PAUSED


def test_a_rule_for_an_archived_survey_cannot_be_switched_on(world, survey):
    rule = create(world, survey)
    survey_services.survey_update(
        scope=world.scope(world.analyst), survey_id=survey.pk, is_archived=True
    )
    assert failure(
        lambda: rules.trigger_rule_resume(scope=world.scope(world.analyst), rule_id=rule.pk)
    ) == ["survey_id"]


def test_another_timing_forgets_the_delay(world, survey):
    rule = create(world, survey, timing="delay", delay_minutes=30)
    rules.trigger_rule_update(scope=world.scope(world.analyst), rule_id=rule.pk, timing="immediate")
    rule.refresh_from_db()
    assert (rule.timing, rule.delay_minutes) == (Timing.IMMEDIATE, 0)


# --- Who may write ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_write_rules(world, survey, who):
    with pytest.raises(PermissionDenied):
        create(world, survey, who=who)
    rule = create(world, survey)
    scope = world.scope(world.users_by_role[who])
    with pytest.raises(PermissionDenied):
        rules.trigger_rule_update(scope=scope, rule_id=rule.pk, name="Mine")
    with pytest.raises(PermissionDenied):
        rules.trigger_rule_resume(scope=scope, rule_id=rule.pk)
    rule.refresh_from_db()
    assert (rule.name, rule.status) == ("After a branch visit", RuleStatus.PAUSED)
    assert TriggerRule.objects.count() == 1


def test_another_organisations_rule_is_not_found(world, survey):
    rule = create(world, survey)
    outsider = world.scope(world.outsider, world.other_org)
    with pytest.raises(NotFound):
        rules.trigger_rule_update(scope=outsider, rule_id=rule.pk, name="Mine")
    with pytest.raises(NotFound):
        rules.trigger_rule_pause(scope=outsider, rule_id=rule.pk)
    rule.refresh_from_db()
    assert rule.name == "After a branch visit"


# --- Changing -----------------------------------------------------------------------------------


def test_an_update_changes_only_what_it_is_given(world, survey):
    rule = create(world, survey, unit_id=world.north.pk, daily_quota_per_unit=5, valid_days=10)
    rules.trigger_rule_update(
        scope=world.scope(world.admin), rule_id=rule.pk, priority=5, daily_quota_per_unit=None
    )
    rule.refresh_from_db()
    assert (rule.priority, rule.daily_quota_per_unit) == (5, None)
    assert (rule.unit, rule.valid_days, rule.name) == (world.north, 10, "After a branch visit")
    event = AuditEvent.objects.get(action="trigger_rule.updated")
    assert event.detail == {"changed": ["daily_quota_per_unit", "priority"]}


def test_an_update_is_checked_against_the_whole_rule(world, survey):
    rule = create(world, survey, valid_days=14, reminder_after_days=5)
    scope = world.scope(world.analyst)
    assert failure(
        lambda: rules.trigger_rule_update(scope=scope, rule_id=rule.pk, valid_days=5)
    ) == ["reminder_after_days"]
    rule.refresh_from_db()
    assert rule.valid_days == 14


def test_an_active_rule_cannot_be_moved_to_an_unpublished_survey(world, survey, draft_survey):
    rule = create(world, survey, status="active")
    scope = world.scope(world.analyst)
    assert failure(
        lambda: rules.trigger_rule_update(scope=scope, rule_id=rule.pk, survey_id=draft_survey.pk)
    ) == ["survey_id"]
    rule.refresh_from_db()
    assert rule.survey == survey


def test_keep_leaves_every_field_as_it_is(world, survey):
    rule = create(world, survey, unit_id=world.south.pk)
    rules.trigger_rule_update(scope=world.scope(world.analyst), rule_id=rule.pk, unit_id=KEEP)
    rule.refresh_from_db()
    assert rule.unit == world.south


# --- Pausing and resuming -----------------------------------------------------------------------


def test_pausing_and_resuming_are_audited_once(world, survey):
    rule = create(world, survey, status="active")
    scope = world.scope(world.analyst)
    assert rules.trigger_rule_pause(scope=scope, rule_id=rule.pk).status == RuleStatus.PAUSED
    rules.trigger_rule_pause(scope=scope, rule_id=rule.pk)  # already paused: nothing happens
    assert rules.trigger_rule_resume(scope=scope, rule_id=rule.pk).status == RuleStatus.ACTIVE
    actions = list(
        AuditEvent.objects.filter(action__startswith="trigger_rule.").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == [
        "trigger_rule.created",
        "trigger_rule.paused",
        "trigger_rule.resumed",
    ]


def test_a_paused_rule_invites_nobody_and_a_resumed_one_does(world, survey):
    rule = create(world, survey, status="active")
    scope = world.scope(world.analyst)
    rules.trigger_rule_pause(scope=scope, rule_id=rule.pk)
    customer = make_customer(world.org)
    first = EventFactory(
        organisation=world.org, customer=customer, occurred_at=NOW - timedelta(minutes=5)
    )
    decided = decide_events(organisation_id=world.org.pk, event_ids=[first.pk], now=NOW)
    assert decided.invited == 0
    skip = InvitationDecision.objects.get()
    assert (skip.rule_id, skip.outcome, skip.reason) == (
        None,
        DecisionOutcome.SKIPPED,
        SkipReason.NO_RULE,
    )

    rules.trigger_rule_resume(scope=scope, rule_id=rule.pk)
    second = EventFactory(
        organisation=world.org, customer=customer, occurred_at=NOW - timedelta(minutes=1)
    )
    decided = decide_events(organisation_id=world.org.pk, event_ids=[second.pk], now=NOW)
    assert decided.invited == 1
    counts = trigger_rule_decision_counts(scope=world.scope(world.executive), rule=rule)
    assert [(c.outcome, c.reason, c.count) for c in counts] == [("invited", "", 1)]
