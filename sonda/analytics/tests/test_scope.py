"""The access choke point: every analytics query sees only the answers its scope may see."""

import pytest

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.analytics.engine import operational_engine
from sonda.analytics.queries import Dimension, MeasureSpec, Metric, overall, slices
from sonda.analytics.scope import ScopedAnswers, UnscopedQuery, scoped_answers
from sonda.analytics.tests.analytics_data import generate, measured_survey
from sonda.org.tests.factories import PersonFactory, UnitFactory, UnitTypeFactory

NPS = MeasureSpec(question_key="ltr", kind="nps", metric=Metric.NPS, min_base=1)


@pytest.fixture
def stored(world):
    """Answers in both regions (some by the frontline employee, some by a colleague) and in the
    other organisation."""
    survey = measured_survey(world.scope(world.analyst))
    colleague = PersonFactory(organisation=world.org, unit=world.north_branch)
    records = generate(
        survey,
        responses=60,
        units=[world.hq, world.north, world.north_branch, world.south, world.south_branch],
        employees=[None, world.frontline_person, colleague],
    )
    other_type = UnitTypeFactory(organisation=world.other_org)
    other_unit = UnitFactory(organisation=world.other_org, unit_type=other_type)
    other_survey = measured_survey(world.scope(world.outsider, world.other_org), name="Theirs")
    generate(other_survey, responses=25, units=[other_unit], employees=[None], seed=3)
    return [r for r in records if r.question_key == "ltr"]


def n_seen(scope: Scope) -> int:
    return overall(scoped_answers(scope=scope), NPS).n


def units_seen(scope: Scope) -> set[int | None]:
    found = slices(scoped_answers(scope=scope), NPS, by=[Dimension.UNIT])
    return {s.key["unit_id"] for s in found}


@pytest.mark.parametrize("role", ["admin", "analyst", "executive"])
def test_whole_organisation_roles_see_every_answer_of_their_organisation_only(world, stored, role):
    scope = world.scope(world.users_by_role[role])
    assert n_seen(scope) == len(stored) == 60


def test_a_manager_sees_their_subtree_and_nothing_of_another(world, stored):
    north = world.scope(world.manager_north)
    expected = [r for r in stored if r.unit_path.startswith(world.north.path)]
    assert n_seen(north) == len(expected) > 0
    assert units_seen(north) == {world.north.pk, world.north_branch.pk}
    south = world.scope(world.manager_south)
    assert units_seen(south) == {world.south.pk, world.south_branch.pk}


def test_a_managers_filters_cannot_reach_outside_their_subtree(world, stored):
    from sonda.analytics.queries import Filters

    north = scoped_answers(scope=world.scope(world.manager_north))
    assert overall(north, NPS, filters=Filters(unit_path=world.south.path)).n == 0
    assert overall(north, NPS, filters=Filters(unit_path=world.hq.path)).n == n_seen(
        world.scope(world.manager_north)
    )


def test_frontline_sees_only_answers_about_their_own_work(world, stored):
    scope = world.scope(world.frontline)
    own = [r for r in stored if r.employee_id == world.frontline_person.pk]
    assert n_seen(scope) == len(own) > 0
    found = slices(scoped_answers(scope=scope), NPS, by=[Dimension.EMPLOYEE])
    assert [s.key["employee_id"] for s in found] == [world.frontline_person.pk]


def test_frontline_without_a_person_record_sees_nothing(world, stored):
    world.frontline_person.user = None
    world.frontline_person.save()
    assert n_seen(world.scope(world.frontline)) == 0


def test_a_manager_without_a_unit_sees_nothing(world, stored):
    scope = world.scope(world.manager_north)
    unitless = Scope(organisation=scope.organisation, user=scope.user, role=Role.MANAGER)
    assert n_seen(unitless) == 0


def test_another_organisation_never_sees_these_answers(world, stored):
    outsider = world.scope(world.outsider, world.other_org)
    assert n_seen(outsider) == 25
    assert world.north_branch.pk not in units_seen(outsider)


def test_a_query_without_a_scope_raises(world, stored):
    engine = operational_engine()
    with pytest.raises(UnscopedQuery):
        scoped_answers(scope=None)  # type: ignore[arg-type]
    with pytest.raises(UnscopedQuery):
        overall(engine, NPS)  # type: ignore[arg-type]
    with pytest.raises(UnscopedQuery):
        slices(engine.backend.table("surveys_answer"), NPS)


def test_scoped_answers_cannot_be_built_around_the_choke_point(world, stored):
    real = scoped_answers(scope=world.scope(world.manager_north))
    with pytest.raises(UnscopedQuery):
        ScopedAnswers(
            scope=real.scope,
            engine=real.engine,
            time_zone=real.time_zone,
            _token=object(),
        )
