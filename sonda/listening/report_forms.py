"""Forms of the listening reports: the dry run, the sample-size planner and the report filters.

Filter forms read the query string and leave out what they cannot read, so a mistyped filter
narrows nothing rather than failing the page.
"""

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sonda.accounts.access import Scope
from sonda.listening.models import DeliveryChannel, InvitationStatus, RuleStatus, TriggerRule
from sonda.listening.planning import DEFAULT_MARGIN
from sonda.listening.rates import GROUPINGS
from sonda.org.models import Unit
from sonda.org.selectors import unit_list
from sonda.surveys.models import Survey
from sonda.surveys.selectors import survey_list

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
EVERY = ("", _("All"))


def _unit_label(unit: Unit) -> str:
    return f"{'— ' * unit.depth}{unit.name} ({unit.code})"


def unit_choices(scope: Scope) -> list[tuple[str, str]]:
    return [(str(unit.pk), _unit_label(unit)) for unit in unit_list(scope=scope)]


def survey_choices(scope: Scope) -> list[tuple[str, str]]:
    surveys = Survey.objects.filter(organisation=scope.organisation).order_by("name", "id")
    if scope.sees_whole_organisation:
        return [(str(survey.pk), survey.name) for survey in surveys]
    # Managers read rates of every survey (within their subtree), so they choose among them all.
    return [(str(survey.pk), survey.name) for survey in surveys.filter(is_archived=False)]


def last_days(days: int) -> tuple[date, date]:
    today = timezone.localdate()
    return today - timedelta(days=days - 1), today


class FilterForm(forms.Form):
    """A GET form whose unreadable fields are dropped; `value(name)` reads one cleaned filter."""

    def value(self, name: str) -> Any:
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        found = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
        return None if found in (None, "", []) else found

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


class SimulationForm(forms.Form):
    date_from = forms.DateField(label=pgettext_lazy("start of a date range", "From"), widget=DATE)
    date_to = forms.DateField(label=_("To"), widget=DATE)
    rules = forms.TypedMultipleChoiceField(
        label=_("Paused rules to simulate as if switched on"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The active rules always take part."),
    )
    margin_target = forms.FloatField(
        label=_("Margin of error to aim for (± NPS points)"),
        min_value=0.1,
        max_value=100,
        initial=DEFAULT_MARGIN,
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        paused = TriggerRule.objects.filter(
            organisation=scope.organisation, status=RuleStatus.PAUSED
        ).order_by("priority", "id")
        rules = self.fields["rules"]
        assert isinstance(rules, forms.ChoiceField)
        rules.choices = [(str(rule.pk), rule.name) for rule in paused]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            self.add_error("date_to", _("The last day may not come before the first."))
        return data


class PlannerForm(forms.Form):
    margin = forms.FloatField(
        label=_("Margin of error (± NPS points, 95%)"),
        min_value=0.1,
        max_value=200,
        initial=DEFAULT_MARGIN,
    )
    survey = forms.TypedChoiceField(
        label=_("Variance from this survey's history"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Leave empty to use the expected mix below (or the worst case)."),
    )
    promoters = forms.FloatField(
        label=_("Expected promoters (%)"), min_value=0, max_value=100, required=False
    )
    detractors = forms.FloatField(
        label=_("Expected detractors (%)"), min_value=0, max_value=100, required=False
    )
    response_rate = forms.FloatField(
        label=_("Response rate (%)"), min_value=0.01, max_value=100, required=False
    )
    population = forms.IntegerField(
        label=_("Customers in the population"),
        min_value=1,
        required=False,
        help_text=_("For a small population (a unit's customers, B2B accounts)."),
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        survey = self.fields["survey"]
        assert isinstance(survey, forms.ChoiceField)
        survey.choices = [
            ("", _("None")),
            *((str(s.pk), s.name) for s in survey_list(scope=scope)),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        promoters, detractors = data.get("promoters"), data.get("detractors")
        if (promoters is None) != (detractors is None):
            self.add_error(
                "detractors" if detractors is None else "promoters",
                _("Give both shares, or neither."),
            )
        elif promoters is not None and detractors is not None and promoters + detractors > 100:
            self.add_error("detractors", _("Promoters and detractors add up to more than 100%."))
        return data


class RatesForm(FilterForm):
    date_from = forms.DateField(label=_("Invited from"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("Invited to"), required=False, widget=DATE)
    by = forms.ChoiceField(label=_("By"), required=False)
    segment = forms.CharField(
        label=_("Segment attribute"),
        max_length=64,
        required=False,
        help_text=_("A customer attribute, e.g. tier (for “by segment”)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("by", list(GROUPINGS.items()))


class EventFilterForm(FilterForm):
    event_type = forms.CharField(label=_("Type"), max_length=64, required=False)
    channel = forms.CharField(label=_("Channel"), max_length=32, required=False)
    unit = forms.TypedChoiceField(
        label=_("Unit (with the units inside it)"), coerce=int, required=False
    )
    date_from = forms.DateField(label=_("Occurred from"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("Occurred to"), required=False, widget=DATE)

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("unit", [EVERY, *unit_choices(scope)])


class InvitationFilterForm(FilterForm):
    status = forms.ChoiceField(label=_("Status"), required=False)
    survey = forms.TypedChoiceField(label=_("Survey"), coerce=int, required=False)
    channel = forms.ChoiceField(label=_("Delivery"), required=False)
    unit = forms.TypedChoiceField(
        label=_("Unit (with the units inside it)"), coerce=int, required=False
    )
    date_from = forms.DateField(label=_("Created from"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("Created to"), required=False, widget=DATE)
    invitation = forms.IntegerField(
        label=_("Invitation number"), min_value=1, required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("status", [EVERY, *InvitationStatus.choices])
        self._choices("survey", [EVERY, *survey_choices(scope)])
        self._choices("channel", [EVERY, *DeliveryChannel.choices])
        self._choices("unit", [EVERY, *unit_choices(scope)])


class NonResponderForm(FilterForm):
    date_from = forms.DateField(label=_("Invited from"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("Invited to"), required=False, widget=DATE)
    min_invitations = forms.IntegerField(
        label=_("Invited at least (times)"), min_value=1, max_value=1000, required=False
    )
    segment = forms.CharField(
        label=_("Segment attribute"),
        max_length=64,
        required=False,
        help_text=_("Shown for each customer, e.g. tier or account."),
    )
    segment_value = forms.CharField(
        label=_("Only customers whose segment is"), max_length=100, required=False
    )
