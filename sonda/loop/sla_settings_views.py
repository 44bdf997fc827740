"""The SLA settings page (/loop/sla/settings/): targets per priority and the business calendar.

Every member reads them, since the deadlines are theirs; admins and analysts change them and the
others are refused (403), exactly as /api/v1/sla allows. The forms only turn what was typed into
the values the services of `sonda.loop.sla` take; the services judge every value, so the page and
the API accept the same settings, and a refusal comes back next to the row and field it names.
Nothing is changed when anything is refused.

The calendar form has a row per weekday with from/to times (two intervals a day, more when the
saved calendar has more) and one text area for holidays and special days, a date per line:
`2026-12-25` closes the day, `2026-12-24 09:00-13:00` gives it its own hours. A time input cannot
hold 24:00, so an end of 00:00 is midnight.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dates import WEEKDAYS as DAY_NAMES
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import ValidationFailed
from sonda.loop.business_hours import WEEKDAYS, BusinessCalendar, Opening
from sonda.loop.models import Priority
from sonda.loop.sla import (
    SlaTargetHours,
    business_calendar_get,
    business_calendar_reset,
    business_calendar_set,
    case_deadlines,
    sla_clock,
    sla_target_reset,
    sla_target_set,
    sla_targets,
)
from sonda.loop.sla_reports import REPORT_READERS
from sonda.web.pages import add_service_error, scoped_page

# A split day (a lunch break) is common; a saved calendar with more intervals gets more columns.
LEAST_INTERVALS = 2
# Beyond any real working day; a form posting more interval fields than this is not ours.
MOST_INTERVALS = 9
TIME_ZONES = sorted(available_timezones())
SLOT_FIELD = re.compile(rf"^({'|'.join(WEEKDAYS)})_(\d)_(start|end)$")
HOURS_SEPARATOR = re.compile(r"\s*[-\u2013\u2014]\s*")
SERVICE_PATH = re.compile(r"^(hours\.\w+\[\d+\]|holidays\[\d+\]|special_days\[\d+\])(?:\.(.+))?$")
ONE_DIGIT_HOUR = re.compile(r"^\d:\d\d$")
MIDNIGHT = "24:00"
NOT_HOURS = gettext_lazy(
    "“%(text)s” is not working hours like 09:00-13:00; a date alone closes the day"
)


def _now() -> datetime:
    return timezone.now()


def _day_name(index: int) -> str:
    return str(DAY_NAMES[index])


# Targets -----------------------------------------------------------------------------------------


class SlaTargetForm(forms.Form):
    """A priority's three targets; prefixed with the priority, one form per row of the page."""

    first_contact_hours = forms.IntegerField(
        label=gettext_lazy("First contact within (hours)"),
        widget=forms.NumberInput(attrs={"min": 1, "max": 2000}),
    )
    close_hours = forms.IntegerField(
        label=gettext_lazy("Resolved within (hours)"),
        widget=forms.NumberInput(attrs={"min": 1, "max": 2000}),
    )
    warn_before_hours = forms.IntegerField(
        label=gettext_lazy("Warning before (hours)"),
        help_text=gettext_lazy("0: no warning."),
        widget=forms.NumberInput(attrs={"min": 0, "max": 2000}),
    )


def _target_form(target: SlaTargetHours) -> SlaTargetForm:
    return SlaTargetForm(
        prefix=target.priority,
        initial={
            "first_contact_hours": target.first_contact_hours,
            "close_hours": target.close_hours,
            "warn_before_hours": target.warn_before_hours,
        },
    )


# The calendar ------------------------------------------------------------------------------------


def _time_typed(text: str, *, end: bool) -> str:
    """The wall time as the calendar reads it: 9:00 is 09:00, and an end of 00:00 is 24:00."""
    text = text.strip()
    if ONE_DIGIT_HOUR.match(text):
        text = f"0{text}"
    return MIDNIGHT if end and text == "00:00" else text


def _time_shown(opening: dict[str, str], edge: str) -> str:
    """The wall time for a time input, which cannot hold 24:00."""
    return "00:00" if opening[edge] == MIDNIGHT else opening[edge]


def _hours_text(openings: Iterable[Mapping[str, str]], separator: str = "-") -> str:
    return ", ".join(f"{opening['start']}{separator}{opening['end']}" for opening in openings)


@dataclass(frozen=True)
class _Source:
    """Where a part of the calendar sent to the service was typed: a field, or a line."""

    field: str
    line: int = 0
    text: str = ""


class BusinessCalendarForm(forms.Form):
    """The calendar: time zone, from/to times per weekday, and holidays and special days.

    `calendar_json()` gives the calendar as `business_calendar_set` takes it;
    `add_service_error()` puts the service's refusal next to the field or line it came from.
    """

    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("A time zone name such as Europe/Bucharest."),
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )
    special = forms.CharField(
        label=gettext_lazy("Holidays and special days"),
        required=False,
        strip=False,  # the line numbers of errors count the blank lines too
        help_text=gettext_lazy(
            "One date per line. A date alone closes the day (2026-12-25); a date with hours "
            "replaces that day's working hours (2026-12-24 09:00-13:00, or two intervals: "
            "2026-12-31 08:00-11:00, 12:00-14:00)."
        ),
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, intervals: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.intervals = range(intervals)
        for index, day in enumerate(WEEKDAYS):
            for slot in self.intervals:
                for edge in ("start", "end"):
                    self.fields[f"{day}_{slot}_{edge}"] = forms.CharField(
                        label=self._slot_label(_day_name(index), slot, edge),
                        required=False,
                        widget=forms.TimeInput(attrs={"type": "time"}),
                    )
        self._sources: dict[str, _Source] = {}
        self._document: dict[str, Any] = {}

    @staticmethod
    def _slot_label(day: str, slot: int, edge: str) -> str:
        if slot == 0:
            text = _("%(day)s, from") if edge == "start" else _("%(day)s, to")
            return text % {"day": day}
        text = (
            _("%(day)s, interval %(number)d, from")
            if edge == "start"
            else _("%(day)s, interval %(number)d, to")
        )
        return text % {"day": day, "number": slot + 1}

    @classmethod
    def intervals_posted(cls, data: Mapping[str, Any]) -> int:
        """The interval columns a posted form had (at least two)."""
        posted = [int(match[2]) + 1 for key in data if (match := SLOT_FIELD.match(key))]
        return max([LEAST_INTERVALS, *posted])

    @classmethod
    def initial_of(cls, calendar: BusinessCalendar) -> tuple[dict[str, str], int]:
        """The form's initial values for a saved calendar, and the interval columns it needs."""
        document = calendar.to_json()
        week: dict[str, list[dict[str, str]]] = document["hours"]  # type: ignore[assignment]
        initial = {"time_zone": calendar.time_zone}
        for day, openings in week.items():
            for slot, opening in enumerate(openings):
                initial[f"{day}_{slot}_start"] = _time_shown(opening, "start")
                initial[f"{day}_{slot}_end"] = _time_shown(opening, "end")
        lines = [(holiday, holiday) for holiday in document["holidays"]]  # type: ignore[attr-defined]
        lines += [
            (special["day"], f"{special['day']} {_hours_text(special['hours'])}")
            for special in document["special_days"]  # type: ignore[attr-defined]
        ]
        initial["special"] = "\n".join(line for _day, line in sorted(lines))
        longest = max((len(openings) for openings in week.values()), default=0)
        return initial, max(LEAST_INTERVALS, longest)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        hours: dict[str, list[dict[str, str]]] = {}
        for day in WEEKDAYS:
            hours[day] = []
            for slot in self.intervals:
                start_field, end_field = f"{day}_{slot}_start", f"{day}_{slot}_end"
                start = _time_typed(cleaned.get(start_field) or "", end=False)
                end = _time_typed(cleaned.get(end_field) or "", end=True)
                if not start and not end:
                    continue
                if not end:
                    self.add_error(end_field, _("enter the end of these working hours as well"))
                elif not start:
                    self.add_error(start_field, _("enter the start of these working hours as well"))
                self._sources[f"hours.{day}[{len(hours[day])}]"] = _Source(f"{day}_{slot}")
                hours[day].append({"start": start, "end": end})
        holidays, special_days = self._special_lines(cleaned.get("special") or "")
        self._document = {
            "time_zone": (cleaned.get("time_zone") or "").strip(),
            "hours": hours,
            "holidays": holidays,
            "special_days": special_days,
        }
        return cleaned

    def _special_lines(self, text: str) -> tuple[list[str], list[dict[str, Any]]]:
        holidays: list[str] = []
        special_days: list[dict[str, Any]] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line:
                continue
            day, *rest = line.split(None, 1)
            if not rest:
                self._sources[f"holidays[{len(holidays)}]"] = _Source("special", number, line)
                holidays.append(day)
                continue
            openings = []
            for part in (part.strip() for part in rest[0].split(",")):
                start, *end = HOURS_SEPARATOR.split(part, maxsplit=1)
                if not end:
                    self._line_error(number, line, NOT_HOURS % {"text": part})
                    break
                openings.append(
                    {"start": _time_typed(start, end=False), "end": _time_typed(end[0], end=True)}
                )
            else:
                self._sources[f"special_days[{len(special_days)}]"] = _Source(
                    "special", number, line
                )
                special_days.append({"day": day, "hours": openings})
        return holidays, special_days

    def _line_error(self, number: int, line: str, message: str) -> None:
        self.add_error(
            "special",
            _("Line %(number)d (“%(line)s”): %(message)s")
            % {"number": number, "line": line, "message": message},
        )

    def calendar_json(self) -> dict[str, Any]:
        """The calendar as `business_calendar_set` reads it; only after `is_valid()`."""
        return self._document

    def add_service_error(self, error: ValidationFailed) -> None:
        """Show the service's refusal next to the field or on the line it came from."""
        if not error.errors:
            self.add_error(None, error.detail)
        for failure in error.errors:
            if failure.field == "time_zone":
                self.add_error("time_zone", failure.message)
                continue
            match = SERVICE_PATH.match(failure.field)
            source = self._sources.get(match[1]) if match else None
            if match is None or source is None:
                # "hours": the week as a whole, e.g. no working time in it.
                subject = _("Working hours") if failure.field == "hours" else failure.field
                self.add_error(None, f"{subject}: {failure.message}")
            elif source.line:
                self._line_error(source.line, source.text, failure.message)
            else:
                edge = "end" if (match[2] or "").endswith("end") else "start"
                self.add_error(f"{source.field}_{edge}", failure.message)

    def week_rows(self) -> list[tuple[str, list[tuple[forms.BoundField, forms.BoundField]]]]:
        """Per weekday, its name and its intervals' (from, to) fields, for the table."""
        return [
            (
                _day_name(index),
                [
                    (self[f"{day}_{slot}_start"], self[f"{day}_{slot}_end"])
                    for slot in self.intervals
                ],
            )
            for index, day in enumerate(WEEKDAYS)
        ]

    def error_summary(self) -> list[str]:
        """Every refusal with the field it is about, for the list above the form."""
        summary = [str(error) for error in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name == NON_FIELD_ERRORS:
                continue
            label = self.fields[name].label
            summary += [f"{label}: {error}" for error in errors]
        return summary


def _calendar_form(calendar: BusinessCalendar) -> BusinessCalendarForm:
    initial, intervals = BusinessCalendarForm.initial_of(calendar)
    return BusinessCalendarForm(initial=initial, intervals=intervals)


# The page ----------------------------------------------------------------------------------------


def _openings_text(openings: Iterable[Opening]) -> str:
    return _hours_text((opening.to_json() for opening in openings), "\u2013")


def _settings_render(
    request: HttpRequest,
    scope: Scope,
    *,
    target_forms: Mapping[str, SlaTargetForm] | None = None,
    calendar_form: BusinessCalendarForm | None = None,
) -> HttpResponse:
    can_change = scope.can_configure
    targets = sla_targets(scope=scope)
    setting = business_calendar_get(scope=scope)
    calendar = setting.calendar
    clock = sla_clock(scope.organisation_id)
    now = _now()
    preview = [
        (target, case_deadlines(clock=clock, priority=target.priority, opened_at=now))
        for target in targets
    ]
    forms_by_priority = dict(target_forms or {})
    context = {
        "can_change": can_change,
        "reads_reports": scope.role in REPORT_READERS,
        "reads_configuration": scope.sees_whole_organisation,
        "targets": [
            (
                target,
                (forms_by_priority.get(target.priority) or _target_form(target))
                if can_change
                else None,
            )
            for target in targets
        ],
        "target_list": targets,
        "calendar": calendar,
        "calendar_is_default": setting.is_default,
        "calendar_form": (calendar_form or _calendar_form(calendar)) if can_change else None,
        "time_zones": TIME_ZONES if can_change else [],
        "week": [
            (_day_name(index), _openings_text(openings))
            for index, openings in enumerate(calendar.hours)
        ],
        "special_days": sorted(
            [(holiday, "") for holiday in calendar.holidays]
            + [(special.day, _openings_text(special.hours)) for special in calendar.special_days]
        ),
        "now": now,
        "preview": preview,
    }
    return render(request, "loop/sla_settings.html", context)


def _target_priority(request: HttpRequest) -> str | None:
    priority = request.POST.get("priority", "")
    return priority if priority in Priority.values else None


def _target_save(request: HttpRequest, scope: Scope, priority: str) -> HttpResponse:
    form = SlaTargetForm(request.POST, prefix=priority)
    if form.is_valid():
        try:
            target = sla_target_set(scope=scope, priority=priority, **form.cleaned_data)
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("The targets of the priority “%(priority)s” are saved.")
                % {"priority": target.label},
            )
            return redirect("loop_sla:settings")
    return _settings_render(request, scope, target_forms={priority: form})


def _calendar_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    intervals = BusinessCalendarForm.intervals_posted(request.POST)
    form = BusinessCalendarForm(request.POST, intervals=min(intervals, MOST_INTERVALS))
    if form.is_valid():
        try:
            business_calendar_set(scope=scope, calendar=form.calendar_json())
        except ValidationFailed as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("The business calendar is saved."))
            return redirect("loop_sla:settings")
    return _settings_render(request, scope, calendar_form=form)


@require_http_methods(["GET", "POST"])
@scoped_page
def settings_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    if request.method != "POST":
        return _settings_render(request, scope)
    scope.require(CONFIGURE, "change SLA targets or the business calendar")
    action = request.POST.get("action")
    if action == "calendar_save":
        return _calendar_save(request, scope)
    if action == "calendar_reset":
        business_calendar_reset(scope=scope)
        messages.success(
            request,
            _("The business calendar is back to office hours, Monday to Friday 09:00–17:00."),
        )
        return redirect("loop_sla:settings")
    priority = _target_priority(request)
    if priority is None or action not in ("target_save", "target_reset"):
        return HttpResponseBadRequest(_("This is not a change the SLA settings page makes."))
    if action == "target_save":
        return _target_save(request, scope, priority)
    target = sla_target_reset(scope=scope, priority=priority)
    messages.success(
        request,
        _("The targets of the priority “%(priority)s” are back to the defaults.")
        % {"priority": target.label},
    )
    return redirect("loop_sla:settings")
