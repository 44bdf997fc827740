"""Pages of listening configuration: trigger rules, the contact policy, quiet hours.

Admins and analysts configure; executives read; managers and frontline employees are refused the
lists (403) and do not find single rules (404). Forms turn text into values and the services
judge them, so a page and the API accept exactly the same rules.
"""

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import ValidationFailed
from sonda.listening import rules
from sonda.listening.forms import (
    ContactRuleForm,
    ListeningSettingsForm,
    TriggerRuleForm,
    add_service_error,
    conditions_text,
    contact_rule_initial,
    percent_text,
    trigger_rule_initial,
)
from sonda.listening.models import RuleStatus, TriggerRule
from sonda.listening.rules_selectors import (
    READ_CONFIGURATION,
    contact_rule_get,
    contact_rule_list,
    listening_settings_get,
    trigger_rule_decision_counts,
    trigger_rule_get,
    trigger_rule_list,
)
from sonda.org.selectors import unit_list
from sonda.surveys.selectors import program_list, survey_list
from sonda.web.pages import paginate, scoped_page

RECENT_DAYS = 30

# Listening reports live in their own URL map; the index links to those that exist.
REPORT_PAGES = (
    (
        "listening_reports:events",
        gettext_lazy("Interaction events"),
        gettext_lazy("What came in, and why each event did or did not lead to an invitation."),
    ),
    (
        "listening_reports:invitations",
        gettext_lazy("Invitations"),
        gettext_lazy("Who was invited, on which channel, and how far they got."),
    ),
    (
        "listening_reports:simulate",
        gettext_lazy("Try rules on past events"),
        gettext_lazy("How many invitations and answers a rule would have produced."),
    ),
    (
        "listening_reports:planner",
        gettext_lazy("Sample planner"),
        gettext_lazy("How many answers each unit needs for a given margin of error."),
    ),
    (
        "listening_reports:rates",
        gettext_lazy("Response rates"),
        gettext_lazy("How many invited customers answer, by channel and unit."),
    ),
    (
        "listening_reports:non_responders",
        gettext_lazy("Non-responders"),
        gettext_lazy("Customers who stopped answering: often the least loyal."),
    ),
)


def _report_links() -> list[dict[str, Any]]:
    links = []
    for name, label, description in REPORT_PAGES:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        links.append({"url": url, "label": label, "description": description})
    return links


def _survey_choices(scope: Scope, keep: int | None = None) -> list[tuple[int, str]]:
    """The surveys a rule may point at: those not archived (and the rule's own, whatever it is),
    marked when they are not published yet."""
    choices = []
    for survey in survey_list(scope=scope):
        if survey.is_archived and survey.pk != keep:
            continue
        label = survey.name
        if getattr(survey, "published_number", None) is None:
            label = _("%(name)s (not published yet)") % {"name": survey.name}
        elif survey.is_archived:
            label = _("%(name)s (archived)") % {"name": survey.name}
        choices.append((survey.pk, label))
    return choices


def _unit_choices(scope: Scope) -> list[tuple[int, str]]:
    return [
        (unit.pk, "\u2003" * unit.depth + f"{unit.name} ({unit.code})")
        for unit in unit_list(scope=scope)
    ]


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Back to the page the button was on, when it is one of ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


# --- The index ----------------------------------------------------------------------------------


@scoped_page
def index(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(READ_CONFIGURATION, "read the listening configuration")
    trigger_rules = trigger_rule_list(scope=scope)
    return render(
        request,
        "listening/index.html",
        {
            "active_rules": trigger_rules.filter(status=RuleStatus.ACTIVE).count(),
            "paused_rules": trigger_rules.filter(status=RuleStatus.PAUSED).count(),
            "contact_rules": contact_rule_list(scope=scope).filter(active=True).count(),
            "settings": listening_settings_get(scope=scope),
            "report_links": _report_links(),
        },
    )


# --- Trigger rules ------------------------------------------------------------------------------


@scoped_page
def rule_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in RuleStatus.values:
        status = ""
    return render(
        request,
        "listening/rules/list.html",
        {
            "page_obj": paginate(request, trigger_rule_list(scope=scope, status=status or None)),
            "status_value": status,
            "statuses": RuleStatus.choices,
        },
    )


@scoped_page
def rule_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "create trigger rules")
    form = TriggerRuleForm(
        request.POST or None,
        surveys=_survey_choices(scope),
        units=_unit_choices(scope),
        initial={"survey": request.GET.get("survey")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            rule = rules.trigger_rule_create(scope=scope, **form.service_values())
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The trigger rule “%(name)s” is saved.") % {"name": rule})
            return redirect("listening:rule", rule_id=rule.pk)
    return render(request, "listening/rules/form.html", {"form": form, "rule": None})


def _matches(rule: TriggerRule) -> list[tuple[str, str]]:
    """What the rule matches, in words, for its page."""
    anything = _("any")
    return [
        (_("Event types"), ", ".join(rule.event_types) or anything),
        (_("Channels"), ", ".join(rule.channels) or anything),
        (
            _("Unit"),
            _("%(unit)s and the units below it") % {"unit": rule.unit.name}
            if rule.unit
            else anything,
        ),
        (_("Touchpoints"), ", ".join(rule.touchpoints) or anything),
    ]


@scoped_page
def rule_detail(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = trigger_rule_get(scope=scope, rule_id=rule_id)
    counts = trigger_rule_decision_counts(
        scope=scope, rule=rule, since=timezone.now() - timedelta(days=RECENT_DAYS)
    )
    return render(
        request,
        "listening/rules/detail.html",
        {
            "rule": rule,
            "matches": _matches(rule),
            "condition_lines": conditions_text(rule.conditions).splitlines(),
            "sampling": percent_text(rule.sampling_percent),
            "counts": counts,
            "decided": sum(count.count for count in counts),
            "recent_days": RECENT_DAYS,
        },
    )


@scoped_page
def rule_edit(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = trigger_rule_get(scope=scope, rule_id=rule_id)
    scope.require(CONFIGURE, "change trigger rules")
    form = TriggerRuleForm(
        request.POST or None,
        surveys=_survey_choices(scope, keep=rule.survey_id),
        units=_unit_choices(scope),
        editing=True,
        initial=trigger_rule_initial(rule),
    )
    if request.method == "POST" and form.is_valid():
        try:
            rules.trigger_rule_update(scope=scope, rule_id=rule.pk, **form.service_values())
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The trigger rule is saved."))
            return redirect("listening:rule", rule_id=rule.pk)
    return render(request, "listening/rules/form.html", {"form": form, "rule": rule})


@require_POST
@scoped_page
def rule_pause(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = trigger_rule_get(scope=scope, rule_id=rule_id)
    rules.trigger_rule_pause(scope=scope, rule_id=rule.pk)
    messages.success(
        request, _("The rule “%(name)s” is paused: it invites nobody now.") % {"name": rule}
    )
    return _back(request, reverse("listening:rule", args=[rule.pk]))


@require_POST
@scoped_page
def rule_resume(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = trigger_rule_get(scope=scope, rule_id=rule_id)
    try:
        rules.trigger_rule_resume(scope=scope, rule_id=rule.pk)
    except ValidationFailed as exc:
        messages.error(
            request,
            _("The rule “%(name)s” stays paused: %(reason)s")
            % {"name": rule, "reason": "; ".join(e.message for e in exc.errors) or exc.detail},
        )
    else:
        messages.success(request, _("The rule “%(name)s” is active.") % {"name": rule})
    return _back(request, reverse("listening:rule", args=[rule.pk]))


# --- The contact policy -------------------------------------------------------------------------


def _contact_form(request: HttpRequest, scope: Scope, initial: dict[str, Any]) -> ContactRuleForm:
    return ContactRuleForm(
        request.POST or None,
        programs=[(program.pk, program.name) for program in program_list(scope=scope)],
        surveys=[(survey.pk, survey.name) for survey in survey_list(scope=scope)],
        initial=initial,
    )


@scoped_page
def contact_rule_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    policy = [
        (rule, conditions_text(rule.customer_conditions).splitlines())
        for rule in contact_rule_list(scope=scope)
    ]
    return render(request, "listening/contact_rules/list.html", {"policy": policy})


@scoped_page
def contact_rule_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "create contact rules")
    form = _contact_form(request, scope, {"active": True, "scope": "organisation"})
    if request.method == "POST" and form.is_valid():
        try:
            rule = rules.contact_rule_create(scope=scope, **form.service_values())
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The contact rule “%(name)s” is saved.") % {"name": rule})
            return redirect("listening:contact_rules")
    return render(request, "listening/contact_rules/form.html", {"form": form, "rule": None})


@scoped_page
def contact_rule_edit(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = contact_rule_get(scope=scope, rule_id=rule_id)
    scope.require(CONFIGURE, "change contact rules")
    form = _contact_form(request, scope, contact_rule_initial(rule))
    if request.method == "POST" and form.is_valid():
        try:
            rules.contact_rule_update(scope=scope, rule_id=rule.pk, **form.service_values())
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The contact rule is saved."))
            return redirect("listening:contact_rules")
    return render(request, "listening/contact_rules/form.html", {"form": form, "rule": rule})


@require_POST
@scoped_page
def contact_rule_active(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = contact_rule_get(scope=scope, rule_id=rule_id)
    if request.POST.get("active") == "1":
        rules.contact_rule_activate(scope=scope, rule_id=rule.pk)
        messages.success(request, _("The contact rule “%(name)s” applies again.") % {"name": rule})
    else:
        rules.contact_rule_deactivate(scope=scope, rule_id=rule.pk)
        messages.success(
            request, _("The contact rule “%(name)s” no longer applies.") % {"name": rule}
        )
    return redirect("listening:contact_rules")


# --- Quiet hours --------------------------------------------------------------------------------


@scoped_page
def settings_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    settings = listening_settings_get(scope=scope)
    form = None
    if scope.can_configure:
        form = ListeningSettingsForm(
            request.POST or None,
            initial={
                "time_zone": settings.time_zone,
                "quiet_hours_start": settings.quiet_hours_start,
                "quiet_hours_end": settings.quiet_hours_end,
                "quiet_hours_for_email": settings.quiet_hours_for_email,
            },
        )
    elif request.method == "POST":
        scope.require(CONFIGURE, "change quiet hours")
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            rules.listening_settings_update(scope=scope, **form.cleaned_data)
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The quiet hours are saved."))
            return redirect("listening:settings")
    return render(request, "listening/settings.html", {"settings": settings, "form": form})
