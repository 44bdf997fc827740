"""Pages of the SLAs: overdue cases (with counts per owner) and attainment by unit or owner.

Views parse the query string, call a selector of `sonda.loop.sla_reports`, and render; nothing
here writes. Who reads what is decided there: admins, analysts, executives and managers (their
subtree's cases); frontline employees get 403.
"""

from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from sonda.accounts.access import Scope
from sonda.core.errors import ValidationFailed
from sonda.loop.sla import sla_clock, sla_targets
from sonda.loop.sla_reports import (
    GROUPINGS,
    SlaAttainment,
    overdue_by,
    overdue_by_owner,
    overdue_cases,
    sla_attainment,
)
from sonda.org.selectors import unit_list
from sonda.web.pages import add_service_error, paginate, scoped_page

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
GROUPING_LABELS = {"unit": _("Unit"), "owner": _("Owner")}


def _now() -> datetime:
    return timezone.now()


def _unit_choices(scope: Scope) -> list[tuple[str, Any]]:
    units = unit_list(scope=scope)
    return [("", _("Every unit I see"))] + [
        (str(unit.pk), "\u2003" * unit.depth + f"{unit.name} ({unit.code})") for unit in units
    ]


class ReportForm(forms.Form):
    """A GET form: a filter it cannot read is left out rather than failing the page."""

    def value(self, name: str) -> Any:
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        found = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
        return None if found in (None, "") else found


class OverdueForm(ReportForm):
    unit = forms.TypedChoiceField(label=_("Unit"), coerce=int, empty_value=None, required=False)
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, scope: Scope, owners: list[dict[str, Any]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = _unit_choices(scope)  # type: ignore[attr-defined]
        self.fields["owner"].choices = [("", _("Every owner"))] + [  # type: ignore[attr-defined]
            (str(row["owner_id"]), row["owner_name"])
            for row in owners
            if row["owner_id"] is not None
        ]


class AttainmentForm(ReportForm):
    date_from = forms.DateField(
        label=pgettext_lazy("start of a date range", "From"), widget=DATE, required=False
    )
    date_to = forms.DateField(label=_("To"), widget=DATE, required=False)
    by = forms.ChoiceField(
        label=_("Rows per"),
        choices=[(key, GROUPING_LABELS[key]) for key in GROUPINGS],
        required=False,
    )
    unit = forms.TypedChoiceField(label=_("Unit"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = _unit_choices(scope)  # type: ignore[attr-defined]


def _hours_and_minutes(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d}"


@require_GET
@scoped_page
def overdue_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    now = _now()
    owners = overdue_by_owner(scope=scope, now=now)
    form = OverdueForm(request.GET, scope=scope, owners=owners)
    unit_id, owner_id = form.value("unit"), form.value("owner")
    cases = overdue_cases(scope=scope, now=now, owner_id=owner_id, unit_id=unit_id)
    page = paginate(request, cases)
    clock = sla_clock(scope.organisation_id)
    rows = [
        (case, _hours_and_minutes(overdue_by(clock, getattr(case, "missed_due", None), now)))
        for case in page
    ]
    if unit_id is not None:
        owners = overdue_by_owner(scope=scope, now=now, unit_id=unit_id)
    return render(
        request,
        "loop/sla_overdue.html",
        {"form": form, "page_obj": page, "rows": rows, "owners": owners, "now": now},
    )


@require_GET
@scoped_page
def attainment_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    now = _now()
    today = now.astimezone(sla_clock(scope.organisation_id).calendar.zone).date()
    form = AttainmentForm(request.GET, scope=scope)
    date_to: date = form.value("date_to") or today
    date_from: date = form.value("date_from") or date_to - timedelta(days=29)
    report: SlaAttainment | None = None
    try:
        report = sla_attainment(
            scope=scope,
            now=now,
            date_from=date_from,
            date_to=date_to,
            by=form.value("by") or "unit",
            unit_id=form.value("unit"),
        )
    except ValidationFailed as exc:
        add_service_error(form, exc)
    return render(
        request,
        "loop/sla_attainment.html",
        {
            "form": form,
            "report": report,
            "by_label": GROUPING_LABELS.get(report.by if report else "unit"),
            "targets": sla_targets(scope=scope),
        },
    )
