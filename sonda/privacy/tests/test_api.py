from datetime import datetime

import pytest

from sonda.accounts.models import AuditEvent
from sonda.api.testing import CALLERS, PROBLEM, problem_fields
from sonda.customers.models import Customer, CustomerIdentity
from sonda.privacy.tests.conftest import ANA_EMAIL, ANA_PHONE

# Personal data is for administrators: other roles are refused; another organisation's
# administrator does not find the customer.
EXPECTED = {
    "anonymous": 401,
    "outsider": 404,
    "manager_south": 403,
    "frontline": 403,
    "manager_north": 403,
    "executive": 403,
    "analyst": 403,
    "admin": 200,
}


def test_the_matrix_covers_every_caller():
    assert set(EXPECTED) == set(CALLERS)


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_export_a_customer(api, ana, who):
    response = api.as_(who).get(f"/privacy/customers/{ana.pk}/export")
    assert response.status_code == EXPECTED[who], response.content
    exported = AuditEvent.objects.filter(action="customer.exported")
    if who == "admin":
        document = response.json()
        assert document["customer_id"] == ana.pk
        assert [i["value"] for i in document["customers"]["identities"]] == [
            ANA_EMAIL,
            "C-17",
            ANA_PHONE,
        ]
        assert exported.count() == 1
    else:
        assert response["Content-Type"] == PROBLEM
        assert not exported.exists()


@pytest.mark.parametrize("who", CALLERS)
def test_who_may_erase_a_customer(api, ana, who):
    response = api.as_(who).post("/privacy/erasures", {"kind": "email", "value": ANA_EMAIL})
    assert response.status_code == EXPECTED[who], response.content
    customer = Customer.objects.get(pk=ana.pk)
    if who == "admin":
        body = response.json()
        assert body["customer_id"] == ana.pk
        assert body["rows"] == {"customers": 6, "surveys": 0, "listening": 0, "loop": 0}
        assert customer.erased_at is not None
        # The API writes times to the millisecond.
        erased_at = datetime.fromisoformat(body["erased_at"])
        assert erased_at == customer.erased_at.replace(
            microsecond=customer.erased_at.microsecond // 1000 * 1000
        )
    else:
        assert response["Content-Type"] == PROBLEM
        assert customer.erased_at is None
        assert CustomerIdentity.objects.filter(customer=customer).count() == 3
        assert not AuditEvent.objects.filter(action="customer.erased").exists()


def test_an_unknown_customer_number_is_not_found(api, ana):
    response = api.as_("admin").get(f"/privacy/customers/{ana.pk + 1000}/export")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


def test_an_external_id_erases_with_its_source_system(api, ana):
    response = api.as_("admin").post(
        "/privacy/erasures", {"kind": "external", "source": "crm", "value": "C-17"}
    )
    assert response.status_code == 200
    assert response.json()["customer_id"] == ana.pk


def test_a_second_erasure_of_the_same_identity_is_not_found(api, ana):
    admin = api.as_("admin")
    assert admin.post("/privacy/erasures", {"kind": "phone", "value": ANA_PHONE}).status_code == 200
    again = admin.post("/privacy/erasures", {"kind": "phone", "value": ANA_PHONE})
    assert again.status_code == 404
    assert again.json()["detail"] == "No customer has this identity."
    assert AuditEvent.objects.filter(action="customer.erased").count() == 1


@pytest.mark.parametrize(
    ("body", "status", "fields"),
    [
        ({"kind": "email", "value": ANA_EMAIL, "reason": "asked"}, 422, ["reason"]),
        ({"kind": "fax", "value": "1"}, 422, ["kind"]),
        ({"kind": "email"}, 422, ["value"]),
        ({"kind": "email", "value": 17}, 422, ["value"]),
        ({"kind": "email", "value": "x" * 255}, 422, ["value"]),
        ({"kind": "email", "value": "not-an-email"}, 422, ["value"]),
        ({"kind": "external", "value": "C-17"}, 422, ["source"]),
        ({"kind": "phone", "value": "0721 234 567"}, 422, ["value"]),
    ],
)
def test_bad_erasure_requests_name_the_field_and_erase_nothing(api, ana, body, status, fields):
    response = api.as_("admin").post("/privacy/erasures", body)
    assert response.status_code == status, response.content
    assert problem_fields(response) == fields
    assert Customer.objects.get(pk=ana.pk).erased_at is None
    assert CustomerIdentity.objects.filter(customer=ana).count() == 3


def test_malformed_json_is_a_problem_naming_the_body(api, ana):
    response = api.as_("admin").post("/privacy/erasures", raw='{"kind": "email",')
    assert response.status_code == 400
    assert problem_fields(response) == ["body"]
    assert Customer.objects.get(pk=ana.pk).erased_at is None
