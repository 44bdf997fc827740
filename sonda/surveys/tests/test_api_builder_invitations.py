"""/invitations: an integrator asks for a customer's personal survey link."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.customers.models import Customer, CustomerIdentity
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory
from sonda.listening.models import Invitation
from sonda.org.tests.factories import PersonFactory, UnitFactory
from sonda.surveys import services
from sonda.surveys.specs import spec_from_json
from sonda.surveys.tests.factories import QUESTIONS, make_published_survey

CREATE = {
    "anonymous": 401,
    "outsider": 422,  # their own organisation has no such survey
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 201,
    "admin": 201,
}
READ = {**CREATE, "outsider": 404, "analyst": 200, "admin": 200}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def customer(world):
    customer = CustomerFactory(organisation=world.org, full_name="Ioana Popescu")
    CustomerIdentityFactory(customer=customer, kind="email", value="ioana@mail.example")
    return customer


def counts():
    return (Invitation.objects.count(), Customer.objects.count())


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_invite(api, world, survey, customer, who):
    response = api.as_(who).post(
        "/invitations", {"survey_id": survey.pk, "customer_id": customer.pk}
    )
    assert response.status_code == CREATE[who]
    assert Invitation.objects.count() == (1 if CREATE[who] == 201 else 0)
    if who == "outsider":
        assert problem_fields(response) == ["survey_id"]


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_an_invitation(api, world, survey, customer, who):
    created = api.as_("analyst").post(
        "/invitations", {"survey_id": survey.pk, "customer_id": customer.pk}
    )
    response = api.as_(who).get(f"/invitations/{created.json()['id']}")
    assert response.status_code == READ[who]
    if response.status_code == 200:
        assert response.json() == created.json()
    else:
        problem_fields(response)


def test_an_invitation_by_a_new_identity_creates_the_customer_and_carries_the_context(
    api, world, survey
):
    before = timezone.now()
    response = api.as_("analyst").post(
        "/invitations",
        {
            "survey_id": survey.pk,
            "customer": {"kind": "phone", "value": "0721 234 567", "region": "RO"},
            "language": "ro",
            "unit_id": world.north_branch.pk,
            "employee_id": world.frontline_person.pk,
            "touchpoint": "cash desk",
            "channel": "sms",
            "journey": "mortgage",
            "stage": "application",
            "external_ref": "visit-1",
        },
    )
    assert response.status_code == 201
    invitation = Invitation.objects.get()
    identity = CustomerIdentity.objects.get(value="+40721234567")
    body = response.json()
    assert body == {
        "id": invitation.pk,
        "survey_id": survey.pk,
        "customer_id": identity.customer_id,
        "url": f"http://testserver/s/{invitation.token}/",
        "language": "ro",
        "unit_id": world.north_branch.pk,
        "employee_id": world.frontline_person.pk,
        "touchpoint": "cash desk",
        "channel": "sms",
        "journey": "mortgage",
        "stage": "application",
        "status": "created",
        "external_ref": "visit-1",
        "expires_at": body["expires_at"],
        "created_at": body["created_at"],
    }
    assert len(invitation.token) == 43  # 256 bits
    assert before + timedelta(days=14) <= invitation.expires_at
    assert invitation.expires_at <= timezone.now() + timedelta(days=14)


def test_a_known_identity_invites_the_customer_who_holds_it(api, survey, customer):
    response = api.as_("analyst").post(
        "/invitations",
        {
            "survey_id": survey.pk,
            "customer": {"kind": "email", "value": "IOANA@mail.example"},
            "valid_days": 3,
        },
    )
    assert response.status_code == 201
    invitation = Invitation.objects.get()
    assert invitation.customer == customer
    assert Customer.objects.count() == 1
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        timedelta(days=3), abs=timedelta(seconds=5)
    )


def test_a_merged_profile_invites_the_profile_that_stands_for_it(api, world, survey, customer):
    duplicate = CustomerFactory(organisation=world.org, merged_into=customer)
    response = api.as_("admin").post(
        "/invitations", {"survey_id": survey.pk, "customer_id": duplicate.pk}
    )
    assert response.json()["customer_id"] == customer.pk


def test_a_retry_with_the_same_reference_answers_the_first_invitation(api, survey, customer):
    body = {"survey_id": survey.pk, "customer_id": customer.pk, "external_ref": "call-77"}
    first = api.as_("analyst").post("/invitations", body)
    again = api.as_("admin").post("/invitations", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Invitation.objects.count() == 1
    other = api.as_("analyst").post("/invitations", {**body, "external_ref": "call-78"})
    assert other.status_code == 201
    assert Invitation.objects.count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer_id": None}, "customer"),
        ({"customer": {"kind": "email", "value": "new@mail.example"}}, "customer"),
        ({"customer_id": 999_999}, "customer_id"),
        (
            {"customer_id": None, "customer": {"kind": "email", "value": "not-an-email"}},
            "customer.value",
        ),
        ({"language": "de"}, "language"),
        ({"unit_id": 999_999}, "unit_id"),
        ({"employee_id": 999_999}, "employee_id"),
        ({"survey_id": 999_999}, "survey_id"),
        ({"valid_days": 0}, "valid_days"),
        ({"valid_days": 91}, "valid_days"),
        ({"channel": "x" * 33}, "channel"),
        ({"token": "chosen"}, "token"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(api, survey, customer, change, field):
    body = {"survey_id": survey.pk, "customer_id": customer.pk, **change}
    body = {key: value for key, value in body.items() if value is not None}
    response = api.as_("analyst").post("/invitations", body)
    assert response.status_code == 422
    assert problem_fields(response) == [field]
    assert counts() == (0, 1)


def test_a_new_identity_is_not_kept_when_the_invitation_is_refused(api, survey):
    response = api.as_("analyst").post(
        "/invitations",
        {
            "survey_id": survey.pk,
            "customer": {"kind": "email", "value": "new@mail.example"},
            "language": "de",
        },
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["language"]
    assert counts() == (0, 0)


def test_another_organisations_customers_units_and_people_are_refused(api, world, survey):
    stranger = CustomerFactory(organisation=world.other_org)
    unit = UnitFactory(organisation=world.other_org, code="X1")
    person = PersonFactory(organisation=world.other_org, unit=unit)
    caller = api.as_("analyst")
    for change, field in (
        ({"customer_id": stranger.pk}, "customer_id"),
        ({"unit_id": unit.pk}, "unit_id"),
        ({"employee_id": person.pk}, "employee_id"),
    ):
        own = CustomerFactory(organisation=world.org)
        response = caller.post(
            "/invitations", {"survey_id": survey.pk, "customer_id": own.pk, **change}
        )
        assert problem_fields(response) == [field]
    assert not Invitation.objects.exists()


def test_only_a_published_survey_that_is_not_archived_takes_invitations(
    api, world, survey, customer
):
    scope = world.scope(world.analyst)
    draft_only = services.survey_create(
        scope=scope,
        program_id=survey.program_id,
        name="Not yet",
        languages=["en", "ro", "pl"],
        default_language="en",
        questions=[spec_from_json(QUESTIONS[0], index=0)],
    )
    caller = api.as_("analyst")
    response = caller.post("/invitations", {"survey_id": draft_only.pk, "customer_id": customer.pk})
    assert [e["message"] for e in response.json()["errors"]] == [
        "the survey has no published version"
    ]
    services.survey_update(scope=scope, survey_id=survey.pk, is_archived=True)
    response = caller.post("/invitations", {"survey_id": survey.pk, "customer_id": customer.pk})
    assert [e["message"] for e in response.json()["errors"]] == ["the survey is archived"]
    assert not Invitation.objects.exists()


def test_an_unknown_invitation_is_not_found(api):
    response = api.as_("analyst").get("/invitations/999999")
    assert response.status_code == 404
