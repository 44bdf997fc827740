"""/responses over the API: whole responses from other channels, listed and read in scope."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.customers.models import Customer, CustomerIdentity
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory
from sonda.org.tests.factories import PersonFactory
from sonda.surveys import services
from sonda.surveys.models import Answer, Response
from sonda.surveys.tests.factories import make_program, make_published_survey
from sonda.surveys.tests.responses_helpers import counts, store

SUBMIT = {
    "anonymous": 401,
    # The stranger admin's organisation has no such survey: their request names it.
    "outsider": 422,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 201,
    "admin": 201,
}
# A response at north 1 about the frontline employee's work.
READ = {
    "anonymous": 401,
    "outsider": 404,
    "manager_south": 404,
    "frontline": 200,
    "manager_north": 200,
    "executive": 200,
    "analyst": 200,
    "admin": 200,
}


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def ana(world) -> Customer:
    customer = CustomerFactory(organisation=world.org, full_name="Ana Pop", preferred_language="pl")
    CustomerIdentityFactory(customer=customer, kind="email", value="ana.pop@mail.example")
    return customer


def body(survey, **changes):
    return {
        "survey_id": survey.pk,
        "external_id": "ivr-1001",
        "customer": {"kind": "phone", "value": "+40721234567"},
        "unit_code": "N1",
        "touchpoint": "call centre",
        "channel": "ivr",
        "journey": "mortgage",
        "stage": "application",
        "language": "ro",
        "started_at": "2026-10-05T09:28:00+00:00",
        "completed_at": "2026-10-05T09:30:00+00:00",
        "answers": {"ltr": 3, "reasons": ["waiting", "fees"], "speed": 2, "comment": "Prea lent."},
        **changes,
    }


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_submit_a_response(api, world, survey, who):
    response = api.as_(who).post("/responses", body(survey))

    assert response.status_code == SUBMIT[who]
    stored = Response.objects.filter(organisation=world.org)
    if SUBMIT[who] == 201:
        assert list(stored.values_list("external_id", "source")) == [("ivr-1001", "api")]
    else:
        problem_fields(response)
        assert not stored.exists()
        assert not Answer.objects.exists()
        assert not Customer.objects.exists()
    if who == "outsider":
        assert problem_fields(response) == ["survey_id"]


def test_a_submitted_response_is_stored_with_its_context_and_answers(api, world, survey):
    response = api.as_("analyst").post("/responses", body(survey))

    assert response.status_code == 201
    stored = Response.objects.get()
    customer = CustomerIdentity.objects.get(kind="phone", value="+40721234567").customer
    assert response.json() == {
        "id": stored.pk,
        "survey_id": survey.pk,
        "version": 1,
        "status": "complete",
        "source": "api",
        "external_id": "ivr-1001",
        "customer_id": customer.pk,
        "unit": {"id": world.north_branch.pk, "code": "N1", "name": "North 1"},
        "employee": None,
        "touchpoint": "call centre",
        "channel": "ivr",
        "journey": "mortgage",
        "stage": "application",
        "language": "ro",
        "invitation_id": None,
        "started_at": "2026-10-05T09:28:00Z",
        "completed_at": "2026-10-05T09:30:00Z",
        "answers": [
            {
                "question_key": "ltr",
                "kind": "nps",
                "question": "Cât de probabil este să ne recomandați unui prieten?",
                "value": 3,
                "labels": [],
            },
            {
                "question_key": "reasons",
                "kind": "multi_choice",
                "question": "Ce nu a mers bine?",
                "value": ["waiting", "fees"],
                "labels": ["Timpul de așteptare", "Comisioane"],
            },
            {
                "question_key": "speed",
                "kind": "rating",
                "question": "Cât de repede ați fost servit?",
                "value": 2,
                "labels": [],
            },
            {
                "question_key": "comment",
                "kind": "text",
                "question": "Mai doriți să ne spuneți ceva?",
                "value": "Prea lent.",
                "labels": [],
            },
        ],
    }
    # Every answer row carries the response's context, for analytics.
    assert set(
        Answer.objects.values_list(
            "customer_id", "unit_path", "channel", "touchpoint", "journey", "stage", "language"
        )
    ) == {
        (
            customer.pk,
            world.north_branch.path,
            "ivr",
            "call centre",
            "mortgage",
            "application",
            "ro",
        )
    }


def test_a_repeated_external_id_answers_the_stored_response_and_stores_nothing(api, survey):
    first = api.as_("analyst").post("/responses", body(survey))
    before = (*counts(), Customer.objects.count())

    again = api.as_("admin").post(
        "/responses",
        body(survey, customer={"kind": "email", "value": "someone.else@mail.example"}),
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (*counts(), Customer.objects.count()) == before == (1, 5, 1)


def test_the_same_external_id_in_another_survey_is_another_response(api, world, survey):
    other = make_published_survey(
        world.scope(world.analyst), program=survey.program, name="After a call"
    )
    api.as_("analyst").post("/responses", body(survey))
    response = api.as_("analyst").post("/responses", body(other))
    assert response.status_code == 201
    assert Response.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "fields", "message"),
    [
        ({"answers": {"ltr": 11}}, ["answers.ltr"], "must be a whole number from 0 to 10"),
        ({"answers": {"ltr": 8, "ltrr": 9}}, ["answers.ltrr"], "no such question"),
        (
            {"answers": {"ltr": 2, "reasons": ["weather"]}},
            ["answers.reasons"],
            "'weather' is not one of the options ['waiting', 'staff', 'fees']",
        ),
        (
            {"answers": {"ltr": 9, "comment": "x" * 2001}},
            ["answers.comment"],
            "at most 2000 characters (2001 given)",
        ),
        ({"answers": {"speed": 4}}, ["answers.ltr"], "is required"),
        ({"answers": {"ltr": True}}, ["answers.ltr"], "must be a number"),
        ({"unit_code": "NOWHERE"}, ["unit_code"], "no unit with code NOWHERE"),
        ({"unit_id": 1, "unit_code": "N1"}, ["unit_code"], "give unit_id or unit_code, not both"),
        ({"employee_number": "E-404"}, ["employee_number"], "no employee with number E-404"),
        ({"customer_id": 999_999, "customer": None}, ["customer_id"], "no customer with id 999999"),
        (
            {"customer": {"kind": "phone", "value": "12"}},
            ["customer.value"],
            "'12' is not a phone number",
        ),
        ({"language": "de"}, ["language"], "'de' is not a language of the survey"),
        ({"survey_id": 999_999}, ["survey_id"], "no survey with id 999999"),
        (
            {"completed_at": "2099-01-01T00:00:00+00:00"},
            ["completed_at"],
            "is in the future",
        ),
        (
            {"started_at": "2026-10-05T10:00:00+00:00"},
            ["started_at"],
            "is after completed_at",
        ),
        ({"started_at": "2026-10-05T09:28:00"}, ["started_at"], "Input should have timezone"),
        ({"colour": "blue"}, ["colour"], "unknown field"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(api, survey, changes, fields, message):
    response = api.as_("analyst").post("/responses", body(survey, **changes))

    assert response.status_code == 422
    assert problem_fields(response) == fields
    assert response.json()["errors"][0]["message"].startswith(message)
    # Not even the customer profile that the new phone number would have created.
    assert (*counts(), Customer.objects.count(), CustomerIdentity.objects.count()) == (0, 0, 0, 0)


def test_a_survey_never_published_cannot_be_answered(api, world, survey):
    scope = world.scope(world.analyst)
    draft = services.survey_create(
        scope=scope,
        program_id=survey.program_id,
        name="Still a draft",
        languages=["en"],
        default_language="en",
    )
    response = api.as_("analyst").post("/responses", body(draft, language="en"))
    assert response.status_code == 409
    assert problem_fields(response) == ["survey_id"]
    assert (*counts(), Customer.objects.count()) == (0, 0, 0)


def test_reasons_for_a_high_score_are_not_kept(api, survey):
    response = api.as_("analyst").post(
        "/responses", body(survey, answers={"ltr": 10, "reasons": ["fees"]})
    )
    assert response.status_code == 201
    assert [a["question_key"] for a in response.json()["answers"]] == ["ltr"]
    assert list(Answer.objects.values_list("question_key", flat=True)) == ["ltr"]


def test_the_context_is_resolved_from_the_integrators_words(api, world, survey, ana):
    advisor = PersonFactory(
        organisation=world.org, unit=world.south_branch, employee_number="E-7", full_name="Ion"
    )
    payload = body(survey, customer_id=ana.pk, employee_number="E-7", unit_code="")
    del payload["customer"], payload["language"]

    response = api.as_("analyst").post("/responses", payload)

    assert response.status_code == 201
    stored = Response.objects.get()
    # The employee's unit stands in for the missing unit; Ana reads Polish.
    assert (stored.customer_id, stored.employee_id, stored.unit_id, stored.language) == (
        ana.pk,
        advisor.pk,
        world.south_branch.pk,
        "pl",
    )
    assert response.json()["employee"] == {
        "id": advisor.pk,
        "employee_number": "E-7",
        "full_name": "Ion",
    }
    assert response.json()["answers"][1]["labels"] == ["Czas oczekiwania", "Opłaty"]


def test_a_known_identity_is_the_known_customer(api, survey, ana):
    response = api.as_("analyst").post(
        "/responses", body(survey, customer={"kind": "email", "value": "Ana.Pop@Mail.example"})
    )
    assert response.json()["customer_id"] == ana.pk
    assert Customer.objects.count() == 1


def test_a_merged_customer_id_is_the_surviving_profile(api, world, survey, ana):
    duplicate = CustomerFactory(organisation=world.org, merged_into=ana)
    response = api.as_("analyst").post(
        "/responses", body(survey, customer_id=duplicate.pk, customer=None)
    )
    assert response.json()["customer_id"] == ana.pk


def test_an_anonymous_response_has_no_customer(api, survey):
    response = api.as_("analyst").post("/responses", body(survey, customer=None))
    assert response.json()["customer_id"] is None
    assert not Customer.objects.exists()


@pytest.fixture
def scoped_responses(world, survey):
    """A response about the frontline employee at north 1, and one at south 1."""
    north = store(
        survey,
        unit_id=world.north_branch.pk,
        employee_id=world.frontline_person.pk,
        completed_at=datetime(2026, 10, 5, 9, 30, tzinfo=UTC),
    )
    south = store(
        survey,
        {"ltr": 10},
        unit_id=world.south_branch.pk,
        completed_at=datetime(2026, 10, 6, 9, 30, tzinfo=UTC),
    )
    return north, south


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_read_a_response(api, scoped_responses, who):
    north, _ = scoped_responses
    response = api.as_(who).get(f"/responses/{north.pk}")
    assert response.status_code == READ[who]
    if READ[who] == 200:
        assert response.json()["id"] == north.pk
    else:
        problem_fields(response)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("outsider", []),
        ("manager_south", ["south"]),
        ("frontline", ["north"]),
        ("manager_north", ["north"]),
        ("executive", ["south", "north"]),
        ("analyst", ["south", "north"]),
        ("admin", ["south", "north"]),
    ],
)
def test_who_sees_which_responses_in_the_list(api, scoped_responses, who, sees):
    north, south = scoped_responses
    names = {north.pk: "north", south.pk: "south"}
    response = api.as_(who).get("/responses")
    assert response.status_code == 200
    assert [names[item["id"]] for item in response.json()["items"]] == sees


def test_the_list_needs_a_token(api, scoped_responses):
    response = api.as_("anonymous").get("/responses")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["south", "north"]),
        ({"unit_id": "north"}, ["north"]),
        ({"unit_id": "hq"}, ["south", "north"]),
        ({"status": "complete"}, ["south", "north"]),
        ({"status": "partial"}, []),
        ({"employee_id": "frontline"}, ["north"]),
        ({"has_text": "true"}, ["north"]),
        ({"has_text": "false"}, ["south"]),
        ({"completed_from": "2026-10-06"}, ["south"]),
        ({"completed_to": "2026-10-05"}, ["north"]),
        ({"completed_from": "2026-10-05", "completed_to": "2026-10-05"}, ["north"]),
        ({"language": "pl"}, []),
        ({"channel": "ivr"}, []),
    ],
)
def test_the_list_filters(api, world, scoped_responses, query, expected):
    north, south = scoped_responses
    names = {north.pk: "north", south.pk: "south"}
    ids = {"north": world.north.pk, "hq": world.hq.pk, "frontline": world.frontline_person.pk}
    query = {k: ids.get(v, v) for k, v in query.items()}
    response = api.as_("analyst").get("/responses", **query)
    assert response.status_code == 200
    assert [names[item["id"]] for item in response.json()["items"]] == expected


def test_the_list_filters_by_survey_program_and_customer(api, world, survey, ana):
    scope = world.scope(world.analyst)
    other = make_published_survey(
        scope, program=make_program(scope, name="Call centre"), name="After a call"
    )
    mine = store(survey, customer_id=ana.pk)
    theirs = store(other)
    for query, expected in [
        ({"survey_id": survey.pk}, [mine.pk]),
        ({"survey_id": other.pk}, [theirs.pk]),
        ({"program_id": other.program_id}, [theirs.pk]),
        ({"customer_id": ana.pk}, [mine.pk]),
    ]:
        items = api.as_("analyst").get("/responses", **query).json()["items"]
        assert [item["id"] for item in items] == expected, query


def test_a_bad_filter_names_it(api):
    response = api.as_("analyst").get("/responses", status="finished")
    assert response.status_code == 422
    assert problem_fields(response) == ["status"]


def test_listing_takes_the_same_queries_for_one_response_or_many(api, world, survey):
    store(survey, unit_id=world.north_branch.pk, employee_id=world.frontline_person.pk)
    caller = api.as_("analyst")
    caller.get("/responses")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as one:
        assert caller.get("/responses").status_code == 200
    for _ in range(4):
        store(survey, unit_id=world.south_branch.pk, employee_id=world.frontline_person.pk)
    with CaptureQueriesContext(connection) as five:
        assert len(caller.get("/responses").json()["items"]) == 5
    # The token, the membership, the count and one page of responses with their context.
    assert len(five) == len(one) == 4


def test_reading_a_response_takes_a_fixed_number_of_queries(api, world, survey):
    response = store(survey, unit_id=world.north_branch.pk, employee_id=world.frontline_person.pk)
    caller = api.as_("analyst")
    caller.get(f"/responses/{response.pk}")
    with CaptureQueriesContext(connection) as queries:
        assert caller.get(f"/responses/{response.pk}").status_code == 200
    # The token, the membership, the response with its context, its questions and its answers.
    assert len(queries) == 5
