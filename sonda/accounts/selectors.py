"""Scoped reads of memberships, API tokens and the audit log."""

from django.db.models import QuerySet

from sonda.accounts.access import ADMINISTER, Scope
from sonda.accounts.models import ApiToken, AuditEvent, Membership, Organisation, User


def organisations_for_user(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(memberships__user=user).order_by("name")


def membership_list(*, scope: Scope) -> QuerySet[Membership]:
    scope.require(ADMINISTER, "manage members")
    return (
        Membership.objects.filter(organisation=scope.organisation)
        .select_related("user", "unit")
        .order_by("user__email")
    )


def api_token_list(*, scope: Scope, everyone: bool = False) -> QuerySet[ApiToken]:
    """The user's own tokens; an admin may ask for everyone's in the organisation."""
    tokens = ApiToken.objects.filter(organisation=scope.organisation).select_related("user")
    if not (everyone and scope.is_admin):
        tokens = tokens.filter(user=scope.user)
    return tokens.order_by("-created_at")


def audit_event_list(*, scope: Scope, action: str = "") -> QuerySet[AuditEvent]:
    scope.require(ADMINISTER, "read the audit log")
    events = AuditEvent.objects.filter(organisation=scope.organisation).select_related("actor")
    if action:
        events = events.filter(action__startswith=action)
    return events.order_by("-at", "-id")
