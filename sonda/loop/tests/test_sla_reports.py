"""Overdue cases and SLA attainment, as each role may read them.

The organisation works Monday to Friday, 09:00–17:00 UTC. Normal cases opened on Monday
5 October 2026 at 10:00 are due for their first contact on Tuesday at 10:00 and for closing on
Monday 12 October at 10:00.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sonda.analytics.stats import wilson_interval
from sonda.core.errors import PermissionDenied, ValidationFailed
from sonda.customers.tests.factories import CustomerFactory
from sonda.loop.models import Case
from sonda.loop.sla import sla_clock
from sonda.loop.sla_reports import overdue_by, overdue_by_owner, overdue_cases, sla_attainment
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.tests.sla_helpers import BUCHAREST, open_case, organisation_in
from sonda.loop.workflow import case_transition


def moment(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def bank(world):
    return make_bank(world)


@pytest.fixture
def cases(bank) -> dict[str, Case]:
    """Ana's case (North 1, Bogdan's), Bogdan's (North 1, Maria's), Ioana's (South 1, Sorin's),
    all opened on Monday 5 October, and one of the other organisation, long overdue."""
    world = bank.world
    return {
        "anas": open_case(bank, OPENED, employee_id=world.frontline_person.pk),
        "bogdans": open_case(bank, OPENED, employee_id=bank.bogdan.pk),
        "ioanas": open_case(bank, OPENED, employee_id=bank.ioana.pk),
        "stranger": Case.objects.create(
            organisation=world.other_org,
            customer=CustomerFactory(organisation=world.other_org),
            opened_at=OPENED,
            first_contact_due=OPENED + timedelta(hours=1),
            close_due=OPENED + timedelta(hours=2),
        ),
    }


def names(rows, cases: dict[str, Case]) -> set[str]:
    by_id = {case.pk: name for name, case in cases.items()}
    return {by_id[row.pk] for row in rows}


# Overdue -----------------------------------------------------------------------------------------


def overdue_flags(case: Case) -> tuple[bool, bool, datetime]:
    """What `overdue_cases` says of a case: first contact missed, closing missed, missed due."""
    return (
        getattr(case, "first_contact_overdue"),  # noqa: B009 - an annotation
        getattr(case, "close_overdue"),  # noqa: B009
        getattr(case, "missed_due"),  # noqa: B009
    )


WEDNESDAY = moment(10, 7, 12)


@pytest.mark.parametrize(
    ("role", "seen"),
    [
        ("admin", {"anas", "bogdans", "ioanas"}),
        ("analyst", {"anas", "bogdans", "ioanas"}),
        ("executive", {"anas", "bogdans", "ioanas"}),
        ("manager_north", {"anas", "bogdans"}),
        ("manager_south", {"ioanas"}),
    ],
)
def test_each_reader_sees_the_overdue_cases_of_their_scope(bank, cases, role, seen):
    rows = overdue_cases(scope=bank.scope(bank.world.users_by_role[role]), now=WEDNESDAY)
    assert names(rows, cases) == seen


def test_the_other_organisation_sees_only_its_own_overdue_cases(bank, cases):
    world = bank.world
    rows = overdue_cases(scope=world.scope(world.outsider, world.other_org), now=WEDNESDAY)
    assert names(rows, cases) == {"stranger"}


@pytest.mark.parametrize("who", ["frontline", "bogdan"])
def test_frontline_employees_read_no_sla_reports(bank, cases, who):
    user = bank.bogdan.user if who == "bogdan" else bank.world.frontline
    scope = bank.scope(user)
    with pytest.raises(PermissionDenied):
        overdue_cases(scope=scope, now=WEDNESDAY)
    with pytest.raises(PermissionDenied):
        overdue_by_owner(scope=scope, now=WEDNESDAY)
    with pytest.raises(PermissionDenied):
        sla_attainment(
            scope=scope, now=WEDNESDAY, date_from=date(2026, 10, 1), date_to=date(2026, 10, 31)
        )


def test_a_case_is_overdue_once_past_a_deadline_it_has_not_met(bank, cases):
    analyst = bank.analyst
    case_transition(
        scope=analyst, case_id=cases["anas"].pk, state="in_contact", now=moment(10, 5, 12)
    )

    # Before Tuesday 10:00 nothing is overdue; at the very minute nothing is yet.
    assert not overdue_cases(scope=analyst, now=moment(10, 6, 10)).exists()
    rows = list(overdue_cases(scope=analyst, now=WEDNESDAY))

    assert names(rows, cases) == {"bogdans", "ioanas"}  # Ana's was contacted in time
    assert {overdue_flags(r) for r in rows} == {(True, False, moment(10, 6, 10))}
    # Past the closing deadline Ana's case, contacted but not resolved, is overdue too.
    later = overdue_cases(scope=analyst, now=moment(10, 12, 11))
    assert [(names([r], cases), *overdue_flags(r)[:2]) for r in later] == [
        ({"bogdans"}, True, True),
        ({"ioanas"}, True, True),
        ({"anas"}, False, True),
    ]


def test_overdue_cases_narrow_to_an_owner_or_a_unit_subtree(bank, cases):
    world = bank.world
    analyst = bank.analyst
    by_owner = overdue_cases(scope=analyst, now=WEDNESDAY, owner_id=world.manager_north.pk)
    by_unit = overdue_cases(scope=analyst, now=WEDNESDAY, unit_id=world.south.pk)
    assert names(by_owner, cases) == {"bogdans"}
    assert names(by_unit, cases) == {"ioanas"}
    # A manager narrowing to a unit outside their subtree finds nothing.
    north = bank.scope(world.manager_north)
    assert not overdue_cases(scope=north, now=WEDNESDAY, unit_id=world.south.pk).exists()


def test_overdue_counts_per_owner(bank, cases):
    world = bank.world
    case_transition(
        scope=bank.analyst, case_id=cases["anas"].pk, state="in_contact", now=moment(10, 5, 12)
    )
    rows = overdue_by_owner(scope=bank.analyst, now=moment(10, 12, 11))
    assert [
        (row["owner_id"], row["overdue"], row["first_contact"], row["close"]) for row in rows
    ] == [
        (world.manager_north.pk, 1, 1, 1),
        (world.manager_south.pk, 1, 1, 1),
        (bank.bogdan.user_id, 1, 0, 1),
    ]
    north = overdue_by_owner(scope=bank.scope(world.manager_north), now=moment(10, 12, 11))
    assert [row["owner_id"] for row in north] == [world.manager_north.pk, bank.bogdan.user_id]


def test_overdue_by_counts_working_time(bank):
    clock = sla_clock(bank.world.org.pk)
    # Tuesday 10:00 to Wednesday 12:00: seven hours on Tuesday, three on Wednesday.
    assert overdue_by(clock, moment(10, 6, 10), WEDNESDAY) == timedelta(hours=10)
    assert overdue_by(clock, moment(10, 8, 10), WEDNESDAY) == timedelta(0)
    assert overdue_by(clock, None, WEDNESDAY) == timedelta(0)


def test_listing_overdue_cases_takes_a_fixed_number_of_queries(
    bank, cases, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        rows = list(overdue_cases(scope=bank.scope(bank.world.manager_north), now=WEDNESDAY))
        shown = [(str(r.owner), str(r.unit), str(r.escalated_to)) for r in rows]
    assert len(shown) == 2


# Attainment --------------------------------------------------------------------------------------

TUESDAY_AFTER = moment(10, 13, 12)
OCTOBER: dict[str, Any] = {"date_from": date(2026, 10, 1), "date_to": date(2026, 10, 31)}


@pytest.fixture
def worked(bank, cases) -> dict[str, Case]:
    """Ana's case met both deadlines; Bogdan's missed both (contacted on Wednesday, unresolved);
    a case opened on Tuesday 13 October at 11:00 in South 1 has none decided yet."""
    analyst = bank.analyst
    anas, bogdans = cases["anas"].pk, cases["bogdans"].pk
    case_transition(scope=analyst, case_id=anas, state="in_contact", now=moment(10, 5, 12))
    case_transition(scope=analyst, case_id=anas, state="resolved", now=moment(10, 6, 12))
    case_transition(scope=analyst, case_id=bogdans, state="in_contact", now=WEDNESDAY)
    Case.objects.filter(pk=cases["ioanas"].pk).delete()
    fresh = open_case(bank, moment(10, 13, 11), employee_id=bank.ioana.pk)
    return {**cases, "fresh": fresh}


def figures(row) -> tuple[object, ...]:
    return (
        row.cases,
        row.first_contact.met,
        row.first_contact.n,
        row.close.met,
        row.close.n,
        row.first_contact.too_few,
    )


def test_attainment_by_unit_counts_the_deadlines_decided_and_met(bank, worked):
    program = bank.survey.program
    program.minimum_base = 2
    program.save(update_fields=["minimum_base"])
    world = bank.world

    report = sla_attainment(scope=bank.analyst, now=TUESDAY_AFTER, by="unit", **OCTOBER)

    assert [(row.key, figures(row)) for row in report.rows] == [
        (str(world.north_branch.pk), (2, 1, 2, 1, 2, False)),
        (str(world.south_branch.pk), (1, 0, 0, 0, 0, True)),
    ]
    assert figures(report.total) == (3, 1, 2, 1, 2, False)
    north = report.rows[0].first_contact
    low, high = wilson_interval(0.5, 2)
    assert (north.share, north.low, north.high) == (0.5, round(low, 6), round(high, 6))
    assert report.rows[1].first_contact.share is None


def test_a_small_base_is_flagged_too_few_and_shows_no_share(bank, worked):
    report = sla_attainment(scope=bank.analyst, now=TUESDAY_AFTER, **OCTOBER)
    total = report.total.first_contact
    assert (total.met, total.n, total.minimum_base, total.too_few, total.share) == (
        1,
        2,
        30,
        True,
        None,
    )


def test_attainment_by_owner(bank, worked):
    world = bank.world
    report = sla_attainment(scope=bank.analyst, now=TUESDAY_AFTER, by="owner", **OCTOBER)
    assert {row.key: figures(row)[:5] for row in report.rows} == {
        str(bank.bogdan.user_id): (1, 1, 1, 1, 1),
        str(world.manager_north.pk): (1, 0, 1, 0, 1),
        str(world.manager_south.pk): (1, 0, 0, 0, 0),
    }


def test_a_manager_reads_the_attainment_of_their_subtree(bank, worked):
    report = sla_attainment(
        scope=bank.scope(bank.world.manager_south), now=TUESDAY_AFTER, **OCTOBER
    )
    assert [row.key for row in report.rows] == [str(bank.world.south_branch.pk)]
    assert report.total.cases == 1


def test_the_period_is_counted_in_days_of_the_organisations_calendar(bank):
    # Sunday 4 October at 22:30 UTC is already Monday 5 October in Bucharest.
    late_sunday = moment(10, 4, 22, 30)
    monday: dict[str, Any] = {"date_from": date(2026, 10, 5), "date_to": date(2026, 10, 5)}
    open_case(bank, late_sunday)
    in_utc = sla_attainment(scope=bank.analyst, now=TUESDAY_AFTER, **monday)
    organisation_in(bank, BUCHAREST)
    in_bucharest = sla_attainment(scope=bank.analyst, now=TUESDAY_AFTER, **monday)
    assert (in_utc.total.cases, in_bucharest.total.cases) == (0, 1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"by": "day"}, "by"),
        ({"date_from": date(2026, 10, 2), "date_to": date(2026, 10, 1)}, "date_to"),
        ({"date_from": date(2024, 1, 1), "date_to": date(2026, 1, 1)}, "date_to"),
    ],
)
def test_an_attainment_query_that_makes_no_sense_is_refused_naming_the_field(bank, query, field):
    with pytest.raises(ValidationFailed) as refused:
        sla_attainment(scope=bank.analyst, now=TUESDAY_AFTER, **{**OCTOBER, **query})
    assert [e.field for e in refused.value.errors] == [field]
