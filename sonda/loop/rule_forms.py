"""The alert rule form, and conditions typed one per line so that the page needs no JavaScript.

`loyalty ltr: detractor`, `score csat: 1..2`, `answer reasons: staff`, `words comment: en = rude;
ro = nepoliticos`, `competitor: Banca Verde`, `non_response: 90`. The form only turns the lines
into the conditions the service takes; the service judges them, and its errors come back by the
line they were typed on (`sonda.loop.forms.add_service_error`).
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sonda.loop.conditions import KINDS, MAX_CONDITIONS
from sonda.loop.forms import set_choices
from sonda.loop.models import Priority


def _blank(label: Any) -> list[tuple[str, Any]]:
    return [("", label)]


_RANGE = re.compile(r"^\s*(?P<min>-?\d+(?:\.\d+)?)?\s*\.\.\s*(?P<max>-?\d+(?:\.\d+)?)?\s*$")

CONDITIONS_HELP = gettext_lazy(
    "One condition per line, all of which must hold: “loyalty ltr: detractor” (promoter, "
    "passive, detractor); “score csat: 1..2” (either end may be left out: “..6”); “answer "
    "reasons: staff, waiting” (option codes); “words comment: en = rude, slow; ro = "
    "nepoliticos” (phrases per language, a trailing * matches the start of a word; “words:” "
    "looks in every open answer); “competitor: Banca Verde, ING”; “non_response: 90” (an "
    "account silent for so many days, alone in its rule)."
)


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _number(text: str | None) -> int | float | None:
    if text is None:
        return None
    value = float(text)
    return int(value) if value.is_integer() else value


def _condition_of_line(kind: str, question: str | None, rest: str) -> dict[str, Any]:
    """One line's condition as the service takes it (the service judges its values)."""
    if kind == "loyalty":
        return {"kind": kind, "question": question, "classes": _items(rest)}
    if kind == "score":
        found = _RANGE.match(rest)
        if found is None:
            raise ValueError(_("write the range as min..max, e.g. 1..2, ..6 or 9.."))
        condition: dict[str, Any] = {"kind": kind, "question": question}
        for end in ("min", "max"):
            if found.group(end) is not None:
                condition[end] = _number(found.group(end))
        return condition
    if kind == "answer":
        return {"kind": kind, "question": question, "options": _items(rest)}
    if kind == "words":
        phrases: dict[str, list[str]] = {}
        for group in rest.split(";"):
            if not group.strip():
                continue
            language, equals, listed = group.partition("=")
            if not equals:
                raise ValueError(_("write the phrases per language: en = rude, slow; ro = ..."))
            phrases.setdefault(language.strip(), []).extend(_items(listed))
        return {"kind": kind, "question": question, "phrases": phrases}
    if kind == "competitor":
        return {"kind": kind, "question": question, "names": _items(rest)}
    if not rest.strip().isdigit():
        raise ValueError(_("write the number of days, e.g. non_response: 90"))
    return {"kind": kind, "days": int(rest.strip())}


def conditions_parse_text(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The conditions typed one per line, and the line number of each (to name it in errors).

    Raises forms.ValidationError naming every line that cannot be read.
    """
    conditions: list[dict[str, Any]] = []
    line_numbers: list[int] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        head, colon, rest = line.partition(":")
        words = head.split()
        if not colon or not words or len(words) > 2:
            errors.append(
                _("Line %(line)d: write the kind, the question if any, a colon and the values.")
                % {"line": number}
            )
            continue
        kind = words[0].lower()
        if kind not in KINDS:
            errors.append(
                _("Line %(line)d: “%(kind)s” is not a kind of condition; use one of %(kinds)s.")
                % {"line": number, "kind": words[0], "kinds": ", ".join(KINDS)}
            )
            continue
        question = words[1] if len(words) == 2 and words[1] != "*" else None
        try:
            conditions.append(_condition_of_line(kind, question, rest))
        except ValueError as exc:
            errors.append(_("Line %(line)d: %(message)s") % {"line": number, "message": exc})
            continue
        line_numbers.append(number)
    if len(conditions) > MAX_CONDITIONS:
        errors.append(_("At most %(count)d conditions.") % {"count": MAX_CONDITIONS})
    if errors:
        raise forms.ValidationError(errors)
    return conditions, line_numbers


def _shown(number: object) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return "" if number is None else str(number)


def conditions_text(conditions: Sequence[Mapping[str, Any]]) -> str:
    """Stored conditions as the lines a person types (the inverse of `conditions_parse_text`)."""
    lines = []
    for condition in conditions:
        kind = str(condition.get("kind", ""))
        question = condition.get("question")
        head = f"{kind} {question}" if question else kind
        if kind == "loyalty":
            rest = ", ".join(condition.get("classes", []))
        elif kind == "score":
            rest = f"{_shown(condition.get('min'))}..{_shown(condition.get('max'))}"
        elif kind == "answer":
            rest = ", ".join(condition.get("options", []))
        elif kind == "words":
            rest = "; ".join(
                f"{language} = {', '.join(phrases)}"
                for language, phrases in (condition.get("phrases") or {}).items()
            )
        elif kind == "competitor":
            rest = ", ".join(condition.get("names", []))
        else:
            rest = str(condition.get("days", ""))
        lines.append(f"{head}: {rest}")
    return "\n".join(lines)


class AlertRuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    program = forms.TypedChoiceField(
        label=gettext_lazy("Program"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("Empty: responses of every program."),
    )
    survey = forms.TypedChoiceField(
        label=gettext_lazy("Survey"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy(
            "Empty: every survey of the program. With a survey, the conditions are checked "
            "against its questions."
        ),
    )
    conditions = forms.CharField(
        label=gettext_lazy("Conditions"),
        strip=False,  # leading blank lines stay, so that "line 3" is the third line typed
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=CONDITIONS_HELP,
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    position = forms.IntegerField(
        label=gettext_lazy("Position"),
        min_value=0,
        max_value=1_000_000,
        initial=0,
        help_text=gettext_lazy(
            "Of the rules a response matches, the most urgent wins, then the lowest position."
        ),
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("Active"),
        required=False,
        initial=True,
        help_text=gettext_lazy("A paused rule opens no cases."),
    )

    def __init__(
        self,
        *args: Any,
        programs: Sequence[tuple[int, str]],
        surveys: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        set_choices(self, "program", [*_blank(_("Every program")), *programs])
        set_choices(self, "survey", [*_blank(_("Every survey")), *surveys])
        self.condition_lines: list[int] = []

    def clean_conditions(self) -> list[dict[str, Any]]:
        conditions, self.condition_lines = conditions_parse_text(self.cleaned_data["conditions"])
        if not conditions:
            raise forms.ValidationError(_("Write at least one condition."))
        return conditions

    def service_values(self) -> dict[str, Any]:
        return {
            "name": self.cleaned_data["name"],
            "program_id": self.cleaned_data["program"],
            "survey_id": self.cleaned_data["survey"],
            "conditions": self.cleaned_data["conditions"],
            "priority": self.cleaned_data["priority"],
            "position": self.cleaned_data["position"],
            "is_active": self.cleaned_data["is_active"],
        }


def alert_rule_initial(rule: Any) -> dict[str, Any]:
    return {
        "name": rule.name,
        "program": rule.program_id,
        "survey": rule.survey_id,
        "conditions": conditions_text(rule.conditions),
        "priority": rule.priority,
        "position": rule.position,
        "is_active": rule.is_active,
    }
