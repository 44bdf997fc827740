"""The organisation's calendar for tests that write answers directly."""

from zoneinfo import ZoneInfo

from sonda.accounts.models import Organisation
from sonda.core.calendar import zone


def organisation_zone(organisation_id: int) -> ZoneInfo:
    """The zone stored for the organisation now (a test may have changed it in memory and
    saved it on another instance)."""
    return zone(Organisation.objects.values_list("time_zone", flat=True).get(pk=organisation_id))
