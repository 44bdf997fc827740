"""API authentication: personal tokens (Bearer) or the signed-in browser session."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from sonda.accounts.access import Scope, scope_for
from sonda.accounts.middleware import current_scope
from sonda.accounts.services import api_token_authenticate


class TokenAuth(HttpBearer):
    """`Authorization: Bearer sonda_…`: the token's user, in the token's organisation."""

    def authenticate(self, request: HttpRequest, token: str) -> Scope | None:
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        # The membership is read on every call: a removed member's tokens stop working at once.
        return scope_for(api_token.user, api_token.organisation)


class SessionAuth(APIKeyCookie):
    """The browser session (pages calling the API with htmx); CSRF is checked for writes."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session there is nothing for CSRF to protect, and a client whose token was
        # refused must hear 401 (send a valid token), not a CSRF 403.
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Scope | None:
        if key is None:
            return None
        # The scope middleware has already read the session's membership for this request.
        scope = getattr(request, "scope", None)
        if isinstance(scope, Scope):
            return scope
        return current_scope(request)


def scope_of(request: HttpRequest) -> Scope:
    """The Scope that authentication put on the request."""
    auth: Any = getattr(request, "auth", None)
    if not isinstance(auth, Scope):
        raise TypeError("endpoint reached without an authenticated scope")
    return auth


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address as the server saw it, for the audit log."""
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None
