"""Pages of the closed loop: the case list, the callback screen, the workload, a function's
cases grouped by problem, and an employee's coaching notes and praise.

Every case is read through the case access rules (`sonda.loop.selectors`): outside them a case
is not found (404); a case read but not one's own to change refuses changes (403). The forms on
the callback screen carry the case's version: when someone else changed the case meanwhile,
nothing is written and the page says the case changed.
"""

from collections.abc import Sequence
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from sonda.accounts.access import Scope
from sonda.accounts.models import User
from sonda.core.errors import Conflict, PermissionDenied, SondaError
from sonda.loop.casefile import (
    CaseFilters,
    case_file,
    case_list_filtered,
    case_read,
    case_workload,
    function_views,
    owner_choices,
    problem_choices,
)
from sonda.loop.follow_up import case_follow_up, follow_up_entry_words
from sonda.loop.forms import (
    OPEN,
    CaseFilterForm,
    CoachingForm,
    NoteForm,
    OutcomeForm,
    ReassignForm,
    RootCausesForm,
    StateForm,
    add_service_error,
)
from sonda.loop.models import (
    CaseEvent,
    CaseEventKind,
    CaseState,
    Function,
    Priority,
    RecoveryOutcome,
)
from sonda.loop.routing import case_reassign
from sonda.loop.selectors import case_list, coaching_note_list, may_coach, praise_list
from sonda.loop.selectors import case_root_causes as case_root_causes_of
from sonda.loop.workflow import (
    case_add_note,
    case_code_root_causes,
    case_record_outcome,
    case_transition,
    coaching_note_acknowledge,
    coaching_note_create,
)
from sonda.org.models import Person
from sonda.org.selectors import unit_list
from sonda.surveys.models import Answer
from sonda.web.pages import paginate, scoped_page


def _language() -> str:
    """The reader's language (the middleware activated the user's own)."""
    return translation.get_language() or settings.LANGUAGE_CODE


def _now() -> datetime:
    return timezone.now()


# The case list -----------------------------------------------------------------------------------


def _filters(form: CaseFilterForm, scope: Scope) -> CaseFilters:
    data = form.cleaned_data if form.is_valid() else {}
    state = data.get("state") or ""
    owner = data.get("owner") or ""
    return CaseFilters(
        states=frozenset({state}) if state and state != OPEN else frozenset(),
        open_only=state == OPEN,
        priority=data.get("priority") or "",
        loop=data.get("loop") or "",
        owner_id=scope.user.pk if owner == "me" else int(owner) if owner.isdigit() else None,
        queue=True if owner == "queue" else None,
        callbacks_of=scope.user.pk if owner == "callbacks" else None,
        unit_id=data.get("unit"),
        overdue=bool(data.get("overdue")),
    )


@require_GET
@scoped_page
def case_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    # Without a choice the list shows what is still to do.
    query = request.GET if request.GET else {"state": OPEN}
    owners = User.objects.filter(pk__in=case_list(scope=scope).values("owner_id")).order_by(
        "full_name", "email"
    )
    form = CaseFilterForm(
        query,
        owners=[(user.pk, str(user)) for user in owners],
        units=[(unit.pk, "\u2003" * unit.depth + unit.name) for unit in unit_list(scope=scope)],
    )
    cases = case_list_filtered(scope=scope, filters=_filters(form, scope), now=_now())
    return render(
        request,
        "loop/case_list.html",
        {
            "form": form,
            "page_obj": paginate(request, cases),
            "mine": query.get("owner") == "me",
        },
    )


# The callback screen -----------------------------------------------------------------------------


def _stale(form: forms.Form) -> forms.Form:
    """Mark a form refused because the case changed: it is shown again with what was typed and
    the case's new version, so that a second look and a second press go through."""
    form.stale = True  # type: ignore[attr-defined]
    return form


DEADLINES = {"first_contact": gettext_lazy("first contact"), "close": gettext_lazy("closing")}
USER_KEYS = ("to_owner", "to_user", "executive")


def _timeline(events: Sequence[CaseEvent]) -> list[tuple[CaseEvent, str]]:
    """Each timeline entry with what it did, in words (the people and functions by name)."""
    user_ids: set[int] = set()
    function_ids: set[int] = set()
    for event in events:
        data = event.data or {}
        user_ids.update(data[k] for k in USER_KEYS if isinstance(data.get(k), int))
        if isinstance(data.get("to_function"), int):
            function_ids.add(data["to_function"])
    users = User.objects.in_bulk(sorted(user_ids))
    functions = Function.objects.in_bulk(sorted(function_ids))
    states = dict(CaseState.choices)
    outcomes = dict(RecoveryOutcome.choices)
    lines = []
    for event in events:
        data = event.data or {}
        parts: list[str] = []
        if event.kind in (CaseEventKind.STATE_CHANGED, CaseEventKind.REOPENED):
            if data.get("from") != data.get("to"):
                parts.append(
                    _("from “%(from)s” to “%(to)s”")
                    % {
                        "from": states.get(data.get("from", ""), data.get("from", "")),
                        "to": states.get(data.get("to", ""), data.get("to", "")),
                    }
                )
            if data.get("recovery_outcome"):
                outcome = outcomes.get(data["recovery_outcome"], data["recovery_outcome"])
                parts.append(_("outcome: %(outcome)s") % {"outcome": outcome})
        elif event.kind == CaseEventKind.CODED:
            parts.append(", ".join(data.get("problems", [])) or _("no root causes"))
        elif event.kind == CaseEventKind.LINKED:
            function = functions.get(data.get("to_function") or 0)
            parts.append(function.name if function else _("no function"))
        elif event.kind == CaseEventKind.FOLLOW_UP:
            parts.append(follow_up_entry_words(data))
        elif event.kind == CaseEventKind.WARNED and data.get("deadline") in DEADLINES:
            parts.append(str(DEADLINES[data["deadline"]]))
        elif event.kind == CaseEventKind.ESCALATED and data.get("deadline") in DEADLINES:
            parts.append(_("%(deadline)s missed") % {"deadline": DEADLINES[data["deadline"]]})
            if data.get("level"):
                parts.append(_("level %(level)s") % {"level": data["level"]})
            if data.get("via") == "head_office":
                parts.append(_("to head office"))
        for key in USER_KEYS:
            person = users.get(data[key]) if isinstance(data.get(key), int) else None
            if person is not None:
                parts.append(_("to %(who)s") % {"who": person})
                break
        lines.append((event, " · ".join(parts)))
    return lines


def _case_page(
    request: HttpRequest,
    scope: Scope,
    case_id: int,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    file = case_file(scope=scope, case_id=case_id, language=_language(), now=_now())
    case = file.case
    version = {"version": case.version}
    coded = [row.problem_id for row in file.root_causes]
    page_forms: dict[str, forms.Form] = {
        "note_form": NoteForm(),
        "state_form": StateForm(initial=version),
        "root_form": RootCausesForm(
            problems=problem_choices(scope=scope, language=_language(), coded=coded),
            initial={"problems": coded, **version},
        ),
        "outcome_form": OutcomeForm(
            initial={"recovery_outcome": case.recovery_outcome or None, **version}
        ),
        "reassign_form": ReassignForm(
            owners=owner_choices(scope=scope, case=case), initial=version
        ),
        "coaching_form": CoachingForm(),
    }
    for name, form in (bound or {}).items():
        if getattr(form, "stale", False) and isinstance(form.data, QueryDict):
            data = form.data.copy()
            data["version"] = str(case.version)
            form.data = data
        page_forms[name] = form
    return render(
        request,
        "loop/case_detail.html",
        {
            "file": file,
            "case": case,
            "timeline": _timeline(file.events),
            "follow_up": case_follow_up(scope=scope, case=case, events=file.events),
            "state_labels": dict(CaseState.choices),
            "closing": CaseState.CLOSED in file.next_states,
            "reopening": case.state == CaseState.CLOSED,
            **page_forms,
        },
        status=status,
    )


@require_GET
@scoped_page
def case_detail(request: HttpRequest, scope: Scope, case_id: int) -> HttpResponse:
    return _case_page(request, scope, case_id)


def _refused(
    request: HttpRequest,
    scope: Scope,
    case_id: int,
    name: str,
    form: forms.Form,
    error: SondaError,
) -> HttpResponse:
    """The callback screen again, with the service's refusal by the form that caused it."""
    if isinstance(error, PermissionDenied):
        raise error
    stale = isinstance(error, Conflict) and any(e.field == "version" for e in error.errors)
    if stale:
        form.add_error(
            None,
            _(
                "The case changed while you were looking at it: check it below and try again. "
                "Nothing was saved."
            ),
        )
        _stale(form)
    else:
        add_service_error(form, error)
        if "state" in form.fields:
            # The button named the state: its errors are shown with the form's own.
            for message in form.errors.pop("state", []):
                form.add_error(None, message)
    return _case_page(
        request,
        scope,
        case_id,
        bound={name: form},
        status=409 if isinstance(error, Conflict) else 200,
    )


@require_POST
@scoped_page
def case_note(request: HttpRequest, scope: Scope, case_id: int) -> HttpResponse:
    case_read(scope=scope, case_id=case_id, now=_now())
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _case_page(request, scope, case_id, bound={"note_form": form})
    try:
        case_add_note(scope=scope, case_id=case_id, text=form.cleaned_data["text"])
    except SondaError as exc:
        return _refused(request, scope, case_id, "note_form", form, exc)
    messages.success(request, _("The note is on the case's timeline."))
    return redirect("loop:case", case_id=case_id)


@require_POST
@scoped_page
def case_state(request: HttpRequest, scope: Scope, case_id: int) -> HttpResponse:
    case_read(scope=scope, case_id=case_id, now=_now())
    form = StateForm(request.POST)
    if not form.is_valid():
        return _case_page(request, scope, case_id, bound={"state_form": form})
    data = form.cleaned_data
    try:
        case = case_transition(
            scope=scope,
            case_id=case_id,
            state=data["state"],
            reason=data["reason"],
            recovery_outcome=data["recovery_outcome"],
            expected_version=data["version"],
        )
    except SondaError as exc:
        return _refused(request, scope, case_id, "state_form", form, exc)
    messages.success(
        request,
        _("The case is now “%(state)s”.") % {"state": CaseState(case.state).label},
    )
    return redirect("loop:case", case_id=case_id)


@require_POST
@scoped_page
def case_root_causes(request: HttpRequest, scope: Scope, case_id: int) -> HttpResponse:
    case_read(scope=scope, case_id=case_id, now=_now())
    coded = case_root_causes_of(scope=scope, case_id=case_id).values_list("problem_id", flat=True)
    form = RootCausesForm(
        request.POST,
        problems=problem_choices(scope=scope, language=_language(), coded=list(coded)),
    )
    if not form.is_valid():
        return _case_page(request, scope, case_id, bound={"root_form": form})
    try:
        case_code_root_causes(
            scope=scope,
            case_id=case_id,
            problem_ids=form.cleaned_data["problems"],
            expected_version=form.cleaned_data["version"],
        )
    except SondaError as exc:
        return _refused(request, scope, case_id, "root_form", form, exc)
    messages.success(request, _("The root causes are coded."))
    return redirect("loop:case", case_id=case_id)


@require_POST
@scoped_page
def case_outcome(request: HttpRequest, scope: Scope, case_id: int) -> HttpResponse:
    case_read(scope=scope, case_id=case_id, now=_now())
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _case_page(request, scope, case_id, bound={"outcome_form": form})
    try:
        case_record_outcome(
            scope=scope,
            case_id=case_id,
            recovery_outcome=form.cleaned_data["recovery_outcome"],
            expected_version=form.cleaned_data["version"],
        )
    except SondaError as exc:
        return _refused(request, scope, case_id, "outcome_form", form, exc)
    messages.success(request, _("The recovery outcome is recorded."))
    return redirect("loop:case", case_id=case_id)


@require_POST
@scoped_page
def case_reassign_page(request: HttpRequest, scope: Scope, case_id: int) -> HttpResponse:
    case = case_read(scope=scope, case_id=case_id, now=_now())
    form = ReassignForm(request.POST, owners=owner_choices(scope=scope, case=case))
    if not form.is_valid():
        return _case_page(request, scope, case_id, bound={"reassign_form": form})
    try:
        reassigned = case_reassign(
            scope=scope,
            case_id=case_id,
            owner_id=form.cleaned_data["owner"],
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except SondaError as exc:
        return _refused(request, scope, case_id, "reassign_form", form, exc)
    messages.success(request, _("The case now belongs to %(owner)s.") % {"owner": reassigned.owner})
    return redirect("loop:case", case_id=case_id)


@require_POST
@scoped_page
def case_coaching(request: HttpRequest, scope: Scope, case_id: int) -> HttpResponse:
    case = case_read(scope=scope, case_id=case_id, now=_now())
    if not may_coach(scope, case):
        raise PermissionDenied(
            _("Coaching is recorded by the employee's supervisor or the case's owner.")
        )
    form = CoachingForm(request.POST)
    if not form.is_valid():
        return _case_page(request, scope, case_id, bound={"coaching_form": form})
    try:
        coaching_note_create(scope=scope, case_id=case_id, **form.cleaned_data)
    except SondaError as exc:
        return _refused(request, scope, case_id, "coaching_form", form, exc)
    messages.success(
        request,
        _("The coaching note for %(employee)s is saved.") % {"employee": case.employee},
    )
    return redirect("loop:case", case_id=case_id)


# The workload and a function's cases -------------------------------------------------------------


@require_GET
@scoped_page
def workload_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    rows = case_workload(scope=scope, now=_now())
    states = [(s, label) for s, label in CaseState.choices if s != CaseState.CLOSED]
    return render(
        request,
        "loop/workload.html",
        {
            "rows": [
                (
                    row,
                    [row.by_state.get(state, 0) for state, _label in states],
                    [row.by_priority.get(priority, 0) for priority in Priority.values],
                )
                for row in rows
            ],
            "states": states,
            "priorities": Priority.choices,
        },
    )


@require_GET
@scoped_page
def function_cases_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    now = _now()
    own = case_list_filtered(
        scope=scope, filters=CaseFilters(owner_id=scope.user.pk, open_only=True), now=now
    )
    return render(
        request,
        "loop/function_cases.html",
        {
            "views": function_views(scope=scope, now=now, language=_language()),
            "own_cases": own[:50],
        },
    )


# Coaching and praise -----------------------------------------------------------------------------


@require_GET
@scoped_page
def coaching_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    """An employee's coaching notes and praise; a supervisor also sees the notes they wrote."""
    mine = coaching_note_list(scope=scope).filter(employee__user=scope.user)
    given = coaching_note_list(scope=scope).filter(supervisor=scope.user)
    person = Person.objects.filter(organisation=scope.organisation, user=scope.user).first()
    praise = (
        list(praise_list(scope=scope, employee_id=person.pk)[:50]) if person is not None else []
    )
    words: dict[int, list[str]] = {}
    for answer in Answer.objects.filter(
        response_id__in=[p.response_id for p in praise], kind="text"
    ).exclude(value_text=""):
        words.setdefault(answer.response_id, []).append(answer.value_text)
    return render(
        request,
        "loop/coaching.html",
        {
            "notes": mine[:50],
            "given": given[:50],
            "praise": [(item, words.get(item.response_id, [])) for item in praise],
        },
    )


@require_POST
@scoped_page
def coaching_acknowledge(request: HttpRequest, scope: Scope, note_id: int) -> HttpResponse:
    coaching_note_acknowledge(scope=scope, note_id=note_id)
    messages.success(request, _("Thank you: your supervisor sees that you read the note."))
    return redirect("loop:coaching")
