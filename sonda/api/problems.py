"""RFC 7807 problem+json responses for every API error, each naming the failing field."""

import json
from http import HTTPStatus
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from sonda.core.errors import SondaError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://sonda.dev/problems/"


def problem(
    *,
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    kind: str = "",
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """'body', 'payload', 'identities', 0, 'value' → 'identities[0].value'."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:]
    # ninja nests the body under the parameter's name; it is not part of the client's document.
    if parts and parts[0] == "payload":
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _validation_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    return str(error.get("msg", "is invalid"))


def install_problem_handlers(api: NinjaAPI) -> None:
    """Make every error the API can raise answer as problem+json."""

    @api.exception_handler(SondaError)
    def on_sonda_error(request: HttpRequest, exc: SondaError) -> HttpResponse:
        return problem(
            status=exc.status,
            title=exc.title,
            detail=exc.detail,
            errors=[e.as_dict() for e in exc.errors],
        )

    @api.exception_handler(ValidationError)
    def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {"field": _field_path(e.get("loc", ())), "message": _validation_message(e)}
            for e in exc.errors
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(status=422, title="Validation failed", detail=detail, errors=errors)

    @api.exception_handler(AuthenticationError)
    def on_authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return problem(
            status=401,
            title="Unauthorized",
            detail="Send a valid API token: 'Authorization: Bearer sonda_...'.",
            headers={"WWW-Authenticate": 'Bearer realm="sonda"'},
        )

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        detail = str(exc)
        if exc.status_code == 400 and "parse" in detail.lower():
            return problem(
                status=400,
                title="Malformed request",
                detail="The request body is not valid JSON.",
                errors=[{"field": "body", "message": "is not valid JSON"}],
                kind="malformed-request",
            )
        try:
            title = HTTPStatus(exc.status_code).phrase
        except ValueError:
            title = "Request failed"
        return problem(status=exc.status_code, title=title, detail=detail)

    @api.exception_handler(Http404)
    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(status=404, title="Not found", detail="No such resource.")
