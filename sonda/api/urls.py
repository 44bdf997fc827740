"""/api/v1: the NinjaAPI, answering problem+json also for wrong methods and unknown paths."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt

from sonda.api.api import api
from sonda.api.problems import problem


def _method_not_allowed_as_problem(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """ninja answers a method a path does not have in plain text; clients expect a problem."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = ", ".join(sorted(method.strip() for method in response["Allow"].split(",")))
            return problem(
                status=405,
                title="Method Not Allowed",
                detail=f"{request.method} is not allowed here; use {allowed}.",
                headers={"Allow": allowed},
            )
        return response

    return wrapped


@csrf_exempt
def unknown_path(request: HttpRequest, rest: str) -> HttpResponse:
    """Paths the API does not have answer problem+json too, not the HTML 404 page."""
    return problem(status=404, title="Not found", detail="No such resource.")


# Not `app_name`: that name at module level would make this module's include a namespace.
_api_patterns, _api_app_name, _api_namespace = api.urls
for pattern in _api_patterns:
    if isinstance(pattern, URLPattern):
        pattern.callback = _method_not_allowed_as_problem(pattern.callback)

urlpatterns = [
    path("", (_api_patterns, _api_app_name, _api_namespace)),
    re_path(r"^(?P<rest>.*)$", unknown_path),
]
