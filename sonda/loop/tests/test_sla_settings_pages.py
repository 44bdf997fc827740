"""The "SLA targets and business calendar" page: every member reads, admins and analysts change.

The page takes what /api/v1/sla takes: a change made on it is what the API reads back, a value
the API refuses is refused next to its field (or the line of the holidays), and nothing changes.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from sonda.api.testing import Api
from sonda.loop import sla_settings_views
from sonda.loop.models import LoopSettings, SlaTarget
from sonda.loop.sla import business_calendar_set, sla_target_set

URL = "/loop/sla/settings/"
ROLES = ("outsider", "manager_south", "frontline", "manager_north", "executive", "analyst", "admin")
CHANGERS = ("analyst", "admin")
DEFAULT_TARGETS = [
    ("urgent", 2, 8, 1, True),
    ("high", 4, 24, 2, True),
    ("normal", 8, 40, 2, True),
    ("low", 16, 80, 4, True),
]
OFFICE_HOURS = {
    "time_zone": "UTC",
    "hours": {day: [{"start": "09:00", "end": "17:00"}] for day in ("mon", "tue", "wed", "thu")}
    | {"fri": [{"start": "09:00", "end": "17:00"}]},
    "holidays": [],
    "special_days": [],
    "is_default": True,
}
# Friday 9 October 2026, 16:00 UTC: an hour of Friday is left on the default calendar.
FRIDAY_AFTERNOON = datetime(2026, 10, 9, 16, 0, tzinfo=UTC)
SAVE_NORMAL = {
    "action": "target_save",
    "priority": "normal",
    "normal-first_contact_hours": "4",
    "normal-close_hours": "16",
    "normal-warn_before_hours": "1",
}


def calendar_post(
    time_zone: str, days: Mapping[str, tuple[str, ...]] | None = None, special: str = ""
) -> dict[str, str]:
    """The calendar form as posted; `days` as `{"mon": ("09:00", "17:00")}`, four times: two
    intervals."""
    days = days or {}
    data = {"action": "calendar_save", "time_zone": time_zone, "special": special}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        times = days.get(day, ())
        for slot in range(2):
            data[f"{day}_{slot}_start"] = times[2 * slot] if len(times) > 2 * slot else ""
            data[f"{day}_{slot}_end"] = times[2 * slot + 1] if len(times) > 2 * slot else ""
    return data


WEEKDAYS_9_TO_5 = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), ("09:00", "17:00"))


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def friday_afternoon(monkeypatch):
    monkeypatch.setattr(sla_settings_views, "_now", lambda: FRIDAY_AFTERNOON)


def signed_in(world, role: str) -> Client:
    client = Client()
    client.force_login(world.users_by_role[role])
    return client


def targets_read(api: Api, who: str = "analyst") -> list[tuple[Any, ...]]:
    return [
        (
            t["priority"],
            t["first_contact_hours"],
            t["close_hours"],
            t["warn_before_hours"],
            t["is_default"],
        )
        for t in api.as_(who).get("/sla/targets").json()
    ]


def calendar_read(api: Api, who: str = "analyst") -> dict[str, Any]:
    return api.as_(who).get("/sla/calendar").json()


def stored_settings(world) -> tuple[list[tuple[Any, ...]], list[Any]]:
    """Everything the page may write, for "nothing changed" assertions."""
    targets = list(
        SlaTarget.objects.order_by("organisation_id", "priority").values_list(
            "organisation_id", "priority", "first_contact_hours", "close_hours", "warn_before_hours"
        )
    )
    calendars = list(
        LoopSettings.objects.order_by("organisation_id").values_list(
            "organisation_id", "business_calendar"
        )
    )
    return targets, calendars


def field_errors(response, form: str = "calendar_form") -> dict[str, list[str]]:
    return dict(response.context[form].errors)


# Who reads and who changes -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_sign_in(world, client: Client, method):
    before = stored_settings(world)
    response = getattr(client, method)(URL, SAVE_NORMAL if method == "post" else None)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(URL)}"
    assert stored_settings(world) == before


def test_the_page_is_named_settings_in_the_sla_pages():
    assert reverse("loop_sla:settings") == URL


@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads_the_settings_and_only_admins_and_analysts_get_the_forms(world, role):
    response = signed_in(world, role).get(URL)
    content = response.content.decode()
    assert response.status_code == 200
    changes = role in CHANGERS or role == "outsider"  # the outsider administers their own bank
    assert ('value="target_save"' in content) is changes
    assert ('value="calendar_save"' in content) is changes
    assert ("Admins and analysts change these settings." in content) is not changes


def settings_of(org) -> tuple[list[tuple[str, int]], str | None]:
    """An organisation's own targets (priority, first contact hours) and its calendar's zone."""
    targets = SlaTarget.objects.filter(organisation=org).order_by("priority")
    stored = (
        LoopSettings.objects.filter(organisation=org)
        .values_list("business_calendar", flat=True)
        .first()
    )
    return list(targets.values_list("priority", "first_contact_hours")), (stored or {}).get(
        "time_zone"
    )


SET_UP = ([("normal", 6)], "Europe/Warsaw")
CHANGES = {
    "target_save": (SAVE_NORMAL, ([("normal", 4)], "Europe/Warsaw")),
    "target_reset": ({"action": "target_reset", "priority": "normal"}, ([], "Europe/Warsaw")),
    "calendar_save": (
        calendar_post("Europe/Bucharest", WEEKDAYS_9_TO_5),
        ([("normal", 6)], "Europe/Bucharest"),
    ),
    "calendar_reset": ({"action": "calendar_reset"}, ([("normal", 6)], None)),
}
REFUSED = ("frontline", "manager_north", "manager_south", "executive")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("change", CHANGES)
def test_only_admins_and_analysts_change_the_settings_of_their_own_organisation(
    world, role, change
):
    for scope in (world.scope(world.analyst), world.scope(world.outsider, world.other_org)):
        sla_target_set(
            scope=scope,
            priority="normal",
            first_contact_hours=6,
            close_hours=30,
            warn_before_hours=2,
        )
        business_calendar_set(
            scope=scope,
            calendar={
                "time_zone": "Europe/Warsaw",
                "hours": {"mon": [{"start": "08:00", "end": "16:00"}]},
            },
        )
    data, changed = CHANGES[change]

    response = signed_in(world, role).post(URL, data)

    if role in REFUSED:
        assert response.status_code == 403
        assert (settings_of(world.org), settings_of(world.other_org)) == (SET_UP, SET_UP)
        return
    assert (response.status_code, response["Location"]) == (302, URL)
    if role == "outsider":
        assert (settings_of(world.org), settings_of(world.other_org)) == (SET_UP, changed)
    else:
        assert (settings_of(world.org), settings_of(world.other_org)) == (changed, SET_UP)


def test_another_organisation_sees_its_own_settings_not_ours(world, api):
    scope = world.scope(world.analyst)
    sla_target_set(
        scope=scope, priority="urgent", first_contact_hours=3, close_hours=9, warn_before_hours=1
    )
    business_calendar_set(
        scope=scope,
        calendar={
            "time_zone": "Europe/Bucharest",
            "hours": {"mon": [{"start": "08:00", "end": "16:00"}]},
        },
    )

    response = signed_in(world, "outsider").get(URL)

    targets = [form.initial for _target, form in response.context["targets"]]
    assert targets[0] == {"first_contact_hours": 2, "close_hours": 8, "warn_before_hours": 1}
    assert response.context["calendar"].time_zone == "UTC"
    assert response.context["calendar_is_default"] is True
    assert "Europe/Bucharest" not in response.context["calendar_form"].initial.values()


# What the page shows -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["loop_sla:overdue", "loop_sla:attainment", "loop:problems"])
def test_the_sla_reports_and_the_loop_configuration_link_to_the_page(world, page):
    content = signed_in(world, "executive").get(reverse(page)).content.decode()
    assert f'href="{URL}"' in content


@pytest.mark.parametrize("role", ["frontline", "analyst"])
def test_the_page_shows_every_priority_and_what_a_change_applies_to(world, role):
    content = signed_in(world, role).get(URL).content.decode()
    for label in ("Urgent", "High", "Normal", "Low"):
        assert label in content
    assert (
        "A change applies to cases opened from now on (and to the closing deadline of a case "
        "reopened later); deadlines already given do not move."
    ) in content


def test_the_analyst_gets_a_form_per_priority_filled_with_its_targets(world):
    sla_target_set(
        scope=world.scope(world.analyst),
        priority="low",
        first_contact_hours=20,
        close_hours=100,
        warn_before_hours=0,
    )
    response = signed_in(world, "analyst").get(URL)
    rows = [
        (target.priority, target.is_default, form.initial)
        for target, form in response.context["targets"]
    ]
    assert rows == [
        ("urgent", True, {"first_contact_hours": 2, "close_hours": 8, "warn_before_hours": 1}),
        ("high", True, {"first_contact_hours": 4, "close_hours": 24, "warn_before_hours": 2}),
        ("normal", True, {"first_contact_hours": 8, "close_hours": 40, "warn_before_hours": 2}),
        ("low", False, {"first_contact_hours": 20, "close_hours": 100, "warn_before_hours": 0}),
    ]
    content = response.content.decode()
    assert 'name="low-first_contact_hours"' in content
    assert content.count('value="target_reset"') == 1  # only a priority with its own targets


def test_the_frontline_employee_reads_the_targets_and_the_calendar_as_text(world):
    business_calendar_set(
        scope=world.scope(world.analyst),
        calendar={
            "time_zone": "Europe/Bucharest",
            "hours": {
                "mon": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]
            },
            "holidays": ["2026-12-25"],
            "special_days": [{"day": "2026-12-24", "hours": [{"start": "09:00", "end": "13:00"}]}],
        },
    )
    response = signed_in(world, "frontline").get(URL)
    content = response.content.decode()
    assert response.context["calendar_form"] is None
    assert response.context["week"][:2] == [("Monday", "08:00–12:00, 13:00–17:00"), ("Tuesday", "")]
    assert "Time zone: Europe/Bucharest" in content
    assert '<time datetime="2026-12-24">Thursday 24 December 2026</time>: 09:00–13:00' in content
    assert '<time datetime="2026-12-25">Friday 25 December 2026</time>: closed' in content
    assert "<td>2 hours</td>" in content


def test_the_preview_says_when_a_case_opened_now_needs_first_contact(world, friday_afternoon):
    content = signed_in(world, "manager_north").get(URL).content.decode()
    assert (
        "Urgent: a case opened now would need first contact by Monday 12 October 2026, 10:00 "
        "and resolution by Monday 12 October 2026, 16:00."
    ) in content
    assert "for a case opened now (Friday 9 October 2026, 16:00, UTC)" in content


def test_the_preview_counts_in_the_saved_calendar(world, friday_afternoon):
    client = signed_in(world, "admin")
    client.post(URL, calendar_post("Europe/Bucharest", WEEKDAYS_9_TO_5))
    content = client.get(URL).content.decode()
    # 19:00 on Friday in Bucharest: the two hours start on Monday at 09:00.
    assert (
        "Urgent: a case opened now would need first contact by Monday 12 October 2026, 11:00 "
        "and resolution by Monday 12 October 2026, 17:00."
    ) in content
    assert "(Friday 9 October 2026, 19:00, Europe/Bucharest)" in content


# Targets -----------------------------------------------------------------------------------------


def test_saving_a_priority_changes_what_the_api_reads(world, api):
    client = signed_in(world, "analyst")
    response = client.post(URL, SAVE_NORMAL, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "The targets of the priority “Normal” are saved." in response.content.decode()
    assert targets_read(api) == [
        ("urgent", 2, 8, 1, True),
        ("high", 4, 24, 2, True),
        ("normal", 4, 16, 1, False),
        ("low", 16, 80, 4, True),
    ]


def test_resetting_a_priority_goes_back_to_its_defaults(world, api):
    client = signed_in(world, "admin")
    client.post(URL, SAVE_NORMAL)
    response = client.post(URL, {"action": "target_reset", "priority": "normal"}, follow=True)
    assert (
        "The targets of the priority “Normal” are back to the defaults."
        in response.content.decode()
    )
    assert targets_read(api) == DEFAULT_TARGETS


@pytest.mark.parametrize(
    ("hours", "errors"),
    [
        (
            ("8", "4", "1"),
            {"close_hours": ["must not be shorter than the time to the first contact"]},
        ),
        (("-1", "40", "0"), {"first_contact_hours": ["a whole number of hours from 1 to 2000"]}),
        (("8", "2001", "1"), {"close_hours": ["a whole number of hours from 1 to 2000"]}),
        (("8", "40", "-1"), {"warn_before_hours": ["a whole number of hours from 0 to 2000"]}),
        (
            ("8", "40", "8"),
            {"warn_before_hours": ["must be shorter than the time to the first contact"]},
        ),
        (("eight", "40", "1"), {"first_contact_hours": ["Enter a whole number."]}),
        (("8", "", "1"), {"close_hours": ["This field is required."]}),
    ],
)
def test_refused_targets_are_shown_next_to_their_field_and_nothing_changes(
    world, api, hours, errors
):
    first_contact, close, warn = hours
    before = stored_settings(world)
    response = signed_in(world, "analyst").post(
        URL,
        {
            "action": "target_save",
            "priority": "high",
            "high-first_contact_hours": first_contact,
            "high-close_hours": close,
            "high-warn_before_hours": warn,
        },
    )
    assert response.status_code == 200
    forms = {target.priority: form for target, form in response.context["targets"]}
    assert dict(forms["high"].errors) == errors
    assert not forms["urgent"].is_bound
    message = next(iter(errors.values()))[0]
    assert (
        f'<ul class="errorlist" id="id_high-{next(iter(errors))}_error">\n      <li>{message}</li>'
        in response.content.decode()
    )
    assert stored_settings(world) == before
    assert targets_read(api) == DEFAULT_TARGETS


@pytest.mark.parametrize(
    "data",
    [
        {**SAVE_NORMAL, "priority": "whenever"},
        {"action": "target_reset"},
        {"action": "publish", "priority": "normal"},
        {},
    ],
)
def test_a_post_that_is_none_of_the_pages_forms_is_a_bad_request(world, data):
    before = stored_settings(world)
    response = signed_in(world, "admin").post(URL, data)
    assert response.status_code == 400
    assert stored_settings(world) == before


# The calendar ------------------------------------------------------------------------------------


def test_saving_the_calendar_changes_what_the_api_reads(world, api):
    data = calendar_post(
        "Europe/Bucharest",
        {
            "mon": ("08:00", "12:00", "13:00", "17:00"),
            "tue": ("08:00", "12:00", "13:00", "17:00"),
            "wed": ("09:00", "17:00"),
            "thu": ("09:00", "17:00"),
            "fri": ("09:00", "15:00"),
            "sat": ("22:00", "00:00"),
        },
        # Blank lines, spaces, an en dash, 9:00 for 09:00 and an end of 00:00 are understood.
        "2026-12-25\n\n2026-12-24 09:00-13:00\n2027-01-01 \n2026-12-31 8:00 – 11:00, 12:00-00:00",
    )
    response = signed_in(world, "analyst").post(URL, data, follow=True)
    assert response.redirect_chain == [(URL, 302)]
    assert "The business calendar is saved." in response.content.decode()
    assert calendar_read(api, "frontline") == {
        "time_zone": "Europe/Bucharest",
        "hours": {
            "mon": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
            "tue": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
            "wed": [{"start": "09:00", "end": "17:00"}],
            "thu": [{"start": "09:00", "end": "17:00"}],
            "fri": [{"start": "09:00", "end": "15:00"}],
            "sat": [{"start": "22:00", "end": "24:00"}],
        },
        "holidays": ["2026-12-25", "2027-01-01"],
        "special_days": [
            {"day": "2026-12-24", "hours": [{"start": "09:00", "end": "13:00"}]},
            {
                "day": "2026-12-31",
                "hours": [{"start": "08:00", "end": "11:00"}, {"start": "12:00", "end": "24:00"}],
            },
        ],
        "is_default": False,
    }


def test_a_calendar_set_through_the_api_goes_through_the_page_unchanged(world, api):
    saved = {
        "time_zone": "America/New_York",
        "hours": {
            "mon": [
                {"start": "00:00", "end": "06:00"},
                {"start": "09:00", "end": "12:00"},
                {"start": "22:00", "end": "24:00"},
            ],
            "sat": [{"start": "10:00", "end": "14:00"}],
        },
        "holidays": ["2026-11-26"],
        "special_days": [{"day": "2026-11-27", "hours": [{"start": "09:00", "end": "24:00"}]}],
    }
    assert api.as_("admin").put("/sla/calendar", saved).status_code == 200
    client = signed_in(world, "admin")
    form = client.get(URL).context["calendar_form"]
    assert list(form.intervals) == [0, 1, 2]
    assert form.initial["mon_2_end"] == "00:00"  # a time input cannot hold 24:00
    assert form.initial["special"] == "2026-11-26\n2026-11-27 09:00-24:00"
    data = {field.html_name: field.value() or "" for field in form} | {"action": "calendar_save"}

    response = client.post(URL, data)

    assert response.status_code == 302
    assert calendar_read(api) == {**saved, "is_default": False}


def test_going_back_to_office_hours(world, api):
    client = signed_in(world, "admin")
    client.post(URL, calendar_post("Europe/Bucharest", WEEKDAYS_9_TO_5))
    response = client.post(URL, {"action": "calendar_reset"}, follow=True)
    assert (
        "The business calendar is back to office hours, Monday to Friday 09:00–17:00."
        in response.content.decode()
    )
    assert calendar_read(api) == OFFICE_HOURS


REFUSED_CALENDARS = [
    pytest.param(
        calendar_post("Mars/Olympus", WEEKDAYS_9_TO_5),
        {"time_zone": ["“Mars/Olympus” is not a known time zone"]},
        "Time zone: “Mars/Olympus” is not a known time zone",
        id="unknown time zone",
    ),
    pytest.param(
        calendar_post("", WEEKDAYS_9_TO_5),
        {"time_zone": ["must be a time zone name like Europe/Warsaw"]},
        "Time zone: must be a time zone name like Europe/Warsaw",
        id="no time zone",
    ),
    pytest.param(
        calendar_post("UTC", {**WEEKDAYS_9_TO_5, "tue": ("17:00", "09:00")}),
        {"tue_0_end": ["must be after the start"]},
        "Tuesday, to: must be after the start",
        id="opening after closing",
    ),
    pytest.param(
        calendar_post("UTC", {**WEEKDAYS_9_TO_5, "wed": ("09:00", "13:00", "12:00", "17:00")}),
        {"wed_1_start": ["overlaps another working interval of the day"]},
        "Wednesday, interval 2, from: overlaps another working interval of the day",
        id="overlapping intervals",
    ),
    pytest.param(
        calendar_post("UTC", {**WEEKDAYS_9_TO_5, "thu": ("9 am", "17:00")}),
        {"thu_0_start": ["must be a time like 09:00"]},
        "Thursday, from: must be a time like 09:00",
        id="not a time",
    ),
    pytest.param(
        calendar_post("UTC", {**WEEKDAYS_9_TO_5, "fri": ("09:00", "")}),
        {"fri_0_end": ["enter the end of these working hours as well"]},
        "Friday, to: enter the end of these working hours as well",
        id="no end",
    ),
    pytest.param(
        calendar_post("UTC"),
        {"__all__": ["Working hours: no working time in the week"]},
        "Working hours: no working time in the week",
        id="closed all week",
    ),
    pytest.param(
        calendar_post("UTC", WEEKDAYS_9_TO_5, "2026-12-24\n2026-12-25 Christmas"),
        {
            "special": [
                (
                    "Line 2 (“2026-12-25 Christmas”): “Christmas” is not working hours like "
                    "09:00-13:00; a date alone closes the day"
                )
            ]
        },
        "Holidays and special days: Line 2 (“2026-12-25 Christmas”): “Christmas” is not "
        "working hours like 09:00-13:00; a date alone closes the day",
        id="a note after the date",
    ),
    pytest.param(
        calendar_post("UTC", WEEKDAYS_9_TO_5, "\n2026-02-30"),
        {"special": ["Line 2 (“2026-02-30”): must be a date like 2026-12-25"]},
        "Holidays and special days: Line 2 (“2026-02-30”): must be a date like 2026-12-25",
        id="no such date",
    ),
    pytest.param(
        calendar_post("UTC", WEEKDAYS_9_TO_5, "Christmas 09:00-13:00"),
        {"special": ["Line 1 (“Christmas 09:00-13:00”): must be a date like 2026-12-25"]},
        "Holidays and special days: Line 1 (“Christmas 09:00-13:00”): must be a date like "
        "2026-12-25",
        id="no date",
    ),
    pytest.param(
        calendar_post("UTC", WEEKDAYS_9_TO_5, "2026-12-25\n2026-12-24\n2026-12-25"),
        {"special": ["Line 3 (“2026-12-25”): is listed twice"]},
        "Holidays and special days: Line 3 (“2026-12-25”): is listed twice",
        id="holiday twice",
    ),
    pytest.param(
        calendar_post("UTC", WEEKDAYS_9_TO_5, "2026-12-25\n2026-12-25 09:00-12:00"),
        {"special": ["Line 2 (“2026-12-25 09:00-12:00”): is also listed as a holiday"]},
        "Holidays and special days: Line 2 (“2026-12-25 09:00-12:00”): is also listed as a holiday",
        id="holiday with hours",
    ),
    pytest.param(
        calendar_post("UTC", WEEKDAYS_9_TO_5, "2026-12-24 13:00-09:00"),
        {"special": ["Line 1 (“2026-12-24 13:00-09:00”): must be after the start"]},
        "Holidays and special days: Line 1 (“2026-12-24 13:00-09:00”): must be after the start",
        id="special day ending before it starts",
    ),
]


@pytest.mark.parametrize(("data", "errors", "summary"), REFUSED_CALENDARS)
def test_a_refused_calendar_names_the_row_and_field_and_nothing_changes(
    world, api, data, errors, summary
):
    saved = {
        "time_zone": "Europe/Warsaw",
        "hours": {"mon": [{"start": "08:00", "end": "16:00"}]},
        "holidays": ["2026-11-11"],
        "special_days": [],
    }
    business_calendar_set(scope=world.scope(world.analyst), calendar=saved)
    before = stored_settings(world)

    response = signed_in(world, "analyst").post(URL, data)

    assert response.status_code == 200
    assert field_errors(response) == errors
    assert response.context["calendar_form"].error_summary() == [summary]
    content = response.content.decode()
    assert "The calendar is not saved:" in content
    assert stored_settings(world) == before
    assert calendar_read(api) == {**saved, "is_default": False}
