"""/members and /audit-events: an admin's view of who may do what, and of what was done."""

import pytest

from sonda.accounts.models import AuditEvent, Membership, User
from sonda.accounts.services import audit_record
from sonda.api.testing import problem_fields

ADMIN_ONLY = [
    ("anonymous", 401),
    ("manager_south", 403),
    ("frontline", 403),
    ("manager_north", 403),
    ("executive", 403),
    ("analyst", 403),
    ("admin", 200),
]


@pytest.mark.parametrize(("who", "status"), ADMIN_ONLY)
def test_only_an_admin_lists_the_members(api, world, who, status):
    response = api.as_(who).get("/members")
    assert response.status_code == status
    if status == 200:
        emails = [m["user"]["email"] for m in response.json()["items"]]
        assert emails == sorted(u.email for k, u in world.users_by_role.items() if k != "outsider")
    else:
        problem_fields(response)


def test_the_stranger_admin_lists_only_their_own_members(api, world):
    items = api.as_("outsider").get("/members").json()["items"]
    assert [m["user"]["email"] for m in items] == ["admin@other.example"]


def test_a_member_is_listed_with_role_and_unit(api, world):
    items = api.as_("admin").get("/members").json()["items"]
    north = next(m for m in items if m["user"]["email"] == "north@banca.example")
    membership = Membership.objects.get(user=world.manager_north)
    assert north == {
        "id": membership.pk,
        "user": {
            "id": world.manager_north.pk,
            "email": "north@banca.example",
            "full_name": world.manager_north.full_name,
            "language": "en",
        },
        "role": "manager",
        "unit_id": world.north.pk,
        "created_at": north["created_at"],
    }


@pytest.mark.parametrize(("who", "status"), ADMIN_ONLY)
def test_only_an_admin_changes_a_role(api, world, who, status):
    response = api.as_(who).put("/members/frontline@banca.example", {"role": "analyst"})
    assert response.status_code == status
    role = Membership.objects.get(organisation=world.org, user=world.frontline).role
    assert role == ("analyst" if status == 200 else "frontline")


def test_changing_a_role_is_audited(api, world):
    response = api.as_("admin").put(
        "/members/frontline@banca.example", {"role": "manager", "unit_id": world.south.pk}
    )
    assert response.status_code == 200
    assert (response.json()["role"], response.json()["unit_id"]) == ("manager", world.south.pk)
    event = AuditEvent.objects.get(action="membership.role_changed")
    assert (event.actor_id, event.organisation_id) == (world.admin.pk, world.org.pk)
    assert event.detail == {
        "user": "frontline@banca.example",
        "role": "manager",
        "previous_role": "frontline",
        "unit": "S",
    }


def test_a_new_email_becomes_a_member_without_a_password(api, world):
    response = api.as_("admin").put("/members/New.Colleague@Banca.example", {"role": "executive"})
    assert response.status_code == 201
    user = User.objects.get(email="new.colleague@banca.example")
    assert not user.has_usable_password()
    membership = Membership.objects.get(organisation=world.org, user=user)
    assert (response.json()["id"], membership.role) == (membership.pk, "executive")


def test_the_stranger_admin_adds_members_to_their_own_organisation_only(api, world):
    response = api.as_("outsider").put("/members/analyst@banca.example", {"role": "admin"})
    assert response.status_code == 201
    assert Membership.objects.get(organisation=world.org, user=world.analyst).role == "analyst"
    assert Membership.objects.get(organisation=world.other_org, user=world.analyst).role == "admin"


@pytest.mark.parametrize(
    ("email", "body", "field"),
    [
        ("frontline@banca.example", {"role": "manager"}, "unit_id"),
        ("frontline@banca.example", {"role": "analyst", "unit_id": 1}, "unit_id"),
        ("frontline@banca.example", {"role": "owner"}, "role"),
        ("frontline@banca.example", {"role": "analyst", "note": "x"}, "note"),
        ("not-an-email", {"role": "analyst"}, "email"),
        ("admin@banca.example", {"role": "analyst"}, "email"),
    ],
)
def test_a_bad_role_change_names_the_field_and_changes_nothing(api, world, email, body, field):
    before = list(Membership.objects.order_by("pk").values_list("pk", "role", "unit_id"))
    users = User.objects.count()
    response = api.as_("admin").put(f"/members/{email}", body)
    assert response.status_code in {409, 422}
    assert problem_fields(response) == [field]
    assert list(Membership.objects.order_by("pk").values_list("pk", "role", "unit_id")) == before
    assert User.objects.count() == users


def test_a_manager_cannot_be_given_another_organisations_unit(api, world):
    from_other = api.as_("outsider").put(
        "/members/frontline@banca.example", {"role": "manager", "unit_id": world.north.pk}
    )
    assert from_other.status_code == 422
    assert problem_fields(from_other) == ["unit_id"]
    assert not Membership.objects.filter(organisation=world.other_org, user=world.frontline)


def test_listing_members_takes_the_same_queries_however_many_there_are(
    api, world, django_assert_max_num_queries
):
    caller = api.as_("admin")
    for n in range(20):
        caller.put(f"/members/colleague{n}@banca.example", {"role": "executive"})
    with django_assert_max_num_queries(5):
        response = caller.get("/members", limit=500)
    assert response.json()["count"] == 26


@pytest.mark.parametrize(("who", "status"), ADMIN_ONLY)
def test_only_an_admin_reads_the_audit_log(api, world, who, status):
    response = api.as_(who).get("/audit-events")
    assert response.status_code == status


def test_the_audit_log_is_filtered_by_action_prefix_newest_first(api, world):
    audit_record(action="login.succeeded", organisation=world.org, actor=world.analyst)
    audit_record(action="login.failed", organisation=world.org, actor=None, detail={"n": 1})
    audit_record(action="login.succeeded", organisation=world.other_org, actor=world.outsider)
    body = api.as_("admin").get("/audit-events", action="login.").json()
    assert body["count"] == 2
    newest, oldest = body["items"]
    assert (newest["action"], newest["actor_email"], newest["detail"]) == (
        "login.failed",
        None,
        {"n": 1},
    )
    assert (oldest["action"], oldest["actor_email"]) == ("login.succeeded", "analyst@banca.example")


def test_the_stranger_admin_reads_only_their_own_audit_log(api, world):
    audit_record(action="login.succeeded", organisation=world.org, actor=world.analyst)
    body = api.as_("outsider").get("/audit-events").json()
    # Only their own token's creation is in their organisation's log.
    assert [e["action"] for e in body["items"]] == ["api_token.created"]
    assert body["items"][0]["actor_email"] == "admin@other.example"


def test_listing_the_audit_log_takes_the_same_queries_however_long_it_is(
    api, world, django_assert_max_num_queries
):
    for _ in range(30):
        audit_record(action="login.succeeded", organisation=world.org, actor=world.analyst)
    caller = api.as_("admin")
    caller.get("/audit-events")
    with django_assert_max_num_queries(5):
        response = caller.get("/audit-events", limit=500)
    assert response.json()["count"] == 31
