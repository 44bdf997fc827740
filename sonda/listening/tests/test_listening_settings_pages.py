"""Quiet hours through the page: configurers set them, executives read them."""

from datetime import time

from django.urls import reverse

from sonda.listening.models import ListeningSettings


def test_an_admin_sets_quiet_hours(world, client):
    client.force_login(world.admin)
    html = client.get(reverse("listening:settings")).content.decode()
    assert '<option value="Europe/Bucharest" selected>' in html
    response = client.post(
        reverse("listening:settings"),
        {
            "time_zone": "Europe/Warsaw",
            "quiet_hours_start": "20:00",
            "quiet_hours_end": "08:30",
            "quiet_hours_for_email": "on",
        },
    )
    assert response.status_code == 302
    settings = ListeningSettings.objects.get(organisation=world.org)
    assert (settings.time_zone, settings.quiet_hours_start, settings.quiet_hours_end) == (
        "Europe/Warsaw",
        time(20, 0),
        time(8, 30),
    )
    assert settings.quiet_hours_for_email is True


def test_a_wrong_setting_is_shown_by_its_field_and_nothing_is_saved(world, client):
    client.force_login(world.analyst)
    response = client.post(
        reverse("listening:settings"),
        {"time_zone": "Mars/Base", "quiet_hours_start": "late", "quiet_hours_end": "08:00"},
    )
    assert response.status_code == 200
    assert sorted(response.context["form"].errors) == ["quiet_hours_start", "time_zone"]
    assert not ListeningSettings.objects.exists()


def test_executives_read_the_quiet_hours_without_a_form(world, client):
    ListeningSettings.objects.create(
        organisation=world.org, quiet_hours_start=time(22, 0), quiet_hours_end=time(7, 0)
    )
    client.force_login(world.executive)
    response = client.get(reverse("listening:settings"))
    html = response.content.decode()
    assert response.context["form"] is None
    assert "22:00–07:00" in html
    assert '<form method="post" class="stacked">' not in html
