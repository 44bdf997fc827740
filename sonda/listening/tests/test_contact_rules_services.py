"""The contact policy's rules: each kind needs its numbers, each scope its target and only it."""

import pytest

from sonda.accounts.models import AuditEvent
from sonda.core.errors import NotFound, PermissionDenied, ValidationFailed
from sonda.listening import rules
from sonda.listening.models import ContactRule, ContactRuleKind, ContactScope
from sonda.listening.policy import ContactPolicy
from sonda.surveys.tests.factories import make_published_survey


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


def create(world, who="analyst", **fields) -> ContactRule:
    fields.setdefault("name", "At most one survey a month")
    fields.setdefault("kind", "max_in_window")
    if fields["kind"] == "max_in_window":
        fields.setdefault("max_invitations", 1)
        fields.setdefault("window_days", 30)
    return rules.contact_rule_create(scope=world.scope(world.users_by_role[who]), **fields)


def failure(call) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return [error.field for error in caught.value.errors]


def test_a_rule_of_each_kind_and_scope_is_stored(world, survey):
    monthly = create(world)
    business = create(
        world,
        name="Business customers: 90 days after an answer",
        kind="gap_after_response",
        gap_days=90,
        rule_scope="program",
        program_id=survey.program_id,
        customer_conditions=[{"attribute": "segment", "op": "eq", "value": "business"}],
    )
    survey_rule = create(
        world,
        name="A week between invitations",
        kind="gap_after_invitation",
        gap_days=7,
        rule_scope="survey",
        survey_id=survey.pk,
    )
    monthly.refresh_from_db()
    assert (monthly.kind, monthly.scope, monthly.max_invitations, monthly.window_days) == (
        ContactRuleKind.MAX_IN_WINDOW,
        ContactScope.ORGANISATION,
        1,
        30,
    )
    assert (monthly.gap_days, monthly.program, monthly.survey, monthly.active) == (
        None,
        None,
        None,
        True,
    )
    assert (business.scope, business.program, business.gap_days) == ("program", survey.program, 90)
    assert business.customer_conditions == [
        {"attribute": "segment", "op": "eq", "value": "business"}
    ]
    assert (survey_rule.scope, survey_rule.survey) == ("survey", survey)
    assert AuditEvent.objects.filter(action="contact_rule.created").count() == 3


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"kind": "sometimes"}, "kind"),
        ({"kind": "max_in_window", "max_invitations": None}, "max_invitations"),
        ({"kind": "max_in_window", "window_days": 0}, "window_days"),
        ({"kind": "max_in_window", "gap_days": 5}, "gap_days"),
        ({"kind": "gap_after_invitation"}, "gap_days"),
        ({"kind": "gap_after_response", "gap_days": 0}, "gap_days"),
        ({"kind": "gap_after_response", "gap_days": 30, "max_invitations": 2}, "max_invitations"),
        ({"rule_scope": "planet"}, "scope"),
        ({"rule_scope": "program"}, "program_id"),
        ({"rule_scope": "survey"}, "survey_id"),
        ({"rule_scope": "organisation", "program_id": 1}, "program_id"),
        ({"rule_scope": "program", "program_id": 10**9}, "program_id"),
        ({"rule_scope": "survey", "survey_id": 10**9}, "survey_id"),
        (
            {"customer_conditions": [{"attribute": "segment", "op": "in", "value": "x"}]},
            "customer_conditions[0].value",
        ),
    ],
)
def test_a_rule_that_does_not_make_sense_is_refused_naming_the_field(world, fields, field):
    assert failure(lambda: create(world, **fields)) == [field]
    assert not ContactRule.objects.exists()


def test_a_survey_rule_names_only_its_survey(world, survey):
    errors = failure(
        lambda: create(
            world, rule_scope="survey", survey_id=survey.pk, program_id=survey.program_id
        )
    )
    assert errors == ["program_id"]


def test_another_organisations_program_or_survey_is_not_a_target(world):
    foreign = make_published_survey(world.scope(world.outsider, world.other_org))
    assert failure(lambda: create(world, rule_scope="survey", survey_id=foreign.pk)) == [
        "survey_id"
    ]
    assert failure(lambda: create(world, rule_scope="program", program_id=foreign.program_id)) == [
        "program_id"
    ]


@pytest.mark.parametrize("who", ["executive", "manager_south", "frontline"])
def test_only_admins_and_analysts_write_the_policy(world, who):
    with pytest.raises(PermissionDenied):
        create(world, who=who)
    rule = create(world)
    scope = world.scope(world.users_by_role[who])
    with pytest.raises(PermissionDenied):
        rules.contact_rule_deactivate(scope=scope, rule_id=rule.pk)
    with pytest.raises(PermissionDenied):
        rules.contact_rule_update(scope=scope, rule_id=rule.pk, window_days=1)
    rule.refresh_from_db()
    assert (rule.active, rule.window_days) == (True, 30)


def test_another_organisations_rule_is_not_found(world):
    rule = create(world)
    with pytest.raises(NotFound):
        rules.contact_rule_update(
            scope=world.scope(world.outsider, world.other_org), rule_id=rule.pk, name="Mine"
        )


def test_a_new_kind_drops_the_old_numbers(world):
    rule = create(world)
    rules.contact_rule_update(
        scope=world.scope(world.analyst), rule_id=rule.pk, kind="gap_after_response", gap_days=30
    )
    rule.refresh_from_db()
    assert (rule.kind, rule.gap_days, rule.max_invitations, rule.window_days) == (
        "gap_after_response",
        30,
        None,
        None,
    )
    assert AuditEvent.objects.get(action="contact_rule.updated").detail == {
        "changed": ["gap_days", "kind", "max_invitations", "window_days"]
    }


def test_a_new_scope_drops_the_old_target(world, survey):
    rule = create(world, rule_scope="survey", survey_id=survey.pk)
    rules.contact_rule_update(
        scope=world.scope(world.analyst),
        rule_id=rule.pk,
        rule_scope="program",
        program_id=survey.program_id,
    )
    rule.refresh_from_db()
    assert (rule.scope, rule.program, rule.survey) == ("program", survey.program, None)


def test_a_refused_update_changes_nothing(world):
    rule = create(world)
    scope = world.scope(world.analyst)
    assert failure(
        lambda: rules.contact_rule_update(scope=scope, rule_id=rule.pk, name="New", window_days=0)
    ) == ["window_days"]
    rule.refresh_from_db()
    assert (rule.name, rule.window_days) == ("At most one survey a month", 30)


def test_a_deactivated_rule_is_left_out_of_the_policy(world):
    rule = create(world)
    scope = world.scope(world.analyst)
    assert [r.id for r in ContactPolicy.of_organisation(world.org.pk).rules] == [rule.pk]
    assert rules.contact_rule_deactivate(scope=scope, rule_id=rule.pk).active is False
    assert ContactPolicy.of_organisation(world.org.pk).rules == []
    assert rules.contact_rule_activate(scope=scope, rule_id=rule.pk).active is True
    actions = sorted(
        AuditEvent.objects.filter(action__startswith="contact_rule.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["contact_rule.activated", "contact_rule.created", "contact_rule.deactivated"]
