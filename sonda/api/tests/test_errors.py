"""Every error the API answers is RFC 7807 problem+json naming the place that is wrong."""

import pytest

from sonda.api.testing import problem_fields
from sonda.org.models import Unit


def test_malformed_json_is_a_bad_request(api, world):
    response = api.as_("analyst").post("/units", raw='{"code": "N2", ')
    assert response.status_code == 400
    assert response.json() == {
        "type": "https://sonda.dev/problems/malformed-request",
        "title": "Malformed request",
        "status": 400,
        "detail": "The request body is not valid JSON.",
        "errors": [{"field": "body", "message": "is not valid JSON"}],
    }
    assert Unit.objects.count() == 5


@pytest.mark.parametrize("raw", ["", "[]", '"units"', "null"])
def test_a_body_that_is_not_an_object_names_the_body(api, world, raw):
    response = api.as_("analyst").post("/units", raw=raw)
    assert response.status_code == 422
    assert problem_fields(response) == ["body"]
    assert Unit.objects.count() == 5


def test_missing_fields_are_each_named(api, world):
    response = api.as_("analyst").post("/units", {"code": "N2"})
    assert response.status_code == 422
    assert response.json() == {
        "type": "https://sonda.dev/problems/validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "name: is required; unit_type_id: is required",
        "errors": [
            {"field": "name", "message": "is required"},
            {"field": "unit_type_id", "message": "is required"},
        ],
    }


def test_wrong_types_and_unknown_fields_are_named_together(api, world):
    response = api.as_("analyst").post(
        "/units", {"code": "N2", "name": "North 2", "unit_type_id": "branch", "colour": "red"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "unit_type_id",
            "message": "Input should be a valid integer, unable to parse string as an integer",
        },
        {"field": "colour", "message": "unknown field"},
    ]
    assert Unit.objects.count() == 5


def test_an_over_long_value_is_refused(api, world):
    response = api.as_("analyst").post(
        "/units", {"code": "N" * 65, "name": "North 2", "unit_type_id": world.north.unit_type_id}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "code", "message": "String should have at most 64 characters"}
    ]


def test_a_blank_value_is_refused_as_too_short(api, world):
    response = api.as_("analyst").post(
        "/units", {"code": "   ", "name": "North 2", "unit_type_id": world.north.unit_type_id}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["code"]


def test_a_path_id_that_is_not_a_number_is_named(api, world):
    response = api.as_("analyst").get("/units/north")
    assert response.status_code == 422
    assert problem_fields(response) == ["unit_id"]


def test_an_unknown_id_is_not_found(api, world):
    response = api.as_("analyst").get("/units/999999")
    assert response.status_code == 404
    assert response.json() == {
        "type": "https://sonda.dev/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No such unit.",
    }


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_path_answers_problem_json(api, method):
    caller = api.as_("analyst")
    response = getattr(caller, method)("/no-such-thing")
    assert response.status_code == 404
    assert response.json()["title"] == "Not found"
    problem_fields(response)


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": 501}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset")],
)
def test_page_bounds_are_checked(api, world, query, field):
    response = api.as_("analyst").get("/units", **query)
    assert response.status_code == 422
    assert problem_fields(response) == [field]


def test_the_largest_page_is_allowed(api, world):
    response = api.as_("analyst").get("/units", limit=500)
    assert response.status_code == 200
    assert response.json()["count"] == 5


def test_a_role_that_may_not_act_is_forbidden_with_a_reason(api, world):
    response = api.as_("executive").post("/unit-types", {"code": "team", "name": "Team"})
    assert response.status_code == 403
    assert response.json() == {
        "type": "https://sonda.dev/problems/forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "Your role (executive) may not configure unit types.",
    }


def test_a_method_a_path_does_not_have_is_a_problem(api, world):
    response = api.as_("analyst").put("/units", {"code": "N2"})
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert response.json()["detail"] == "PUT is not allowed here; use GET, POST."
    problem_fields(response)
