"""Forms of the loop's pages: the case list's filters, the callback screen, the taxonomy and the
alert rules.

The forms only turn text into values; the services apply the rules, and their errors come back
next to the field they name. The alert rule form is in `sonda.loop.rule_forms`.
"""

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sonda.core.errors import SondaError
from sonda.loop.models import CaseState, Loop, Priority, RecoveryOutcome

OPEN = "open"
OVERDUE_HELP = gettext_lazy("Open cases past a deadline they missed.")


def set_choices(form: forms.BaseForm, name: str, choices: Sequence[tuple[Any, Any]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = list(choices)


def _blank(label: str | Any) -> list[tuple[str, Any]]:
    return [("", label)]


# The case list -----------------------------------------------------------------------------------


class CaseFilterForm(forms.Form):
    """The case list's filters, read from the query string (a plain GET form)."""

    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), required=False)
    loop = forms.ChoiceField(label=gettext_lazy("Loop"), required=False)
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)
    unit = forms.TypedChoiceField(
        label=gettext_lazy("Unit"), coerce=int, empty_value=None, required=False
    )
    overdue = forms.BooleanField(
        label=gettext_lazy("Overdue only"), required=False, help_text=OVERDUE_HELP
    )

    def __init__(
        self,
        *args: Any,
        owners: Sequence[tuple[int, str]],
        units: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(
            self,
            "state",
            [("", _("Any state")), (OPEN, _("Open (not closed)")), *CaseState.choices],
        )
        set_choices(self, "priority", [*_blank(_("Any priority")), *Priority.choices])
        set_choices(self, "loop", [*_blank(_("Both loops")), *Loop.choices])
        set_choices(
            self,
            "owner",
            [
                *_blank(_("Anyone")),
                ("me", _("Me")),
                ("callbacks", _("My executive callbacks")),
                ("queue", _("Nobody yet (the queue)")),
                *((str(pk), name) for pk, name in owners),
            ],
        )
        set_choices(self, "unit", [*_blank(_("Any unit")), *units])


# The callback screen -----------------------------------------------------------------------------


class CallForm(forms.Form):
    """A form of the callback screen. Several share the page, so each has its own element ids."""

    id_prefix = "call"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class VersionField(forms.IntegerField):
    """The case's version the form was rendered with: a stale form is refused."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class NoteForm(CallForm):
    id_prefix = "note"

    text = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "What the customer said, where exactly we failed them, what you tried."
        ),
    )


class StateForm(CallForm):
    """A move of the workflow: the button pressed names the state."""

    id_prefix = "move"

    state = forms.ChoiceField(choices=CaseState.choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=gettext_lazy("Why is the case reopened?"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    recovery_outcome = forms.ChoiceField(
        label=gettext_lazy("Recovery outcome"),
        choices=[("", gettext_lazy("As recorded")), *RecoveryOutcome.choices],
        required=False,
    )
    version = VersionField()


class RootCausesForm(CallForm):
    id_prefix = "causes"

    problems = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Root causes"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Where exactly did we fail the customer? Choose one or more."),
    )
    version = VersionField()

    def __init__(self, *args: Any, problems: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "problems", problems)


class OutcomeForm(CallForm):
    id_prefix = "outcome"

    recovery_outcome = forms.ChoiceField(
        label=gettext_lazy("Recovery outcome"),
        choices=RecoveryOutcome.choices,
        widget=forms.RadioSelect,
    )
    version = VersionField()


class ReassignForm(CallForm):
    id_prefix = "reassign"

    owner = forms.TypedChoiceField(label=gettext_lazy("New owner"), coerce=int)
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=2000,
        help_text=gettext_lazy("Goes on the case's timeline."),
    )
    version = VersionField()

    def __init__(self, *args: Any, owners: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "owner", [*_blank("—"), *owners])


class CoachingForm(CallForm):
    id_prefix = "coaching"

    behaviour = forms.CharField(
        label=gettext_lazy("Behaviour"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What happened with the customer, in facts."),
    )
    agreed_action = forms.CharField(
        label=gettext_lazy("Agreed action"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What the employee will do differently."),
    )
    due_on = forms.DateField(
        label=gettext_lazy("By"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


# The taxonomy ------------------------------------------------------------------------------------


class ProblemForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=64,
        help_text=gettext_lazy("Lower-case letters, digits, '.', '_' and '-', e.g. billing.wrong."),
    )
    parent = forms.TypedChoiceField(
        label=gettext_lazy("Under"), coerce=int, empty_value=None, required=False
    )
    owner_function = forms.TypedChoiceField(
        label=gettext_lazy("Owning function"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("The HQ function that fixes it when the frontline cannot."),
    )
    frontline_fixable = forms.BooleanField(
        label=gettext_lazy("The frontline can fix it"),
        required=False,
        help_text=gettext_lazy("Cases coded with it stay in the inner loop, with the unit."),
    )
    position = forms.IntegerField(label=gettext_lazy("Position"), min_value=0, initial=0)
    is_active = forms.BooleanField(
        label=gettext_lazy("In use"),
        required=False,
        initial=True,
        help_text=gettext_lazy("A problem no longer in use stays on the cases coded with it."),
    )

    def __init__(
        self,
        *args: Any,
        languages: Sequence[tuple[str, str]],
        required_languages: Sequence[str],
        parents: Sequence[tuple[int, str]],
        functions: Sequence[tuple[int, str]],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "parent", [*_blank(_("The top of the taxonomy")), *parents])
        set_choices(self, "owner_function", [*_blank(_("None")), *functions])
        for code, name in languages:
            self.fields[f"label_{code}"] = forms.CharField(
                label=_("Label in %(language)s") % {"language": name},
                max_length=200,
                required=code in required_languages,
            )
        if not editing:
            del self.fields["is_active"]
        self.languages = [code for code, _name in languages]

    def labels(self) -> dict[str, str]:
        return {
            code: self.cleaned_data[f"label_{code}"]
            for code in self.languages
            if self.cleaned_data.get(f"label_{code}")
        }

    def service_values(self) -> dict[str, Any]:
        values = {
            "code": self.cleaned_data["code"],
            "labels": self.labels(),
            "parent_id": self.cleaned_data["parent"],
            "owner_function_id": self.cleaned_data["owner_function"],
            "frontline_fixable": self.cleaned_data["frontline_fixable"],
            "position": self.cleaned_data["position"],
        }
        if "is_active" in self.fields:
            values["is_active"] = self.cleaned_data["is_active"]
        return values


def problem_initial(problem: Any) -> dict[str, Any]:
    initial = {
        "code": problem.code,
        "parent": problem.parent_id,
        "owner_function": problem.owner_function_id,
        "frontline_fixable": problem.frontline_fixable,
        "position": problem.position,
        "is_active": problem.is_active,
    }
    initial.update({f"label_{code}": label for code, label in (problem.labels or {}).items()})
    return initial


class FunctionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    email = forms.CharField(label=gettext_lazy("Team mailbox"), max_length=254, required=False)
    lead = forms.TypedChoiceField(
        label=gettext_lazy("Lead"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("The person accountable for the function's problems."),
    )
    members = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Members"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("They read the cases of the function's problems."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        people: Sequence[tuple[int, str]],
        members: Sequence[tuple[int, str]],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "lead", [*_blank(_("None")), *people])
        set_choices(self, "members", members)
        if not editing:
            del self.fields["is_active"]

    def service_values(self) -> dict[str, Any]:
        values = {
            "name": self.cleaned_data["name"],
            "description": self.cleaned_data["description"],
            "email": self.cleaned_data["email"],
            "lead_id": self.cleaned_data["lead"],
            "member_ids": self.cleaned_data["members"],
        }
        if "is_active" in self.fields:
            values["is_active"] = self.cleaned_data["is_active"]
        return values


class MappingForm(forms.Form):
    survey = forms.TypedChoiceField(
        label=gettext_lazy("Survey"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("Empty: every survey that asks a question with this key."),
    )
    question_key = forms.CharField(label=gettext_lazy("Question key"), max_length=40)
    option_code = forms.CharField(label=gettext_lazy("Option code"), max_length=64)
    problem = forms.TypedChoiceField(label=gettext_lazy("Problem"), coerce=int)

    def __init__(
        self,
        *args: Any,
        surveys: Sequence[tuple[int, str]],
        problems: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "survey", [*_blank(_("Every survey")), *surveys])
        set_choices(self, "problem", [*_blank("—"), *problems])


# Service errors by their fields ------------------------------------------------------------------

# `conditions[2].phrases.ro[0]` → ("conditions", "2", "phrases.ro[0]")
_ITEM_FIELD = re.compile(r"^(?P<name>[a-z_]+)(?:\[(?P<index>\d+)\](?:\.(?P<part>.+))?)?$")

FORM_FIELDS = {
    "owner_id": "owner",
    "root_causes": "problems",
    "parent_id": "parent",
    "owner_function_id": "owner_function",
    "lead_id": "lead",
    "member_ids": "members",
    "problem_id": "problem",
    "program_id": "program",
    "survey_id": "survey",
}


def add_service_error(form: forms.BaseForm, error: SondaError) -> None:
    """Put a service's errors by the field they name: `owner_id` → owner, `labels.ro` → the
    Romanian label, `conditions[1].classes[0]` → conditions, with the line it was typed on."""
    if not error.errors:
        form.add_error(None, error.detail)
        return
    lines: list[int] = getattr(form, "condition_lines", [])
    for failure in error.errors:
        match = _ITEM_FIELD.match(failure.field)
        name = match.group("name") if match else failure.field
        message = failure.message
        if failure.field.startswith("labels."):
            name = "label_" + failure.field.removeprefix("labels.")
        elif name == "conditions" and match and match.group("index") is not None:
            position = int(match.group("index"))
            part = match.group("part") or ""
            message = _("Line %(line)d: %(part)s %(message)s") % {
                "line": lines[position] if position < len(lines) else position + 1,
                "part": part,
                "message": message,
            }
        elif match and match.group("index") is not None:
            message = _("Item %(number)d: %(message)s") % {
                "number": int(match.group("index")) + 1,
                "message": message,
            }
        name = FORM_FIELDS.get(name, name)
        form.add_error(name if name in form.fields else None, message)
