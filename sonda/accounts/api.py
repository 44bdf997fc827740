"""The caller, their API tokens, the organisation's members and its audit log over the API."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.params.functions import Path, Query
from ninja.responses import Status

from sonda.accounts import selectors, services
from sonda.accounts.models import ApiToken, AuditEvent, Membership
from sonda.accounts.schemas import (
    AuditEventOut,
    MemberOut,
    MemberRoleIn,
    MeOut,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
)
from sonda.api.auth import client_ip, scope_of
from sonda.api.pagination import Page

me_router = Router(tags=["accounts"])
tokens_router = Router(tags=["accounts"])
members_router = Router(tags=["accounts"])
audit_router = Router(tags=["accounts"])


@me_router.get("", response=MeOut, summary="Who am I: user, organisation and role")
def me(request: HttpRequest) -> dict[str, Any]:
    scope = scope_of(request)
    # A unit path ends with the unit's own id: "1.4.9." is unit 9.
    unit_id = int(scope.unit_path.strip(".").split(".")[-1]) if scope.unit_path else None
    return {
        "user": scope.user,
        "organisation": scope.organisation,
        "role": scope.role,
        "unit_id": unit_id,
    }


@tokens_router.get("", response=list[TokenOut], summary="List your API tokens")
@paginate(Page)
def token_list(request: HttpRequest) -> QuerySet[ApiToken]:
    return selectors.api_token_list(scope=scope_of(request))


@tokens_router.post(
    "",
    response={201: TokenCreatedOut},
    summary="Create an API token",
    description="The answer carries the secret; it is shown this once and cannot be read again.",
)
def token_create(request: HttpRequest, payload: TokenCreateIn) -> Status[dict[str, Any]]:
    issued = services.api_token_create(
        scope=scope_of(request),
        name=payload.name,
        expires_at=payload.expires_at,
        ip_address=client_ip(request),
    )
    body = TokenOut.model_validate(issued.token).model_dump()
    return Status(201, {**body, "secret": issued.secret})


@tokens_router.delete("/{token_id}", response={204: None}, summary="Revoke an API token")
def token_delete(request: HttpRequest, token_id: int) -> Status[None]:
    services.api_token_revoke(
        scope=scope_of(request), token_id=token_id, ip_address=client_ip(request)
    )
    return Status(204, None)


@tokens_router.post("/{token_id}/revoke", response=TokenOut, summary="Revoke an API token")
def token_revoke(request: HttpRequest, token_id: int) -> ApiToken:
    return services.api_token_revoke(
        scope=scope_of(request), token_id=token_id, ip_address=client_ip(request)
    )


@members_router.get("", response=list[MemberOut], summary="List the organisation's members")
@paginate(Page)
def member_list(request: HttpRequest) -> QuerySet[Membership]:
    return selectors.membership_list(scope=scope_of(request))


@members_router.put(
    "/{email}",
    response={200: MemberOut, 201: MemberOut},
    summary="Give a user a role, by email",
    description=(
        "Answers 201 when the user becomes a member, 200 when their role changes. Someone "
        "without an account gets one and chooses a password through the password reset."
    ),
)
def member_role_set(
    request: HttpRequest,
    payload: MemberRoleIn,
    email: str = Path(..., max_length=254),
) -> Status[Membership]:
    membership, created = services.member_role_set(
        scope=scope_of(request), email=email, role=payload.role, unit_id=payload.unit_id
    )
    return Status(201 if created else 200, membership)


@audit_router.get("", response=list[AuditEventOut], summary="Read the audit log, newest first")
@paginate(Page)
def audit_event_list(
    request: HttpRequest,
    action: str = Query(
        "", max_length=64, description="Only actions starting with this, e.g. `api_token.`."
    ),
) -> QuerySet[AuditEvent]:
    return selectors.audit_event_list(scope=scope_of(request), action=action)
