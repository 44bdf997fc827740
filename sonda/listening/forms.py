"""Forms of listening configuration: trigger rules, contact rules, quiet hours.

Lists are typed as comma-separated text and conditions one per line (`product eq mortgage`), so
the pages work without JavaScript. The forms only turn text into values; the services apply the
rules, and their errors come back next to the field (and the line) they name.
"""

import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sonda.core.errors import SondaError
from sonda.listening.conditions import MAX_CONDITIONS, OPS
from sonda.listening.models import ContactRuleKind, ContactScope, RuleStatus, Timing
from sonda.listening.rules import KIND_NUMBERS, MAX_VALID_DAYS, NUMBER_FIELDS

# `conditions[2].op` → ("conditions", 2, "op")
_ITEM_FIELD = re.compile(r"^(?P<name>[a-z_]+)(?:\[(?P<index>\d+)\](?:\.(?P<part>\w+))?)?$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
CONDITION_FIELDS = ("conditions", "customer_conditions")


def _set_choices(form: forms.BaseForm, name: str, choices: Sequence[tuple[Any, str]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = list(choices)


# --- Lists and conditions as text ---------------------------------------------------------------


def text_list(value: str) -> list[str]:
    """`"call, visit, ,call"` → `["call", "visit", "call"]` (the service lists each once)."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _scalar(text: str) -> Any:
    """A condition's value as typed: a number, true/false, or text ("quoted" stays text)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if _NUMBER.match(text):
        return int(text) if "." not in text else float(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and (_NUMBER.match(value) or value.lower() in ("true", "false")):
        return json.dumps(value)  # quoted, so that it reads back as text
    return str(value)


def conditions_text(conditions: Sequence[dict[str, Any]]) -> str:
    """Stored conditions as the lines a person types: `product in loan, card`."""
    lines = []
    for condition in conditions:
        value = condition.get("value")
        if isinstance(value, list):
            shown = ", ".join(_shown(item) for item in value)
        else:
            shown = _shown(value)
        lines.append(f"{condition.get('attribute', '')} {condition.get('op', '')} {shown}".strip())
    return "\n".join(lines)


def conditions_parse(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """The conditions typed one per line, and the line number of each (to name it in errors).

    Raises forms.ValidationError naming every line that cannot be read.
    """
    conditions: list[dict[str, Any]] = []
    line_numbers: list[int] = []
    errors: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            errors.append(
                _("Line %(line)d: write the attribute, the operator and the value.")
                % {"line": number}
            )
            continue
        attribute, op = parts[0], parts[1].lower()
        if op not in OPS:
            errors.append(
                _("Line %(line)d: “%(op)s” is not an operator; use one of %(ops)s.")
                % {"line": number, "op": parts[1], "ops": ", ".join(OPS)}
            )
            continue
        condition: dict[str, Any] = {"attribute": attribute, "op": op}
        raw = parts[2].strip() if len(parts) > 2 else ""
        if op in ("in", "not_in"):
            options = [_scalar(item) for item in raw.split(",") if item.strip()]
            if not options:
                errors.append(
                    _("Line %(line)d: the values are missing; separate them with commas.")
                    % {"line": number}
                )
                continue
            condition["value"] = options
        elif raw or op != "exists":
            if not raw:
                errors.append(_("Line %(line)d: the value is missing.") % {"line": number})
                continue
            condition["value"] = _scalar(raw)
        conditions.append(condition)
        line_numbers.append(number)
    if len(conditions) > MAX_CONDITIONS:
        errors.append(_("At most %(count)d conditions.") % {"count": MAX_CONDITIONS})
    if errors:
        raise forms.ValidationError(errors)
    return conditions, line_numbers


CONDITIONS_HELP = gettext_lazy(
    "One per line: the attribute, the operator and the value, e.g. “product eq mortgage”, "
    "“amount gte 1000”, “product in loan, card” or “customer.segment exists”. Operators: eq, "
    "ne, in, not_in, gt, gte, lt, lte, exists. A name starting with customer. reads the "
    "customer's profile; other names read the interaction's attributes."
)


class ConditionsField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        # Leading blank lines stay, so that "line 3" in an error is the third line typed.
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        kwargs.setdefault("help_text", CONDITIONS_HELP)
        super().__init__(**kwargs)


def add_service_error(form: forms.BaseForm, error: SondaError) -> None:
    """Put a service's errors by the field they name: `survey_id` → survey, `event_types[1]` →
    event types, `conditions[0].op` → conditions, with the line it was typed on."""
    if not error.errors:
        form.add_error(None, error.detail)
        return
    condition_lines: dict[str, list[int]] = getattr(form, "condition_lines", {})
    for failure in error.errors:
        match = _ITEM_FIELD.match(failure.field)
        name = match.group("name") if match else failure.field
        if name not in form.fields and name.endswith("_id"):
            name = name.removesuffix("_id")
        message = failure.message
        index = match.group("index") if match else None
        if index is not None and name in CONDITION_FIELDS:
            lines = condition_lines.get(name, [])
            position = int(index)
            message = _("Line %(line)d: %(part)s %(message)s") % {
                "line": lines[position] if position < len(lines) else position + 1,
                "part": (match.group("part") if match else "") or "",
                "message": message,
            }
        elif index is not None:
            message = _("Item %(number)d: %(message)s") % {
                "number": int(index) + 1,
                "message": message,
            }
        form.add_error(name if name in form.fields else None, message)


# --- Trigger rules ------------------------------------------------------------------------------


class TriggerRuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    survey = forms.TypedChoiceField(
        label=gettext_lazy("Survey"),
        coerce=int,
        help_text=gettext_lazy("The survey the customer is invited to; it must be published."),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=RuleStatus.choices,
        initial=RuleStatus.PAUSED,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "A paused rule invites nobody. Start paused, try the rule on past events, then "
            "switch it on."
        ),
    )
    priority = forms.IntegerField(
        label=gettext_lazy("Priority"),
        min_value=0,
        initial=100,
        help_text=gettext_lazy(
            "Rules are tried from the lowest number up; the first that invites stops the others "
            "unless it lets later rules invite too."
        ),
    )
    event_types = forms.CharField(
        label=gettext_lazy("Event types"),
        required=False,
        help_text=gettext_lazy("Comma-separated, e.g. call_completed, branch_visit. Empty: any."),
    )
    channels = forms.CharField(
        label=gettext_lazy("Channels"),
        required=False,
        help_text=gettext_lazy("Comma-separated, e.g. phone, branch, web. Empty: any."),
    )
    unit = forms.TypedChoiceField(
        label=gettext_lazy("Unit"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("Interactions in this unit and the units below it. Empty: any."),
    )
    touchpoints = forms.CharField(
        label=gettext_lazy("Touchpoints"),
        required=False,
        help_text=gettext_lazy("Comma-separated, e.g. cash_desk, mortgage_line. Empty: any."),
    )
    conditions = ConditionsField(label=gettext_lazy("Attribute conditions"))
    timing = forms.ChoiceField(
        label=gettext_lazy("When to invite"),
        choices=Timing.choices,
        initial=Timing.IMMEDIATE,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "SMS never goes out during quiet hours; it waits for the morning whatever the timing."
        ),
    )
    delay_minutes = forms.IntegerField(
        label=gettext_lazy("Delay (minutes)"),
        min_value=0,
        required=False,
        help_text=gettext_lazy("Only for “after a delay”: how long after the interaction."),
    )
    delivery_order = forms.CharField(
        label=gettext_lazy("Delivery channels, in order"),
        initial="email, sms, link",
        help_text=gettext_lazy(
            "Comma-separated from email, sms and link: the first the customer can be reached on "
            "and has consented to is used. link returns the survey link to the system that sent "
            "the interaction."
        ),
    )
    sampling_percent = forms.DecimalField(
        label=gettext_lazy("Sampling (%)"),
        min_value=0,
        max_value=100,
        decimal_places=3,
        initial=100,
        help_text=gettext_lazy(
            "The share of customers invited. The same customer is always in or always out."
        ),
    )
    daily_quota_per_unit = forms.IntegerField(
        label=gettext_lazy("Daily quota per unit"),
        min_value=1,
        required=False,
        help_text=gettext_lazy(
            "At most this many invitations per unit and day, so that a busy branch does not "
            "crowd out the others. Empty: no quota."
        ),
    )
    also_evaluate_others = forms.BooleanField(
        label=gettext_lazy("Let later rules invite too"), required=False
    )
    valid_days = forms.IntegerField(
        label=gettext_lazy("Link valid for (days)"),
        min_value=1,
        max_value=MAX_VALID_DAYS,
        initial=14,
    )
    reminder_after_days = forms.IntegerField(
        label=gettext_lazy("Reminder after (days)"),
        min_value=1,
        required=False,
        help_text=gettext_lazy("One reminder, before the link expires. Empty: no reminder."),
    )

    def __init__(
        self,
        *args: Any,
        surveys: Sequence[tuple[int, str]],
        units: Sequence[tuple[int, str]],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.condition_lines: dict[str, list[int]] = {}
        _set_choices(self, "survey", [("", "—"), *surveys])
        _set_choices(self, "unit", [("", _("Any unit")), *units])
        if editing:
            # A rule's status changes by its pause and resume buttons, not by editing it.
            del self.fields["status"]

    def clean_conditions(self) -> list[dict[str, Any]]:
        conditions, lines = conditions_parse(self.cleaned_data.get("conditions") or "")
        self.condition_lines["conditions"] = lines
        return conditions

    def service_values(self) -> dict[str, Any]:
        """The cleaned form as the service's keyword arguments."""
        data = self.cleaned_data
        values = {
            "name": data["name"],
            "survey_id": data["survey"],
            "priority": data["priority"],
            "event_types": text_list(data["event_types"]),
            "channels": text_list(data["channels"]),
            "unit_id": data["unit"],
            "touchpoints": text_list(data["touchpoints"]),
            "conditions": data["conditions"],
            "timing": data["timing"],
            "delay_minutes": data["delay_minutes"] or 0,
            "delivery_order": [item.lower() for item in text_list(data["delivery_order"])],
            "sampling_percent": data["sampling_percent"],
            "daily_quota_per_unit": data["daily_quota_per_unit"],
            "also_evaluate_others": data["also_evaluate_others"],
            "valid_days": data["valid_days"],
            "reminder_after_days": data["reminder_after_days"],
        }
        if "status" in self.fields:
            values["status"] = data["status"]
        return values


def percent_text(value: Decimal | int | float) -> str:
    """12.500 as "12.5", 100.000 as "100"."""
    text = f"{Decimal(str(value)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def trigger_rule_initial(rule: Any) -> dict[str, Any]:
    return {
        "name": rule.name,
        "survey": rule.survey_id,
        "priority": rule.priority,
        "event_types": ", ".join(rule.event_types),
        "channels": ", ".join(rule.channels),
        "unit": rule.unit_id,
        "touchpoints": ", ".join(rule.touchpoints),
        "conditions": conditions_text(rule.conditions),
        "timing": rule.timing,
        "delay_minutes": rule.delay_minutes or None,
        "delivery_order": ", ".join(rule.delivery_order),
        "sampling_percent": percent_text(rule.sampling_percent),
        "daily_quota_per_unit": rule.daily_quota_per_unit,
        "also_evaluate_others": rule.also_evaluate_others,
        "valid_days": rule.valid_days,
        "reminder_after_days": rule.reminder_after_days,
    }


# --- Contact rules ------------------------------------------------------------------------------


class ContactRuleForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=200,
        help_text=gettext_lazy("Say the rule in words, e.g. “At most one survey a month”."),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=ContactRuleKind.choices, widget=forms.RadioSelect
    )
    max_invitations = forms.IntegerField(
        label=gettext_lazy("At most N invitations"),
        min_value=1,
        required=False,
        help_text=gettext_lazy("For “at most N invitations in a window”."),
    )
    window_days = forms.IntegerField(
        label=gettext_lazy("Window (days)"),
        min_value=1,
        required=False,
        help_text=gettext_lazy("For “at most N invitations in a window”."),
    )
    gap_days = forms.IntegerField(
        label=gettext_lazy("Gap (days)"),
        min_value=1,
        required=False,
        help_text=gettext_lazy("For “at least D days after the last invitation / response”."),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Applies to"),
        choices=ContactScope.choices,
        initial=ContactScope.ORGANISATION,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Organisation: every invitation counts. Program or survey: only that program's or "
            "survey's invitations count, and the rule only holds back invitations to it."
        ),
    )
    program = forms.TypedChoiceField(
        label=gettext_lazy("Program"), coerce=int, empty_value=None, required=False
    )
    survey = forms.TypedChoiceField(
        label=gettext_lazy("Survey"), coerce=int, empty_value=None, required=False
    )
    customer_conditions = ConditionsField(
        label=gettext_lazy("Only for customers where"),
        help_text=gettext_lazy(
            "One per line, about the customer's profile, e.g. “segment eq business”. Empty: "
            "every customer. Operators: eq, ne, in, not_in, gt, gte, lt, lte, exists."
        ),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        programs: Sequence[tuple[int, str]],
        surveys: Sequence[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.condition_lines: dict[str, list[int]] = {}
        _set_choices(self, "program", [("", "—"), *programs])
        _set_choices(self, "survey", [("", "—"), *surveys])

    def clean_customer_conditions(self) -> list[dict[str, Any]]:
        conditions, lines = conditions_parse(self.cleaned_data.get("customer_conditions") or "")
        self.condition_lines["customer_conditions"] = lines
        return conditions

    def service_values(self) -> dict[str, Any]:
        """The cleaned form as the service's keyword arguments. Numbers and targets that the
        chosen kind and scope do not use are left out, so a page without JavaScript need not
        empty them by hand."""
        data = self.cleaned_data
        kind, scope = data["kind"], data["scope"]
        numbers = {
            field: data[field] if field in KIND_NUMBERS[kind] else None for field in NUMBER_FIELDS
        }
        return {
            "name": data["name"],
            "kind": kind,
            "rule_scope": scope,
            "program_id": data["program"] if scope == ContactScope.PROGRAM else None,
            "survey_id": data["survey"] if scope == ContactScope.SURVEY else None,
            **numbers,
            "customer_conditions": data["customer_conditions"],
            "active": data["active"],
        }


def contact_rule_initial(rule: Any) -> dict[str, Any]:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "max_invitations": rule.max_invitations,
        "window_days": rule.window_days,
        "gap_days": rule.gap_days,
        "scope": rule.scope,
        "program": rule.program_id,
        "survey": rule.survey_id,
        "customer_conditions": conditions_text(rule.customer_conditions),
        "active": rule.active,
    }


# --- Quiet hours --------------------------------------------------------------------------------


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


class ListeningSettingsForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Default time zone"),
        help_text=gettext_lazy(
            "Quiet hours are kept in the customer's own time zone; this one is used for "
            "customers whose profile has none."
        ),
    )
    quiet_hours_start = forms.TimeField(
        label=gettext_lazy("Quiet hours from"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_hours_end = forms.TimeField(
        label=gettext_lazy("Quiet hours until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy(
            "The next morning when it is earlier than the start. The same time as the start: "
            "no quiet hours."
        ),
    )
    quiet_hours_for_email = forms.BooleanField(
        label=gettext_lazy("Hold email back during quiet hours too"),
        required=False,
        help_text=gettext_lazy("SMS always waits for the morning."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "time_zone", time_zone_choices())
