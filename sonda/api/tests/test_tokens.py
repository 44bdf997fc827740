"""/tokens: a user's personal API tokens, their one-time secret, and revocation."""

import pytest
from django.test import Client

from sonda.accounts.models import ApiToken, AuditEvent
from sonda.accounts.services import api_token_create
from sonda.api.testing import CALLERS, Caller, problem_fields

TOKEN_FIELDS = {
    "id",
    "name",
    "prefix",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
    "is_active",
}


def test_creating_a_token_shows_its_secret_once(api, world):
    caller = api.as_("frontline")
    response = caller.post("/tokens", {"name": "My script", "expires_at": "2099-01-31T00:00:00Z"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == TOKEN_FIELDS | {"secret"}
    token = ApiToken.objects.get(pk=body["id"])
    assert (body["name"], body["prefix"], body["is_active"]) == ("My script", token.prefix, True)
    assert body["secret"].startswith(f"sonda_{token.prefix}_")
    assert body["expires_at"] == "2099-01-31T00:00:00Z"
    # Never again: neither the list nor the token itself holds the secret.
    listed = caller.get("/tokens").json()["items"]
    assert all(set(item) == TOKEN_FIELDS for item in listed)
    assert body["secret"] not in ApiToken.objects.values_list("secret_hash", flat=True)
    # And the secret works.
    me = Caller(Client(), body["secret"]).get("/me")
    assert me.json()["user"]["email"] == "frontline@banca.example"


def test_creating_a_token_is_audited(api, world):
    response = api.as_("analyst").post("/tokens", {"name": "Nightly export"})
    event = AuditEvent.objects.get(action="api_token.created", target_id=str(response.json()["id"]))
    assert (event.actor_id, event.target_id, event.ip_address) == (
        world.analyst.pk,
        str(response.json()["id"]),
        "127.0.0.1",
    )
    assert event.detail == {"name": "Nightly export", "prefix": response.json()["prefix"]}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": ""}, "name", "String should have at least 1 character"),
        ({"name": "x" * 101}, "name", "String should have at most 100 characters"),
        (
            {"name": "x", "expires_at": "2020-01-01T00:00:00Z"},
            "expires_at",
            "must be in the future",
        ),
        (
            {"name": "x", "expires_at": "2099-01-01T00:00:00"},
            "expires_at",
            "Input should have timezone info",
        ),
        ({"name": "x", "scopes": ["read"]}, "scopes", "unknown field"),
    ],
)
def test_a_bad_token_request_names_the_field(api, world, body, field, message):
    caller = api.as_("analyst")
    before = ApiToken.objects.count()
    response = caller.post("/tokens", body)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": field, "message": message}]
    assert ApiToken.objects.count() == before


@pytest.mark.parametrize("who", CALLERS)
def test_each_caller_lists_only_their_own_tokens(api, world, who):
    for user in (world.admin, world.frontline):
        api_token_create(scope=world.scope(user), name=f"{user.email} script")
    response = api.as_(who).get("/tokens")
    if who == "anonymous":
        assert response.status_code == 401
        return
    names = [t["name"] for t in response.json()["items"]]
    own = [f"{world.users_by_role[who].email} script"] if who in {"admin", "frontline"} else []
    assert names == [f"tests ({who})", *own]  # newest first


def test_revoking_a_token_with_delete(api, world):
    issued = api_token_create(scope=world.scope(world.analyst), name="old")
    response = api.as_("analyst").delete(f"/tokens/{issued.token.pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None
    assert Caller(Client(), issued.secret).get("/me").status_code == 401
    assert AuditEvent.objects.filter(
        action="api_token.revoked", target_id=str(issued.token.pk)
    ).exists()


def test_revoking_a_token_with_post_answers_it(api, world):
    issued = api_token_create(scope=world.scope(world.analyst), name="old")
    response = api.as_("analyst").post(f"/tokens/{issued.token.pk}/revoke")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["is_active"]) == (issued.token.pk, False)
    assert response.json()["revoked_at"] is not None


def test_revoking_twice_keeps_the_first_revocation(api, world):
    issued = api_token_create(scope=world.scope(world.analyst), name="old")
    caller = api.as_("analyst")
    first = caller.post(f"/tokens/{issued.token.pk}/revoke").json()["revoked_at"]
    again = caller.post(f"/tokens/{issued.token.pk}/revoke").json()["revoked_at"]
    assert first == again
    assert AuditEvent.objects.filter(action="api_token.revoked").count() == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("outsider", 404),
        ("manager_south", 404),
        ("frontline", 404),
        ("manager_north", 404),
        ("executive", 404),
        ("analyst", 404),
        ("admin", 204),
    ],
)
def test_only_an_admin_revokes_someone_elses_token(api, world, who, status):
    issued = api_token_create(scope=world.scope(world.manager_north), name="north's")
    if who == "manager_north":
        # Their own token is theirs to revoke; here they try a colleague's instead.
        issued = api_token_create(scope=world.scope(world.manager_south), name="south's")
    response = api.as_(who).delete(f"/tokens/{issued.token.pk}")
    assert response.status_code == status
    assert (ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None) == (status == 204)
    if status != 204:
        problem_fields(response)


def test_listing_tokens_takes_the_same_queries_however_many_there_are(
    api, world, django_assert_max_num_queries
):
    for n in range(20):
        api_token_create(scope=world.scope(world.analyst), name=f"script {n}")
    caller = api.as_("analyst")
    caller.get("/tokens")
    with django_assert_max_num_queries(5):
        response = caller.get("/tokens", limit=500)
    assert response.json()["count"] == 21
