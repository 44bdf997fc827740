"""The OpenAPI document is committed, so that a change to the API never goes unnoticed."""

import json
from io import StringIO

from django.conf import settings
from django.core.management import call_command

COMMITTED = settings.BASE_DIR / "docs" / "openapi.json"
STALE = "docs/openapi.json differs from the API: run `make openapi` and commit the result"


def test_the_served_document_is_the_committed_one(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(COMMITTED.read_text()), STALE


def test_the_export_command_writes_the_committed_file_exactly(db):
    out = StringIO()
    call_command("export_openapi", stdout=out)
    assert out.getvalue() == COMMITTED.read_text(), STALE


LISTS = [
    "/api/v1/units",
    "/api/v1/unit-types",
    "/api/v1/people",
    "/api/v1/customers",
    "/api/v1/customers/{customer_id}/merges",
    "/api/v1/tokens",
    "/api/v1/members",
    "/api/v1/audit-events",
    "/api/v1/programs",
    "/api/v1/surveys",
    "/api/v1/surveys/{survey_id}/versions",
    "/api/v1/surveys/{survey_id}/open-links",
    "/api/v1/responses",
    "/api/v1/events",
    "/api/v1/trigger-rules",
    "/api/v1/contact-rules",
    "/api/v1/listening/non-responders",
]


def test_every_list_is_paginated(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in LISTS:
        get = paths[path]["get"]
        schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].startswith("#/components/schemas/Paged"), path
        assert {"limit", "offset"} <= {p["name"] for p in get["parameters"]}, path
