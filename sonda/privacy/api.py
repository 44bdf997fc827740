"""Personal-data endpoints: export what is held about a customer, erase a customer."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from sonda.api.auth import client_ip, scope_of
from sonda.api.schemas import InputSchema
from sonda.customers.models import IdentityKind
from sonda.privacy.services import ErasureResult, customer_data_export, customer_erase

router = Router(tags=["privacy"])


class ErasureIn(InputSchema):
    kind: IdentityKind = Field(
        description="How the customer is identified: email, phone, external."
    )
    value: str = Field(
        min_length=1,
        max_length=254,
        description="The email, the phone in E.164 (+40721234567), or the external id.",
    )
    source: str = Field(
        "", max_length=40, description="The source system of an external id: `crm`, `billing`..."
    )


class ErasureOut(Schema):
    customer_id: int
    erased_at: datetime
    rows: dict[str, int] = Field(description="Rows erased or anonymised per personal-data source.")


@router.get(
    "/customers/{customer_id}/export",
    response=dict[str, Any],
    summary="Export everything held about a customer",
    description=(
        "Administrators only. One entry per personal-data source (`customers`, and each app that "
        "holds data about customers), besides `customer_id`, `exported_at` and `organisation`. "
        "Audited as `customer.exported`."
    ),
)
def customer_export(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    return customer_data_export(
        scope=scope_of(request), customer_id=customer_id, ip_address=client_ip(request)
    )


@router.post(
    "/erasures",
    response=ErasureOut,
    summary="Erase a customer found by any identity",
    description=(
        "Administrators only. Identities and profile data are removed; what must stay for "
        "statistics is kept anonymous. Audited as `customer.erased` without the identity. "
        "A second erasure of the same identity answers 404: nobody holds it any more."
    ),
)
def erasure_create(request: HttpRequest, payload: ErasureIn) -> ErasureResult:
    return customer_erase(
        scope=scope_of(request),
        kind=payload.kind.value,
        value=payload.value,
        source=payload.source,
        ip_address=client_ip(request),
    )
