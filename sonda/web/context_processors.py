"""Template context every page needs: the user's scope, their organisations, the navigation."""

from typing import Any

from django.http import HttpRequest

from sonda.accounts.selectors import organisations_for_user
from sonda.web.navigation import coming_soon, main_navigation
from sonda.web.pages import scope_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    scope = scope_of(request)
    if scope is None:
        return {"scope": None, "organisations": [], "navigation": [], "coming_soon": []}
    return {
        "scope": scope,
        "organisations": organisations_for_user(scope.user),
        "navigation": main_navigation(scope=scope, path=request.path),
        "coming_soon": coming_soon(),
    }
