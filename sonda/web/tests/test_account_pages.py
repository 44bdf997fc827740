"""Signing in, password reset by email, profile, members and roles, API tokens, the audit log."""

import re
from email.header import decode_header, make_header

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import PASSWORD
from sonda.accounts.models import ApiToken, AuditEvent, Membership, Role, User
from sonda.accounts.services import api_token_authenticate, api_token_create, audit_record

# Signing in and out ------------------------------------------------------------------------------


def test_signing_in_with_email_and_password_opens_the_home_page_and_is_audited(world, client):
    response = client.post(
        reverse("login"),
        {"username": "admin@banca.example", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.7",
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    event = AuditEvent.objects.get(action="user.logged_in")
    assert (event.organisation_id, event.actor_id, event.ip_address) == (
        world.org.pk,
        world.admin.pk,
        "192.0.2.7",
    )


def test_signing_in_goes_back_to_the_page_asked_for(world, client):
    response = client.post(
        f"{reverse('login')}?next=/org/units/",
        {"username": "analyst@banca.example", "password": PASSWORD, "next": "/org/units/"},
    )
    assert response["Location"] == "/org/units/"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(world, client):
    response = client.post(
        reverse("login"), {"username": "admin@banca.example", "password": "wrong"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The email address and password do not match an active account." in html
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action="user.logged_in").exists()


def test_the_sign_in_page_asks_for_an_email_with_labels(db, client):
    html = client.get(reverse("login")).content.decode()
    assert '<label for="id_username">Email:</label>' in html
    assert 'type="email" name="username"' in html
    assert '<label for="id_password">Password:</label>' in html


def test_signing_out_needs_a_post_and_ends_the_session(world, signed_in):
    client = signed_in(world.admin)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


# Password reset by email (a real SMTP server on loopback) ----------------------------------------


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def reset_link(message) -> str:
    body = message.get_payload(decode=True).decode()
    match = re.search(r"http://testserver(/reset/[^/\s]+/[^/\s]+/)", body)
    assert match is not None, body
    return match.group(1)


def test_a_forgotten_password_is_reset_through_the_emailed_link(world, client, mailbox):
    response = client.post(reverse("password_reset"), {"email": "frontline@banca.example"})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "frontline@banca.example"
    assert subject(message) == "Choose a new Sonda password"

    confirm = client.get(reset_link(message), follow=True)
    assert confirm.status_code == 200
    assert confirm.context["validlink"] is True
    set_password_url = confirm.redirect_chain[-1][0]
    done = client.post(
        set_password_url,
        {"new_password1": "a brand new secret 42", "new_password2": "a brand new secret 42"},
    )
    assert done["Location"] == reverse("password_reset_complete")

    signed_in = client.post(
        reverse("login"),
        {"username": "frontline@banca.example", "password": "a brand new secret 42"},
    )
    assert signed_in["Location"] == reverse("home")
    # The link worked once.
    assert client.get(reset_link(message), follow=True).context["validlink"] is False


def test_the_reset_email_speaks_the_users_language(world, client, mailbox):
    User.objects.filter(pk=world.manager_north.pk).update(language="pl")
    User.objects.filter(pk=world.manager_south.pk).update(language="ro")
    client.post(reverse("password_reset"), {"email": "north@banca.example"})
    client.post(reverse("password_reset"), {"email": "south@banca.example"})
    polish, romanian = mailbox.messages
    assert subject(polish) == "Wybierz nowe hasło do Sondy"
    assert "Wybierz nowe hasło tutaj:" in polish.get_payload(decode=True).decode()
    assert subject(romanian) == "Alegeți o parolă nouă pentru Sonda"
    assert "Alegeți parola nouă aici:" in romanian.get_payload(decode=True).decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(world, client, mailbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@banca.example"})
    assert response["Location"] == reverse("password_reset_done")
    assert mailbox.messages == []


def test_a_tampered_reset_link_does_not_work(world, client):
    response = client.get("/reset/MQ/abc-123/", follow=True)
    assert response.context["validlink"] is False
    assert "This link no longer works" in response.content.decode()


# Profile -------------------------------------------------------------------------------------


def test_a_user_chooses_their_language_on_the_profile_page(world, signed_in):
    client = signed_in(world.frontline)
    response = client.post(
        reverse("accounts:profile"), {"full_name": "Ana F", "language": "ro"}, follow=True
    )
    user = User.objects.get(pk=world.frontline.pk)
    assert (user.full_name, user.language) == ("Ana F", "ro")
    assert "Profilul dumneavoastră a fost salvat." in response.content.decode()


def test_an_unknown_language_is_refused_on_the_field(world, signed_in):
    response = signed_in(world.frontline).post(
        reverse("accounts:profile"), {"full_name": "Ana F", "language": "xx"}
    )
    assert list(response.context["form"].errors) == ["language"]
    assert User.objects.get(pk=world.frontline.pk).language == "en"


# Members and roles ---------------------------------------------------------------------------


def test_the_member_list_shows_everyone_with_their_role(world, signed_in):
    html = signed_in(world.admin).get(reverse("accounts:members")).content.decode()
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td>[^<]*</td>\s*<td>([^<]+)</td>", html)
    assert rows == [
        ("admin@banca.example", "Administrator"),
        ("analyst@banca.example", "Analyst"),
        ("executive@banca.example", "Executive"),
        ("frontline@banca.example", "Frontline employee"),
        ("north@banca.example", "Unit manager"),
        ("south@banca.example", "Unit manager"),
    ]


def test_an_admin_adds_a_new_person_as_a_manager_of_a_unit(world, signed_in):
    response = signed_in(world.admin).post(
        reverse("accounts:member_add"),
        {"email": "New.Boss@Banca.example", "role": "manager", "unit": world.south_branch.pk},
    )
    assert response["Location"] == reverse("accounts:members")
    membership = Membership.objects.get(user__email="new.boss@banca.example")
    assert (membership.organisation_id, membership.role, membership.unit_id) == (
        world.org.pk,
        Role.MANAGER,
        world.south_branch.pk,
    )
    assert not membership.user.has_usable_password()
    assert AuditEvent.objects.filter(action="membership.created", actor=world.admin).count() == 1


def test_an_admin_adds_an_existing_user_of_another_organisation(world, signed_in):
    signed_in(world.admin).post(
        reverse("accounts:member_add"), {"email": "admin@other.example", "role": "analyst"}
    )
    assert Membership.objects.get(user=world.outsider, organisation=world.org).role == Role.ANALYST
    assert Membership.objects.get(user=world.outsider, organisation=world.other_org).role == (
        Role.ADMIN
    )


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"email": "x@banca.example", "role": "manager"},
            {"unit": ["A unit manager needs the unit they manage."]},
        ),
        (
            {"email": "x@banca.example", "role": "analyst", "unit": "UNIT"},
            {"unit": ["Only unit managers have a unit."]},
        ),
        ({"email": "not-an-email", "role": "analyst"}, {"email": ["Enter a valid email address."]}),
        (
            {"email": "x@banca.example", "role": "owner"},
            {"role": ["Select a valid choice. owner is not one of the available choices."]},
        ),
        (
            {"email": "admin@banca.example", "role": "analyst"},
            {"email": ["you cannot change your own role"]},
        ),
    ],
)
def test_member_form_errors_are_shown_on_their_field_and_nothing_changes(
    world, signed_in, data, errors
):
    if data.get("unit") == "UNIT":
        data = {**data, "unit": world.north.pk}
    users, memberships = User.objects.count(), list(Membership.objects.values_list("pk", "role"))
    response = signed_in(world.admin).post(reverse("accounts:member_add"), data)
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert User.objects.count() == users
    assert list(Membership.objects.values_list("pk", "role")) == memberships


def test_an_admin_changes_a_members_role(world, signed_in):
    membership = Membership.objects.get(user=world.frontline)
    response = signed_in(world.admin).post(
        reverse("accounts:member_change", args=[membership.pk]),
        {"email": "someone.else@banca.example", "role": "manager", "unit": world.north_branch.pk},
    )
    assert response["Location"] == reverse("accounts:members")
    membership.refresh_from_db()
    assert (membership.user_id, membership.role, membership.unit_id) == (
        world.frontline.pk,
        Role.MANAGER,
        world.north_branch.pk,
    )
    event = AuditEvent.objects.get(action="membership.role_changed")
    assert event.detail["previous_role"] == "frontline"


def test_an_admin_removes_a_member_but_not_themselves(world, signed_in):
    client = signed_in(world.admin)
    frontline = Membership.objects.get(user=world.frontline)
    own = Membership.objects.get(user=world.admin, organisation=world.org)
    assert client.post(reverse("accounts:member_remove", args=[frontline.pk])).status_code == 302
    assert not Membership.objects.filter(pk=frontline.pk).exists()
    response = client.post(reverse("accounts:member_remove", args=[own.pk]), follow=True)
    assert "you cannot remove your own membership" in response.content.decode()
    assert Membership.objects.filter(pk=own.pk).exists()


@pytest.mark.parametrize(("role", "status"), [("analyst", 403), ("outsider", 404)])
def test_only_this_organisations_admin_removes_members(world, signed_in, role, status):
    membership = Membership.objects.get(user=world.frontline)
    client = signed_in(world.users_by_role[role])
    assert client.post(reverse("accounts:member_remove", args=[membership.pk])).status_code == (
        status
    )
    assert Membership.objects.filter(pk=membership.pk).exists()


# API tokens ------------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_works(world, signed_in):
    client = signed_in(world.executive)
    response = client.post(reverse("accounts:tokens"), {"name": "Board pack"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    shown = re.search(r'value="(sonda_[^"]+)"', response.content.decode())
    assert shown is not None
    secret = shown.group(1)
    token = api_token_authenticate(secret)
    assert token is not None
    assert (token.name, token.user_id, token.organisation_id) == (
        "Board pack",
        world.executive.pk,
        world.org.pk,
    )
    listing = client.get(reverse("accounts:tokens")).content.decode()
    assert "Board pack" in listing
    assert secret not in listing


def test_a_token_needs_a_name(world, signed_in):
    response = signed_in(world.executive).post(reverse("accounts:tokens"), {"name": "   "})
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert not ApiToken.objects.exists()


def test_the_token_list_shows_only_the_users_own_tokens(world, signed_in):
    api_token_create(scope=world.scope(world.analyst), name="Analyst CRM")
    api_token_create(scope=world.scope(world.admin), name="Admin's")
    html = signed_in(world.analyst).get(reverse("accounts:tokens")).content.decode()
    assert re.findall(r"<tr>\s*<td>([^<]+)</td>", html) == ["Analyst CRM"]


def test_revoking_a_token_stops_it_at_once(world, signed_in):
    issued = api_token_create(scope=world.scope(world.analyst), name="CRM")
    response = signed_in(world.analyst).post(
        reverse("accounts:token_revoke", args=[issued.token.pk]), follow=True
    )
    assert "The token “CRM” is revoked." in response.content.decode()
    assert api_token_authenticate(issued.secret) is None


@pytest.mark.parametrize("role", ["executive", "outsider"])
def test_nobody_else_revokes_a_users_token(world, signed_in, role):
    issued = api_token_create(scope=world.scope(world.analyst), name="CRM")
    response = signed_in(world.users_by_role[role]).post(
        reverse("accounts:token_revoke", args=[issued.token.pk])
    )
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


# Audit log -------------------------------------------------------------------------------------


def test_the_audit_log_is_filtered_by_action_and_paginated(world, signed_in, settings):
    settings.SONDA_PAGE_SIZE = 2
    for _ in range(3):
        audit_record(action="api_token.created", organisation=world.org, actor=world.analyst)
    audit_record(action="customer.merged", organisation=world.org, actor=world.admin)
    audit_record(action="customer.merged", organisation=world.other_org, actor=world.outsider)
    client = signed_in(world.admin)
    html = client.get(reverse("accounts:audit")).content.decode()
    assert re.findall(r'<option value="([^"]*)"', html) == [
        "",
        "api_token.created",
        "customer.merged",
    ]
    assert "4 results" in html
    html = client.get(reverse("accounts:audit"), {"action": "api_token"}).content.decode()
    assert html.count("<code>api_token.created</code>") == 2
    assert "3 results" in html
    assert '<a href="?action=api_token&amp;page=2" rel="next">Next</a>' in html


def test_the_audit_log_takes_the_same_queries_however_many_events(world, signed_in):
    client = signed_in(world.admin)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("accounts:audit"))
        return len(captured)

    audit_record(action="a.one", organisation=world.org, actor=world.analyst)
    few = queries()
    for index in range(30):
        actor = [world.admin, world.analyst, world.executive][index % 3]
        audit_record(action=f"a.{index % 4}", organisation=world.org, actor=actor)
    assert queries() == few == 7


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_member_and_token_lists_take_the_same_queries_however_many_rows(world, signed_in):
    client = signed_in(world.admin)
    members, tokens = reverse("accounts:members"), reverse("accounts:tokens")
    few = (count_queries(client, members), count_queries(client, tokens))
    for index in range(15):
        client.post(
            reverse("accounts:member_add"),
            {"email": f"m{index}@banca.example", "role": "manager", "unit": world.north.pk},
        )
        api_token_create(scope=world.scope(world.admin), name=f"token {index}")
    assert (count_queries(client, members), count_queries(client, tokens)) == few == (5, 5)
