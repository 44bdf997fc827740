"""/api/v1/sla: targets and the calendar, overdue cases and attainment, for every caller.

The cases open on Monday 5 October 2026 and miss both deadlines (Tuesday 6 and Monday 12
October) long before any run of this suite, whose clock the API reads.
"""

from typing import Any

import pytest

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.loop.models import Case, LoopSettings, SlaTarget
from sonda.loop.tests.loop_helpers import OPENED, make_bank
from sonda.loop.tests.sla_helpers import open_case

WEEKDAYS = {
    day: [{"start": "09:00", "end": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")
}
OCTOBER = {"date_from": "2026-10-01", "date_to": "2026-10-31"}
HQ = ("admin", "analyst")


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def bank(world):
    return make_bank(world)


@pytest.fixture
def cases(bank) -> dict[str, Case]:
    world = bank.world
    return {
        "anas": open_case(bank, OPENED, employee_id=world.frontline_person.pk),
        "bogdans": open_case(bank, OPENED, employee_id=bank.bogdan.pk),
        "ioanas": open_case(bank, OPENED, employee_id=bank.ioana.pk),
    }


def expected(allowed: tuple[str, ...], **others: int) -> dict[str, int]:
    statuses = {who: 200 if who in allowed else 403 for who in CALLERS}
    return {**statuses, "anonymous": 401, **others}


# Targets and the calendar ------------------------------------------------------------------------


@pytest.mark.parametrize("who", CALLERS)
def test_every_member_reads_the_targets_and_the_calendar(api, who):
    targets = api.as_(who).get("/sla/targets")
    calendar = api.as_(who).get("/sla/calendar")
    if who == "anonymous":
        assert (targets.status_code, calendar.status_code) == (401, 401)
        return
    assert targets.status_code == 200
    assert [
        (t["priority"], t["first_contact_hours"], t["close_hours"]) for t in targets.json()
    ] == [
        ("urgent", 2, 8),
        ("high", 4, 24),
        ("normal", 8, 40),
        ("low", 16, 80),
    ]
    assert calendar.json() == {
        "time_zone": "UTC",
        "hours": WEEKDAYS,
        "holidays": [],
        "special_days": [],
        "is_default": True,
    }


STATUS_TO_CHANGE = expected(HQ, outsider=200)


@pytest.mark.parametrize("who", CALLERS)
def test_only_admins_and_analysts_change_the_targets_of_their_organisation(api, world, who):
    body = {"first_contact_hours": 4, "close_hours": 16, "warn_before_hours": 1}
    response = api.as_(who).put("/sla/targets/normal", body)

    assert response.status_code == STATUS_TO_CHANGE[who]
    ours = list(SlaTarget.objects.filter(organisation=world.org).values_list("first_contact_hours"))
    assert ours == ([(4,)] if who in HQ else [])
    if response.status_code == 200:
        assert response.json() == {"priority": "normal", **body, "is_default": False}
        reset = api.as_(who).delete("/sla/targets/normal")
        assert reset.json()["first_contact_hours"] == 8
        assert reset.json()["is_default"] is True


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/sla/targets/normal",
            {"first_contact_hours": 8, "close_hours": 4, "warn_before_hours": 1},
            "close_hours",
        ),
        (
            "/sla/targets/normal",
            {"first_contact_hours": 8, "close_hours": 40, "warn_before_hours": 9},
            "warn_before_hours",
        ),
        (
            "/sla/targets/normal",
            {"first_contact_hours": 8, "close_hours": 40, "warn_before_hours": 1, "weekly": 1},
            "weekly",
        ),
        ("/sla/targets/normal", {"first_contact_hours": 8, "close_hours": 40}, "warn_before_hours"),
        (
            "/sla/targets/whenever",
            {"first_contact_hours": 8, "close_hours": 40, "warn_before_hours": 1},
            "priority",
        ),
        (
            "/sla/calendar",
            {"time_zone": "UTC", "hours": {"mon": [{"start": "09:00", "end": "08:00"}]}},
            "hours.mon[0].end",
        ),
        ("/sla/calendar", {"time_zone": "UTC", "hours": {"funday": []}}, "hours.funday"),
        ("/sla/calendar", {"time_zone": "Mars/Olympus", "hours": WEEKDAYS}, "time_zone"),
        (
            "/sla/calendar",
            {"time_zone": "UTC", "hours": WEEKDAYS, "holidays": ["2026-02-30"]},
            "holidays[0]",
        ),
        (
            "/sla/calendar",
            {"time_zone": "UTC", "hours": {"mon": [{"start": "09:00"}]}},
            "hours.mon[0].end",
        ),
    ],
)
def test_bad_settings_are_refused_as_problems_naming_the_field(api, path, body, field):
    response = api.as_("analyst").put(path, body)
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert not SlaTarget.objects.exists()
    assert not LoopSettings.objects.exclude(business_calendar={}).exists()


def test_the_calendar_is_set_read_back_and_reset(api):
    document = {
        "time_zone": "Europe/Bucharest",
        "hours": {**WEEKDAYS, "sat": [{"start": "10:00", "end": "14:00"}]},
        "holidays": ["2026-12-25"],
        "special_days": [{"day": "2026-12-24", "hours": [{"start": "09:00", "end": "13:00"}]}],
    }
    analyst = api.as_("analyst")
    assert analyst.put("/sla/calendar", document).json() == {**document, "is_default": False}
    assert api.as_("frontline").get("/sla/calendar").json() == {**document, "is_default": False}
    assert analyst.delete("/sla/calendar").json()["is_default"] is True
    assert api.as_("manager_north").put("/sla/calendar", document).status_code == 403


# Overdue cases -----------------------------------------------------------------------------------

READERS = ("admin", "analyst", "executive", "manager_north", "manager_south")
SEEN = {
    "admin": {"anas", "bogdans", "ioanas"},
    "analyst": {"anas", "bogdans", "ioanas"},
    "executive": {"anas", "bogdans", "ioanas"},
    "manager_north": {"anas", "bogdans"},
    "manager_south": {"ioanas"},
    "outsider": set(),
}


@pytest.mark.parametrize("who", CALLERS)
def test_each_caller_lists_the_overdue_cases_of_their_scope(api, cases, who):
    response = api.as_(who).get("/sla/overdue")

    assert response.status_code == expected(READERS, outsider=200)[who]
    if response.status_code != 200:
        return
    names = {case.pk: name for name, case in cases.items()}
    body = response.json()
    assert {names[item["id"]] for item in body["items"]} == SEEN[who]
    assert body["count"] == len(SEEN[who])


def test_an_overdue_case_says_which_deadlines_it_missed_and_by_how_much(api, bank, cases):
    body = api.as_("analyst").get("/sla/overdue", unit_id=bank.world.south.pk).json()
    (item,) = body["items"]
    assert item["id"] == cases["ioanas"].pk
    assert (item["first_contact_overdue"], item["close_overdue"]) == (True, True)
    assert item["missed_due"] == "2026-10-06T10:00:00Z"
    assert item["owner"] == {
        "id": bank.world.manager_south.pk,
        "name": str(bank.world.manager_south),
    }
    assert item["unit"]["code"] == "S1"
    # Tuesday 6 October 10:00 to 17:00 alone is seven working hours.
    assert item["overdue_minutes"] > 7 * 60


def test_overdue_cases_are_paginated(api, cases):
    page = api.as_("analyst").get("/sla/overdue", limit=2, offset=2).json()
    assert (page["count"], len(page["items"])) == (3, 1)
    assert api.as_("analyst").get("/sla/overdue", limit=0).status_code == 422


def test_listing_overdue_cases_takes_the_same_queries_however_many(
    api, bank, cases, django_assert_max_num_queries
):
    caller = api.as_("manager_north")
    caller.get("/sla/overdue")  # the token's first use writes its last-used time
    for _more in range(3):
        open_case(bank, OPENED, employee_id=bank.world.frontline_person.pk)
    with django_assert_max_num_queries(6):
        response = caller.get("/sla/overdue")
    assert response.json()["count"] == 5


@pytest.mark.parametrize("who", CALLERS)
def test_overdue_counts_per_owner_follow_the_scope(api, bank, cases, who):
    response = api.as_(who).get("/sla/overdue/by-owner")
    assert response.status_code == expected(READERS, outsider=200)[who]
    if response.status_code == 200:
        counts = {item["owner_id"]: item["overdue"] for item in response.json()["items"]}
        owners = {cases[name].owner_id for name in SEEN[who]}
        assert counts == dict.fromkeys(owners, 1)


# Attainment --------------------------------------------------------------------------------------


def totals(body: dict[str, Any]) -> tuple[int, int, int]:
    total = body["total"]
    return total["cases"], total["first_contact"]["n"], total["first_contact"]["met"]


@pytest.mark.parametrize("who", CALLERS)
def test_each_caller_reads_the_attainment_of_their_scope(api, cases, who):
    response = api.as_(who).get("/sla/attainment", **OCTOBER)
    assert response.status_code == expected(READERS, outsider=200)[who]
    if response.status_code == 200:
        seen = len(SEEN[who])
        assert totals(response.json()) == (seen, seen, 0)
        assert response.json()["total"]["first_contact"]["too_few"] is True


def test_attainment_by_owner_names_every_owner(api, bank, cases):
    body = api.as_("analyst").get("/sla/attainment", by="owner", **OCTOBER).json()
    assert {row["key"] for row in body["rows"]} == {str(c.owner_id) for c in cases.values()}
    assert [row["cases"] for row in body["rows"]] == [1, 1, 1]
    assert body["total"]["close"] == {
        "met": 0,
        "n": 3,
        "minimum_base": 30,
        "too_few": True,
        "share": None,
        "low": None,
        "high": None,
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"by": "day"}, "by"),
        ({"date_from": "2026-10-31", "date_to": "2026-10-01"}, "date_to"),
        ({"date_from": "the first"}, "date_from"),
    ],
)
def test_a_bad_attainment_query_is_a_problem_naming_the_field(api, query, field):
    response = api.as_("analyst").get("/sla/attainment", **{**OCTOBER, **query})
    assert response.status_code == 422
    assert problem_fields(response) == [field]
