from django.urls import reverse

from sonda.accounts.models import AuditEvent, Role
from sonda.accounts.services import membership_set


def test_a_failed_sign_in_to_a_known_account_is_audited_in_each_of_its_organisations(world, client):
    membership_set(organisation=world.other_org, user=world.analyst, role=Role.EXECUTIVE)
    client.post(
        reverse("login"),
        {"username": "Analyst@banca.example", "password": "guess"},
        REMOTE_ADDR="198.51.100.4",
    )
    events = AuditEvent.objects.filter(action="user.login_failed")
    assert sorted(events.values_list("organisation__slug", flat=True)) == ["banca", "other"]
    assert {e.ip_address for e in events} == {"198.51.100.4"}
    assert {e.actor_id for e in events} == {world.analyst.pk}


def test_a_failed_sign_in_with_an_unknown_email_records_nothing(world, client):
    client.post(reverse("login"), {"username": "nobody@nowhere.example", "password": "x"})
    assert not AuditEvent.objects.filter(action="user.login_failed").exists()
