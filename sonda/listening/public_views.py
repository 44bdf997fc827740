"""Public pages and hooks of listening: no login. Thin: the services decide, these translate.

Both are exempt from CSRF because their callers cannot carry a CSRF token: a mail client's RFC 8058
one-click unsubscribe POSTs to the List-Unsubscribe address with nothing but
`List-Unsubscribe=One-Click`, and an SMS provider posts receipts server to server. What proves
them instead is a signature: the unsubscribe token is signed by this site, the receipts carry an
HMAC of "<timestamp>.<body>" made with the shared webhook secret.
"""

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sonda.api.problems import problem
from sonda.core.errors import NotFound
from sonda.customers.models import Consent
from sonda.listening.delivery import RECEIPT_STATUSES, receipt_record
from sonda.listening.emails import LANGUAGES
from sonda.listening.unsubscribe import (
    BadToken,
    unsubscribe_customer,
    unsubscribe_read,
    unsubscribe_record,
)
from sonda.surveys.pages import look_of

RECEIPT_MAX_AGE_SECONDS = 5 * 60
SIGNATURE_PREFIX = "sha256="


def _language(*codes: str) -> str:
    for code in codes:
        base = (code or "").lower().split("-")[0]
        if base in LANGUAGES:
            return base
    return "en"


def _page(
    request: HttpRequest, *, state: str, language: str, status: int = 200, **extra: Any
) -> HttpResponse:
    with translation.override(language):
        response = render(
            request,
            f"listening/unsubscribe_{language}.html",
            {"state": state, "page_language": language, **extra},
            status=status,
        )
    response["Content-Language"] = language
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (a link scanner following the link unsubscribes no one); POST, from the
    page's button or a mail client's one-click, withdraws the email consent. Idempotent."""
    try:
        wish = unsubscribe_read(token)
    except BadToken:
        return _page(
            request, state="invalid", language=_language(request.LANGUAGE_CODE), status=400
        )
    customer = unsubscribe_customer(wish)
    if customer is None:
        return _page(request, state="gone", language=_language(wish.language), status=404)
    language = _language(customer.preferred_language, wish.language)
    look = look_of(customer.organisation)
    if request.method == "POST":
        unsubscribe_record(customer=customer, channel=wish.channel)
        return _page(request, state="done", language=language, look=look)
    withdrawn = Consent.objects.filter(
        customer=customer, channel=wish.channel, granted=False
    ).exists()
    return _page(request, state="done" if withdrawn else "confirm", language=language, look=look)


def _receipt_problem(status: int, title: str, detail: str, *, field: str = "") -> HttpResponse:
    errors = [{"field": field, "message": detail}] if field else None
    return problem(status=status, title=title, detail=detail, errors=errors)


def _signed(request: HttpRequest, secret: str) -> HttpResponse | None:
    """A problem answer unless the receipt is fresh and signed with the webhook secret."""
    try:
        stamp = int(request.headers.get("X-Sonda-Timestamp", ""))
    except ValueError:
        return _receipt_problem(401, "Unauthorized", "X-Sonda-Timestamp is missing or not a number")
    if abs(time.time() - stamp) > RECEIPT_MAX_AGE_SECONDS:
        return _receipt_problem(401, "Unauthorized", "the receipt is older than five minutes")
    given = request.headers.get("X-Sonda-Signature", "")
    # The timestamp is signed with the body, so a captured receipt cannot be replayed later
    # under a fresh timestamp.
    signed = str(stamp).encode() + b"." + request.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not (
        given.startswith(SIGNATURE_PREFIX)
        and hmac.compare_digest(given[len(SIGNATURE_PREFIX) :], expected)
    ):
        return _receipt_problem(401, "Unauthorized", "the signature does not match the body")
    return None


@csrf_exempt
@require_http_methods(["POST"])
def sms_receipts(request: HttpRequest) -> HttpResponse:
    """POST {provider_message_id, status: delivered|failed, error?} from the SMS provider."""
    secret = settings.SONDA_SMS_WEBHOOK_SECRET
    if not secret:
        return _receipt_problem(503, "Not configured", "SONDA_SMS_WEBHOOK_SECRET is not set")
    refused = _signed(request, secret)
    if refused is not None:
        return refused
    try:
        receipt = json.loads(request.body)
    except ValueError:
        return _receipt_problem(400, "Invalid request", "the body is not JSON", field="body")
    if not isinstance(receipt, dict):
        return _receipt_problem(
            400, "Invalid request", "the body must be a JSON object", field="body"
        )
    provider_id, status = receipt.get("provider_message_id"), receipt.get("status")
    if not isinstance(provider_id, str) or not provider_id:
        return _receipt_problem(400, "Invalid request", "required", field="provider_message_id")
    if status not in RECEIPT_STATUSES:
        return _receipt_problem(400, "Invalid request", "delivered or failed", field="status")
    error = receipt.get("error")
    try:
        message = receipt_record(
            provider_message_id=provider_id,
            status=status,
            error=error if isinstance(error, str) else "",
        )
    except NotFound as missing:
        return _receipt_problem(404, "Not found", missing.detail)
    return JsonResponse({"provider_message_id": provider_id, "status": message.status})
