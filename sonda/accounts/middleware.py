"""Attach the signed-in user's Scope (current organisation and role) to each request."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from sonda.accounts.access import Scope, scope_from_membership
from sonda.accounts.models import Membership

SESSION_ORGANISATION_KEY = "sonda_organisation_id"


def current_scope(request: HttpRequest) -> Scope | None:
    """The scope of the organisation chosen in the session, else of the user's oldest membership.

    The oldest membership is usually the user's own organisation; a consultant added to client
    organisations later still lands at home.
    """
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("organisation", "unit", "user").filter(
        user=user
    )
    chosen = request.session.get(SESSION_ORGANISATION_KEY)
    membership = None
    if chosen is not None:
        membership = memberships.filter(organisation_id=chosen).first()
    if membership is None:
        membership = memberships.order_by("created_at", "pk").first()
    return scope_from_membership(membership) if membership is not None else None


class OrganisationScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.scope = current_scope(request)  # type: ignore[attr-defined]
        scope = request.scope  # type: ignore[attr-defined]
        if scope is not None and scope.user.language:
            # The language is chosen per user; anonymous visitors get the browser's choice.
            translation.activate(scope.user.language)
            request.LANGUAGE_CODE = scope.user.language
        return self.get_response(request)
