"""Quiet hours and the default time zone: one setting per organisation, defaults until saved."""

from datetime import time

import pytest

from sonda.accounts.models import AuditEvent
from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.core.errors import PermissionDenied, ValidationFailed
from sonda.listening import rules
from sonda.listening.decisions import organisation_clock
from sonda.listening.models import ListeningSettings
from sonda.listening.rules_selectors import listening_settings_get

READ = {
    "anonymous": 401,
    "outsider": 200,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}
WRITE = {**READ, "executive": 403}

DEFAULTS = {
    "time_zone": "Europe/Bucharest",
    "quiet_hours_start": "21:00:00",
    "quiet_hours_end": "09:00:00",
    "quiet_hours_for_email": False,
}
WARSAW = {
    "time_zone": "Europe/Warsaw",
    "quiet_hours_start": "20:30:00",
    "quiet_hours_end": "08:00:00",
    "quiet_hours_for_email": True,
}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


def update(world, who="analyst", **fields) -> ListeningSettings:
    values = {
        "time_zone": "Europe/Warsaw",
        "quiet_hours_start": time(20, 30),
        "quiet_hours_end": time(8, 0),
        "quiet_hours_for_email": True,
        **fields,
    }
    return rules.listening_settings_update(scope=world.scope(world.users_by_role[who]), **values)


def test_the_defaults_are_read_until_someone_saves_settings(world):
    settings = listening_settings_get(scope=world.scope(world.executive))
    assert settings.pk is None
    assert (settings.time_zone, settings.quiet_hours_start, settings.quiet_hours_end) == (
        "Europe/Bucharest",
        time(21, 0),
        time(9, 0),
    )


def test_saving_twice_keeps_one_row_the_engine_reads(world):
    update(world)
    update(world, quiet_hours_start=time(22, 0))
    assert ListeningSettings.objects.filter(organisation=world.org).count() == 1
    quiet, zone = organisation_clock(world.org.pk)
    assert (quiet.start, quiet.end, quiet.for_email, str(zone)) == (
        time(22, 0),
        time(8, 0),
        True,
        "Europe/Warsaw",
    )
    assert AuditEvent.objects.filter(action="listening_settings.updated").count() == 2


def test_an_unknown_time_zone_is_refused(world):
    with pytest.raises(ValidationFailed) as caught:
        update(world, time_zone="Mars/Olympus_Mons")
    assert [e.field for e in caught.value.errors] == ["time_zone"]
    assert not ListeningSettings.objects.exists()


@pytest.mark.parametrize("who", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_set_quiet_hours(world, who):
    with pytest.raises(PermissionDenied):
        update(world, who=who)
    assert not ListeningSettings.objects.exists()


# --- API ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_the_settings(api, who):
    response = api.as_(who).get("/listening-settings")
    assert response.status_code == READ[who]
    if response.status_code == 200:
        assert response.json() == DEFAULTS
    else:
        problem_fields(response)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_set_the_settings(api, world, who):
    response = api.as_(who).put("/listening-settings", WARSAW)
    assert response.status_code == WRITE[who]
    org = world.other_org if who == "outsider" else world.org
    stored = ListeningSettings.objects.filter(organisation=org).first()
    if response.status_code == 200:
        assert response.json() == WARSAW
        assert stored is not None
        assert stored.time_zone == "Europe/Warsaw"
    else:
        assert stored is None
    # The outsider's settings are their own organisation's, never this one's.
    if who == "outsider":
        assert not ListeningSettings.objects.filter(organisation=world.org).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**WARSAW, "time_zone": "Europe/Atlantis"}, "time_zone"),
        ({**WARSAW, "quiet_hours_start": "25:00"}, "quiet_hours_start"),
        ({**WARSAW, "quiet_hours_end": None}, "quiet_hours_end"),
        ({**WARSAW, "colour": "blue"}, "colour"),
    ],
)
def test_a_wrong_setting_is_refused_naming_the_field(api, body, field):
    response = api.as_("admin").put("/listening-settings", body)
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert not ListeningSettings.objects.exists()
