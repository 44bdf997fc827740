"""Pages for finding customers by any identity, reading a profile, and merging duplicates."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import Conflict, NotFound, ValidationFailed
from sonda.customers.models import Customer
from sonda.customers.selectors import customer_get, customer_list, customer_merges
from sonda.customers.services import customer_merge
from sonda.listening.decisions import customer_decisions
from sonda.surveys.response_selectors import ResponseFilters, response_list_with_score
from sonda.web.pages import add_service_error, paginate, scoped_page

LATEST_RESPONSES = 20
LATEST_EVENTS = 10


@scoped_page
def customer_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    customers = customer_list(scope=scope, search=search)
    return render(
        request,
        "customers/customer_list.html",
        {"page_obj": paginate(request, customers), "search": search},
    )


def _privacy_links(scope: Scope, customer: Customer) -> dict[str, str | None]:
    """Links to the personal-data pages: exporting and erasing are for admins only."""
    if not scope.is_admin or customer.merged_into_id is not None:
        return {"export": None, "erase": None}
    return {
        "export": reverse("privacy:customer_export", kwargs={"customer_id": customer.pk}),
        "erase": reverse("privacy:customer_erase", kwargs={"customer_id": customer.pk}),
    }


@scoped_page
def customer_detail(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    customer = customer_get(scope=scope, customer_id=customer_id)
    responses = response_list_with_score(
        scope=scope, filters=ResponseFilters(customer_id=customer.pk)
    )
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "merges": customer_merges(scope=scope, customer_id=customer.pk),
            "privacy": _privacy_links(scope, customer),
            "responses": responses[:LATEST_RESPONSES],
            "latest_responses": LATEST_RESPONSES,
            # "Why was / wasn't this customer invited?": each recent event's decisions in words.
            "events": customer_decisions(scope=scope, customer_id=customer.pk, limit=LATEST_EVENTS),
            "latest_events": LATEST_EVENTS,
        },
    )


class MergeForm(forms.Form):
    merged = forms.IntegerField(
        label=gettext_lazy("Number of the customer to merge into this one"),
        min_value=1,
        help_text=gettext_lazy(
            "Its identities and consents move to this profile; its history stays, "
            "pointing here. This cannot be undone."
        ),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Recorded in the audit log."),
    )


@scoped_page
def customer_merge_page(request: HttpRequest, scope: Scope, customer_id: int) -> HttpResponse:
    customer = customer_get(scope=scope, customer_id=customer_id)
    scope.require(CONFIGURE, "merge customers")
    form = MergeForm(request.POST or None, initial={"merged": request.GET.get("merged")})
    if request.method == "POST" and form.is_valid():
        try:
            customer_merge(
                scope=scope,
                surviving_id=customer.pk,
                merged_id=form.cleaned_data["merged"],
                reason=form.cleaned_data["reason"],
            )
        except NotFound:
            form.add_error("merged", _("There is no such customer."))
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Customer %(merged)s is merged into this profile.")
                % {"merged": form.cleaned_data["merged"]},
            )
            return redirect("customers:detail", customer_id=customer.pk)
    return render(request, "customers/customer_merge.html", {"customer": customer, "form": form})
