"""Who the API lets in: personal tokens, the browser session, and what stops either working."""

from datetime import timedelta

import pytest
from django.middleware.csrf import CSRF_ALLOWED_CHARS
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from conftest import PASSWORD
from sonda.accounts.models import ApiToken, Membership
from sonda.accounts.services import api_token_create
from sonda.api.testing import Caller, problem_fields
from sonda.org.models import Unit
from sonda.org.tests.factories import UnitFactory


def test_a_token_lets_its_user_in_as_their_role(api, world):
    response = api.as_("manager_north").get("/me")
    assert response.status_code == 200
    assert response.json() == {
        "user": {
            "id": world.manager_north.pk,
            "email": "north@banca.example",
            "full_name": world.manager_north.full_name,
            "language": "en",
        },
        "organisation": {"id": world.org.pk, "name": "Banca Demo", "slug": "banca"},
        "role": "manager",
        "unit_id": world.north.pk,
    }


@pytest.mark.parametrize(
    ("who", "role"),
    [
        ("admin", "admin"),
        ("analyst", "analyst"),
        ("executive", "executive"),
        ("frontline", "frontline"),
        ("outsider", "admin"),
    ],
)
def test_me_says_the_role_in_the_tokens_organisation(api, world, who, role):
    body = api.as_(who).get("/me").json()
    assert (body["role"], body["unit_id"]) == (role, None)
    expected = world.other_org if who == "outsider" else world.org
    assert body["organisation"]["id"] == expected.pk


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer sonda_nope",
        "Bearer not-a-sonda-token",
        "Token sonda_x",
        "Basic YWRtaW46YWRtaW4=",
    ],
)
def test_a_request_without_a_valid_token_is_unauthorised(client, world, header):
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="sonda"'
    assert response.json()["title"] == "Unauthorized"
    problem_fields(response)


def test_a_revoked_token_is_unauthorised(api, world):
    caller = api.as_("analyst")
    token = ApiToken.objects.get(user=world.analyst)
    assert caller.post(f"/tokens/{token.pk}/revoke").status_code == 200
    assert caller.get("/me").status_code == 401


def test_an_expired_token_is_unauthorised(world):
    issued = api_token_create(
        scope=world.scope(world.analyst),
        name="short-lived",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    caller = Caller(Client(), issued.secret)
    assert caller.get("/me").status_code == 200
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert caller.get("/me").status_code == 401


def test_the_token_of_a_removed_member_is_unauthorised_at_once(api, world):
    caller = api.as_("analyst")
    assert caller.get("/units").status_code == 200
    Membership.objects.filter(user=world.analyst, organisation=world.org).delete()
    response = caller.get("/units")
    assert response.status_code == 401
    assert ApiToken.objects.filter(user=world.analyst).count() == 1


def test_the_token_of_a_deactivated_user_is_unauthorised(api, world):
    caller = api.as_("analyst")
    world.analyst.is_active = False
    world.analyst.save()
    assert caller.get("/me").status_code == 401


def test_a_refused_token_on_a_write_is_unauthorised_not_a_csrf_failure(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/units",
        "{}",
        content_type="application/json",
        headers={"Authorization": "Bearer sonda_revoked"},
    )
    assert response.status_code == 401


def test_a_token_writes_without_csrf(api, world):
    issued = api_token_create(scope=world.scope(world.analyst), name="integration")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/unit-types",
        '{"code": "team", "name": "Team"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {issued.secret}"},
    )
    assert response.status_code == 201


def test_a_token_records_when_it_was_last_used(api, world):
    api.as_("analyst").get("/me")
    assert ApiToken.objects.get(user=world.analyst).last_used_at is not None


def test_a_token_acts_in_its_own_organisation_only(world):
    # The analyst is also the admin of the other bank; their token there sees that bank only.
    Membership.objects.create(organisation=world.other_org, user=world.analyst, role="admin")
    theirs = UnitFactory(organisation=world.other_org, code="OTHER")
    issued = api_token_create(scope=world.scope(world.analyst, world.other_org), name="other")
    caller = Caller(Client(), issued.secret)
    assert [u["code"] for u in caller.get("/units").json()["items"]] == ["OTHER"]
    assert caller.get(f"/units/{world.north.pk}").status_code == 404
    assert caller.get(f"/units/{theirs.pk}").status_code == 200


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    assert client.login(email=user.email, password=PASSWORD)
    return client


def test_the_browser_session_reads_the_api(world):
    response = signed_in(world.executive).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["role"] == "executive"


def test_a_session_write_without_the_csrf_token_is_forbidden(world):
    client = signed_in(world.analyst)
    response = client.post(
        "/api/v1/units",
        {"code": "N2", "name": "North 2", "unit_type_id": world.north.unit_type_id},
        content_type="application/json",
    )
    assert response.status_code == 403
    problem_fields(response)
    assert not Unit.objects.filter(code="N2").exists()


def test_a_session_write_with_the_csrf_token_is_accepted(world):
    client = signed_in(world.analyst)
    # What a page gives the browser: a CSRF cookie, echoed in a header by the page's script.
    token = get_random_string(32, CSRF_ALLOWED_CHARS)
    client.cookies["csrftoken"] = token
    response = client.post(
        "/api/v1/units",
        {"code": "N2", "name": "North 2", "unit_type_id": world.north.unit_type_id},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201
    assert Unit.objects.filter(organisation=world.org, code="N2").exists()


def test_a_session_without_membership_is_unauthorised(world):
    Membership.objects.filter(user=world.analyst).delete()
    response = signed_in(world.analyst).get("/api/v1/me")
    assert response.status_code == 401
