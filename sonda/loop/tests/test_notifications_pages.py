"""One's own notifications page: the list, opening one, marking all read, how one hears."""

import pytest
from django.test import Client
from django.urls import reverse

from sonda.loop.models import Notification, NotificationPreference
from sonda.loop.tests.loop_helpers import make_bank

LIST = reverse("loop_notifications:list")


@pytest.fixture
def bank(world):
    return make_bank(world)


def as_(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_sign_in_first(bank):
    for answer in (
        Client().get(LIST),
        Client().post(reverse("loop_notifications:read")),
        Client().post(reverse("loop_notifications:settings")),
    ):
        assert answer.status_code == 302
        assert "login" in answer["Location"]


def test_each_user_sees_their_own_notifications_only(bank, world):
    case = bank.case(employee_id=bank.bogdan.pk)  # Maria's (manager_north)
    bank.case()  # the analyst's queue notice

    page = as_(world.manager_north).get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Case {case.pk} (normal priority) is yours: call the customer back." in html
    assert "One unread notification." in html
    assert "waits in the queue" not in html

    for who in (world.manager_south, world.frontline, world.outsider):
        html = as_(who).get(LIST).content.decode()
        assert "Nothing yet." in html
        assert f"Case {case.pk}" not in html


def test_opening_a_notification_marks_it_read_and_leads_to_its_case(bank, world):
    case = bank.case(employee_id=bank.bogdan.pk)
    notification = Notification.objects.get()
    url = reverse("loop_notifications:open", kwargs={"notification_id": notification.pk})

    # Somebody else's notification is not found, and stays unread.
    assert as_(world.manager_south).post(url).status_code == 404
    assert as_(world.outsider).post(url).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None

    opened = as_(world.manager_north).post(url)
    assert (opened.status_code, opened["Location"]) == (
        302,
        reverse("loop:case", kwargs={"case_id": case.pk}),
    )
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert as_(world.manager_north).get(url).status_code == 405


def test_marking_all_read_touches_only_ones_own(bank, world):
    bank.case(employee_id=bank.bogdan.pk)
    bank.case(employee_id=bank.bogdan.pk)
    bank.case()  # the analyst's
    answer = as_(world.manager_north).post(reverse("loop_notifications:read"), follow=True)
    assert "2 notifications marked read." in answer.content.decode()
    assert list(
        Notification.objects.filter(read_at__isnull=True).values_list("recipient", flat=True)
    ) == [world.analyst.pk]


def test_one_chooses_a_daily_digest_instead_of_email_at_once(bank, world):
    client = as_(world.manager_north)
    assert (
        'name="email_immediately" id="id_email_immediately" checked'
        in client.get(LIST).content.decode()
    )

    saved = client.post(reverse("loop_notifications:settings"), {"daily_digest": "on"}, follow=True)

    assert "Your notification settings are saved." in saved.content.decode()
    preference = NotificationPreference.objects.get()
    assert (preference.user, preference.organisation) == (world.manager_north, world.org)
    assert (preference.email_immediately, preference.daily_digest) == (False, True)
    html = client.get(LIST).content.decode()
    assert 'name="daily_digest" id="id_daily_digest" checked' in html
    assert 'name="email_immediately" id="id_email_immediately" checked' not in html
    # Another user's choice is their own.
    as_(world.analyst).post(reverse("loop_notifications:settings"), {})
    assert NotificationPreference.objects.get(user=world.manager_north).daily_digest is True
