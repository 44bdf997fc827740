"""Pages that configure the loop: the problem taxonomy, HQ functions, survey options mapped to
problems, and the alert rules that open cases.

Admins and analysts configure; executives read; managers and frontline employees are refused
(403) and do not find single items (404). The services judge every value, so a page and the API
accept exactly the same taxonomy and rules.
"""

from collections.abc import Mapping

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sonda.accounts.access import CONFIGURE, READ_WHOLE_ORGANISATION, Scope
from sonda.accounts.models import Membership
from sonda.core.errors import NotFound, SondaError
from sonda.loop import rules, taxonomy
from sonda.loop.casefile import problem_choices
from sonda.loop.forms import (
    FunctionForm,
    MappingForm,
    ProblemForm,
    add_service_error,
    problem_initial,
)
from sonda.loop.rule_forms import AlertRuleForm, alert_rule_initial, conditions_text
from sonda.loop.selectors import (
    alert_rule_get,
    alert_rule_list,
    function_get,
    function_list,
    problem_get,
    problem_list,
    problem_mapping_list,
)
from sonda.org.models import Person
from sonda.surveys.selectors import program_list, survey_list
from sonda.web.pages import scoped_page


def _language() -> str:
    return translation.get_language() or settings.LANGUAGE_CODE


def _read(scope: Scope, what: str) -> None:
    scope.require(READ_WHOLE_ORGANISATION, what)


# Problems ----------------------------------------------------------------------------------------


def _problem_form(
    request: HttpRequest, scope: Scope, *, initial: Mapping[str, object], editing: int | None
) -> ProblemForm:
    required = taxonomy.taxonomy_languages(scope)
    names = dict(settings.LANGUAGES)
    languages = [(code, str(names.get(code, code))) for code in names]
    languages += [(code, code) for code in required if code not in names]
    # A problem cannot move under itself or below it: its branch is not offered.
    branch = ""
    if editing is not None:
        branch = problem_get(scope=scope, problem_id=editing).path
    parents = [
        (problem.pk, "\u2003" * problem.depth + f"{problem.label(_language())} ({problem.code})")
        for problem in problem_list(scope=scope)
        if not (branch and problem.path.startswith(branch))
    ]
    return ProblemForm(
        request.POST or None,
        languages=languages,
        required_languages=required,
        parents=parents,
        functions=[(f.pk, f.name) for f in function_list(scope=scope).filter(is_active=True)],
        editing=editing is not None,
        initial=initial,
    )


@scoped_page
def problem_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    _read(scope, "read the problem taxonomy")
    return render(
        request,
        "loop/problem_list.html",
        {
            "problems": [
                (problem, "\u2003" * problem.depth, problem.label(_language()))
                for problem in problem_list(scope=scope)
            ]
        },
    )


@scoped_page
def problem_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "configure the problem taxonomy")
    form = _problem_form(
        request, scope, initial={"parent": request.GET.get("parent")}, editing=None
    )
    if request.method == "POST" and form.is_valid():
        try:
            problem = taxonomy.problem_create(scope=scope, **form.service_values())
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The problem “%(code)s” is saved.") % {"code": problem})
            return redirect("loop:problems")
    return render(request, "loop/problem_form.html", {"form": form, "problem": None})


@scoped_page
def problem_edit_page(request: HttpRequest, scope: Scope, problem_id: int) -> HttpResponse:
    _read(scope, "read the problem taxonomy")
    problem = problem_get(scope=scope, problem_id=problem_id)
    scope.require(CONFIGURE, "configure the problem taxonomy")
    form = _problem_form(request, scope, initial=problem_initial(problem), editing=problem.pk)
    if request.method == "POST" and form.is_valid():
        try:
            taxonomy.problem_update(scope=scope, problem_id=problem.pk, **form.service_values())
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The problem is saved."))
            return redirect("loop:problems")
    return render(request, "loop/problem_form.html", {"form": form, "problem": problem})


# Functions ---------------------------------------------------------------------------------------


def _function_form(
    request: HttpRequest, scope: Scope, *, initial: Mapping[str, object], editing: bool
) -> FunctionForm:
    people = Person.objects.filter(organisation=scope.organisation, is_active=True).order_by(
        "full_name", "pk"
    )
    members = (
        Membership.objects.filter(organisation=scope.organisation, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return FunctionForm(
        request.POST or None,
        people=[(person.pk, person.full_name) for person in people],
        members=[(m.user_id, f"{m.user} ({m.get_role_display()})") for m in members],
        editing=editing,
        initial=initial,
    )


@scoped_page
def function_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    _read(scope, "read the HQ functions")
    return render(request, "loop/function_list.html", {"functions": function_list(scope=scope)})


@scoped_page
def function_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "configure the problem taxonomy")
    form = _function_form(request, scope, initial={}, editing=False)
    if request.method == "POST" and form.is_valid():
        try:
            function = taxonomy.function_create(scope=scope, **form.service_values())
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The function “%(name)s” is saved.") % {"name": function})
            return redirect("loop:functions")
    return render(request, "loop/function_form.html", {"form": form, "function": None})


@scoped_page
def function_edit_page(request: HttpRequest, scope: Scope, function_id: int) -> HttpResponse:
    _read(scope, "read the HQ functions")
    function = function_get(scope=scope, function_id=function_id)
    scope.require(CONFIGURE, "configure the problem taxonomy")
    initial = {
        "name": function.name,
        "description": function.description,
        "email": function.email,
        "lead": function.lead_id,
        "members": [member.pk for member in function.members.all()],
        "is_active": function.is_active,
    }
    form = _function_form(request, scope, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            taxonomy.function_update(scope=scope, function_id=function.pk, **form.service_values())
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The function is saved."))
            return redirect("loop:functions")
    return render(request, "loop/function_form.html", {"form": form, "function": function})


# Option → problem mappings -----------------------------------------------------------------------


@scoped_page
def mapping_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    mappings = problem_mapping_list(scope=scope)
    form = None
    if scope.can_configure:
        form = MappingForm(
            request.POST or None,
            surveys=[(survey.pk, survey.name) for survey in survey_list(scope=scope)],
            problems=problem_choices(scope=scope, language=_language()),
        )
    elif request.method == "POST":
        scope.require(CONFIGURE, "map options to problems")
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            taxonomy.problem_mapping_set(
                scope=scope,
                survey_id=form.cleaned_data["survey"],
                question_key=form.cleaned_data["question_key"],
                option_code=form.cleaned_data["option_code"],
                problem_id=form.cleaned_data["problem"],
            )
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The option now codes its problem."))
            return redirect("loop:mappings")
    return render(
        request,
        "loop/mapping_list.html",
        {"mappings": mappings, "form": form, "language": _language()},
    )


@require_POST
@scoped_page
def mapping_delete(request: HttpRequest, scope: Scope, mapping_id: int) -> HttpResponse:
    if not problem_mapping_list(scope=scope).filter(pk=mapping_id).exists():
        raise NotFound(_("No such mapping."))
    taxonomy.problem_mapping_delete(scope=scope, mapping_id=mapping_id)
    messages.success(request, _("The mapping is removed."))
    return redirect("loop:mappings")


# Alert rules -------------------------------------------------------------------------------------


def _rule_form(request: HttpRequest, scope: Scope, initial: Mapping[str, object]) -> AlertRuleForm:
    return AlertRuleForm(
        request.POST or None,
        programs=[(program.pk, program.name) for program in program_list(scope=scope)],
        surveys=[
            (survey.pk, survey.name)
            for survey in survey_list(scope=scope)
            if not survey.is_archived or survey.pk == initial.get("survey")
        ],
        initial=initial,
    )


@scoped_page
def rule_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    listed = [
        (rule, conditions_text(rule.conditions).splitlines())
        for rule in alert_rule_list(scope=scope)
    ]
    return render(request, "loop/rule_list.html", {"rules": listed})


@scoped_page
def rule_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "configure alert rules")
    form = _rule_form(request, scope, {"priority": "normal", "position": 0, "is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            rule = rules.alert_rule_create(scope=scope, **form.service_values())
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The alert rule “%(name)s” is saved.") % {"name": rule})
            return redirect("loop:rules")
    return render(request, "loop/rule_form.html", {"form": form, "rule": None})


@scoped_page
def rule_edit_page(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = alert_rule_get(scope=scope, rule_id=rule_id)
    scope.require(CONFIGURE, "configure alert rules")
    form = _rule_form(request, scope, alert_rule_initial(rule))
    if request.method == "POST" and form.is_valid():
        try:
            rules.alert_rule_update(scope=scope, rule_id=rule.pk, **form.service_values())
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The alert rule is saved."))
            return redirect("loop:rules")
    return render(request, "loop/rule_form.html", {"form": form, "rule": rule})


@require_POST
@scoped_page
def rule_active(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    rule = alert_rule_get(scope=scope, rule_id=rule_id)
    active = request.POST.get("active") == "1"
    rules.alert_rule_update(scope=scope, rule_id=rule.pk, is_active=active)
    if active:
        messages.success(request, _("The rule “%(name)s” opens cases again.") % {"name": rule})
    else:
        messages.success(
            request, _("The rule “%(name)s” is paused: it opens no cases.") % {"name": rule}
        )
    return redirect("loop:rules")
