"""Pages of the listening reports: events and their decisions, the dry run, the sample-size
planner, response rates, the invitations list and the customers who stopped answering.

Views parse, call a selector or the simulation, and render; nothing here writes. Who may read
what is decided in the selectors (and, for the events pages, here: they are for the readers of
the whole organisation only, so that one event's decisions never disclose another unit's rules).
"""

import csv
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sonda.accounts.access import CONFIGURE, READ_CUSTOMERS, READ_WHOLE_ORGANISATION, Scope
from sonda.core.errors import NotFound, SondaError, ValidationFailed
from sonda.listening import events_selectors
from sonda.listening.decisions import local_day_start, organisation_clock
from sonda.listening.models import Event, SkipReason
from sonda.listening.planning import SamplePlan, sample_size_plan
from sonda.listening.rates import (
    GROUPINGS,
    InvitationFilters,
    NonResponder,
    ResponseRates,
    invitation_list,
    non_responders,
    response_rates,
)
from sonda.listening.report_forms import (
    EventFilterForm,
    InvitationFilterForm,
    NonResponderForm,
    PlannerForm,
    RatesForm,
    SimulationForm,
    last_days,
)
from sonda.listening.reports_api import simulation_json
from sonda.listening.simulation import simulate_rules
from sonda.web.pages import add_service_error, paginate, scoped_page

SKIP_LABELS = dict(SkipReason.choices)


def _form_error(form: Any, error: SondaError) -> None:
    add_service_error(form, error, {"rule_ids": "rules"})


# Events ----------------------------------------------------------------------------------------


@require_GET
@scoped_page
def event_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(READ_WHOLE_ORGANISATION, "read the events report")
    form = EventFilterForm(request.GET, scope=scope)
    zone = organisation_clock(scope.organisation_id)[1]
    first, last = form.value("date_from"), form.value("date_to")
    events = events_selectors.event_list(
        scope=scope,
        filters=events_selectors.EventFilters(
            event_type=form.value("event_type") or "",
            unit_id=form.value("unit"),
            occurred_from=local_day_start(first, zone) if first else None,
            occurred_to=local_day_start(last + timedelta(days=1), zone) if last else None,
        ),
    )
    if form.value("channel"):
        events = events.filter(channel=form.value("channel"))
    return render(
        request,
        "listening/reports/event_list.html",
        {
            "form": form,
            "page_obj": paginate(request, events.select_related("unit", "customer")),
        },
    )


@require_GET
@scoped_page
def event_detail(request: HttpRequest, scope: Scope, event_id: int) -> HttpResponse:
    if not scope.sees_whole_organisation:
        raise NotFound("No such event.")
    event: Event = events_selectors.event_get(scope=scope, event_id=event_id)
    return render(
        request,
        "listening/reports/event_detail.html",
        {
            "event": event,
            "decisions": events_selectors.event_decisions(event=event),
        },
    )


# The dry run -----------------------------------------------------------------------------------


@scoped_page
def simulate_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "run trigger rules over past events")
    first, last = last_days(30)
    data = request.GET if "date_from" in request.GET else None
    form = SimulationForm(data, scope=scope, initial={"date_from": first, "date_to": last})
    result = None
    if data is not None and form.is_valid():
        try:
            simulation = simulate_rules(
                scope=scope,
                rule_ids=form.cleaned_data["rules"],
                date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
                margin_target=form.cleaned_data["margin_target"],
            )
        except ValidationFailed as exc:
            _form_error(form, exc)
        else:
            result = simulation_json(simulation)
            result["skip_rows"] = [
                (SKIP_LABELS.get(reason, reason), n) for reason, n in simulation.skips.items()
            ]
    return render(request, "listening/reports/simulate.html", {"form": form, "result": result})


# The sample-size planner -----------------------------------------------------------------------


@require_GET
@scoped_page
def planner_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(READ_WHOLE_ORGANISATION, "plan sample sizes")
    data = request.GET if "margin" in request.GET else None
    form = PlannerForm(data, scope=scope)
    plan: SamplePlan | None = None
    if data is not None and form.is_valid():
        values = form.cleaned_data

        def share(name: str) -> float | None:
            value = values.get(name)
            return None if value is None else value / 100

        try:
            plan = sample_size_plan(
                scope=scope,
                margin=values["margin"],
                promoters=share("promoters"),
                detractors=share("detractors"),
                survey_id=values.get("survey"),
                response_rate=share("response_rate"),
                population=values.get("population"),
            )
        except NotFound:
            form.add_error("survey", _("There is no such survey."))
        except ValidationFailed as exc:
            _form_error(form, exc)
    return render(request, "listening/reports/planner.html", {"form": form, "plan": plan})


# Response rates --------------------------------------------------------------------------------


@require_GET
@scoped_page
def rates_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    first, last = last_days(30)
    form = RatesForm(request.GET or None, initial={"date_from": first, "date_to": last})
    by = (form.value("by") or "survey") if request.GET else "survey"
    rates: ResponseRates | None = None
    try:
        rates = response_rates(
            scope=scope,
            by=by,
            segment=form.value("segment") or "",
            date_from=form.value("date_from") if request.GET else first,
            date_to=form.value("date_to") if request.GET else last,
        )
    except ValidationFailed as exc:
        _form_error(form, exc)
    return render(
        request,
        "listening/reports/rates.html",
        {"form": form, "rates": rates, "by_label": GROUPINGS.get(by, "")},
    )


# Invitations -----------------------------------------------------------------------------------


@require_GET
@scoped_page
def invitation_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = InvitationFilterForm(request.GET, scope=scope)
    invitations = None
    try:
        invitations = invitation_list(
            scope=scope,
            filters=InvitationFilters(
                status=form.value("status") or "",
                survey_id=form.value("survey"),
                delivery=form.value("channel") or "",
                unit_id=form.value("unit"),
                date_from=form.value("date_from"),
                date_to=form.value("date_to"),
                invitation_id=form.value("invitation"),
            ),
        )
    except ValidationFailed as exc:
        _form_error(form, exc)
    return render(
        request,
        "listening/reports/invitation_list.html",
        {
            "form": form,
            "page_obj": paginate(request, invitations) if invitations is not None else None,
        },
    )


# Non-responders --------------------------------------------------------------------------------

NON_RESPONDER_DAYS = 180
NON_RESPONDER_MINIMUM = 3


def _non_responders(
    request: HttpRequest, scope: Scope
) -> tuple[NonResponderForm, list[NonResponder] | None]:
    scope.require(READ_CUSTOMERS, "read customers")
    first, last = last_days(NON_RESPONDER_DAYS)
    given = bool(request.GET.get("date_from") or request.GET.get("min_invitations"))
    form = NonResponderForm(
        request.GET if given else None,
        initial={"date_from": first, "date_to": last, "min_invitations": NON_RESPONDER_MINIMUM},
    )
    try:
        found = non_responders(
            scope=scope,
            date_from=form.value("date_from") if given else first,
            date_to=form.value("date_to") if given else last,
            min_invitations=(form.value("min_invitations") if given else None)
            or NON_RESPONDER_MINIMUM,
            segment=(form.value("segment") if given else "") or "",
            segment_value=(form.value("segment_value") if given else "") or "",
        )
    except ValidationFailed as exc:
        _form_error(form, exc)
        return form, None
    return form, found


@require_GET
@scoped_page
def non_responders_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    form, found = _non_responders(request, scope)
    return render(
        request,
        "listening/reports/non_responders.html",
        {"form": form, "rows": found, "query": request.GET.urlencode()},
    )


@require_GET
@scoped_page
def non_responders_download(request: HttpRequest, scope: Scope) -> HttpResponse:
    form, found = _non_responders(request, scope)
    if found is None:
        return HttpResponse(
            "; ".join(str(e) for errors in form.errors.values() for e in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    download = HttpResponse(content_type="text/csv; charset=utf-8")
    download["Content-Disposition"] = f'attachment; filename="sonda-non-responders-{stamp}.csv"'
    writer = csv.writer(download)
    writer.writerow(["customer_id", "name", "segment", "invitations", "last_invited_at"])
    for row in found:
        writer.writerow(
            [
                row.customer_id,
                _safe(row.full_name),
                _safe(row.segment),
                row.invitations,
                row.last_invited_at.isoformat(timespec="seconds"),
            ]
        )
    return download


def _safe(text: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
