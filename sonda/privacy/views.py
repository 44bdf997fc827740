"""Pages for personal data: download a customer's export, erase a customer by number or identity."""

import json

from django import forms
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from sonda.accounts.access import ADMINISTER, Scope
from sonda.core.errors import NotFound, ValidationFailed
from sonda.customers.models import IdentityKind
from sonda.customers.selectors import customer_get
from sonda.privacy.services import (
    ErasureResult,
    customer_data_export,
    customer_erase,
    customer_erase_by_id,
)
from sonda.web.pages import add_service_error, scoped_page


def _client_ip(request: HttpRequest) -> str | None:
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None


@require_GET
@scoped_page
def customer_export(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    document = customer_data_export(
        scope=scope, customer_id=customer_id, ip_address=_client_ip(request)
    )
    response = HttpResponse(
        json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="customer-{document["customer_id"]}.json"'
    )
    return response


class ConfirmErasureForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that the erasure cannot be undone"),
        required=True,
    )


class ErasureForm(ConfirmErasureForm):
    kind = forms.ChoiceField(label=gettext_lazy("Identified by"), choices=IdentityKind.choices)
    value = forms.CharField(
        label=gettext_lazy("Identifier"),
        max_length=254,
        help_text=gettext_lazy("An email, a phone in international form (+40721234567), or an id."),
    )
    source = forms.CharField(
        label=gettext_lazy("Source system"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("For an external id only: crm, billing..."),
    )

    field_order = ("kind", "value", "source", "confirm")


def _erased(request: HttpRequest, result: ErasureResult) -> HttpResponse:
    return render(request, "privacy/erased.html", {"result": result})


@require_http_methods(["GET", "POST"])
@scoped_page
def customer_erase_page(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    scope.require(ADMINISTER, "erase customers")
    customer = customer_get(scope=scope, customer_id=customer_id)
    form = ConfirmErasureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = customer_erase_by_id(
            scope=scope, customer_id=customer.pk, ip_address=_client_ip(request)
        )
        return _erased(request, result)
    return render(request, "privacy/customer_erase.html", {"customer": customer, "form": form})


@require_http_methods(["GET", "POST"])
@scoped_page
def erase_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(ADMINISTER, "erase customers")
    form = ErasureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            result = customer_erase(
                scope=scope,
                kind=form.cleaned_data["kind"],
                value=form.cleaned_data["value"],
                source=form.cleaned_data["source"],
                ip_address=_client_ip(request),
            )
        except NotFound:
            form.add_error("value", _("No customer has this identifier."))
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            return _erased(request, result)
    return render(request, "privacy/erase.html", {"form": form})
