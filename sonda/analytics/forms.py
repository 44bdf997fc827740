"""The dashboards' filters: period, survey, question and channel, read from the query string.

What cannot be read is left out (a mistyped filter narrows nothing rather than failing the
page), and what is missing gets a default, so a plain link opens a useful page.

The segment filter (`segment=tier=business`) counts only the answers of the organisation's
customers with that attribute value. Its list offers the segments found on the customers
(`customer_segment_choices`, bounded); a well-formed segment from a link that the list lacks is
kept and offered too, so a shared link reads the same for everyone.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from sonda.accounts.access import Scope
from sonda.analytics.metrics import segment_filters
from sonda.analytics.queries import METRICS_OF_KIND, Dimension, Filters
from sonda.customers.selectors import (
    SEGMENT_ATTRIBUTE,
    SEGMENT_VALUE_MAX_LENGTH,
    CustomerSegment,
    customer_segment_choices,
)
from sonda.surveys.models import Question, Survey, VersionStatus
from sonda.surveys.response_selectors import in_language

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
EVERY = ("", _("All"))
# The kinds that give a headline on the overview (ratings and yes/no are read per question).
HEADLINE_KINDS = ("nps", "csat", "ces")
MONTHS_BY_DEFAULT = 12


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months, from the first day of the month eleven months ago to today: a
    trend long enough to read, a period long enough for most units to reach the minimum base."""
    month = today.month - MONTHS_BY_DEFAULT  # 1-based month 11 months back, maybe ≤ 0
    year = today.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1), today


def measured_surveys(scope: Scope) -> list[Survey]:
    """The organisation's surveys with a published version, the newest first."""
    return list(
        Survey.objects.filter(
            organisation_id=scope.organisation_id,
            versions__status=VersionStatus.PUBLISHED,
            versions__questions__kind__in=list(METRICS_OF_KIND),
        )
        .distinct()
        .order_by("-created_at", "-pk")
    )


def measured_questions(survey: Survey) -> list[Question]:
    """The published version's questions that have a measure, in the survey's order."""
    return list(
        Question.objects.filter(
            organisation_id=survey.organisation_id,
            version__survey=survey,
            version__status=VersionStatus.PUBLISHED,
            kind__in=list(METRICS_OF_KIND),
        ).order_by("position", "pk")
    )


def segment_of(raw: str | None) -> CustomerSegment | None:
    """The segment a `segment=tier=business` parameter names; None when it names none."""
    attribute, equals, value = (raw or "").partition("=")
    value = value.strip()
    if (
        not equals
        or not SEGMENT_ATTRIBUTE.match(attribute.strip())
        or not value
        or len(value) > SEGMENT_VALUE_MAX_LENGTH
    ):
        return None
    return CustomerSegment(attribute.strip(), value)


def segment_key(segment: CustomerSegment) -> str:
    return f"{segment.attribute}={segment.value}"


def question_label(question: Question, survey: Survey) -> str:
    text = in_language(question.text, get_language() or "", survey.default_language)
    return f"{text} ({question.key})" if text else question.key


@dataclass(frozen=True)
class Choice:
    """What the filters chose: the survey and its measured questions, the question to read,
    and the answers' filters for the analytics layer."""

    survey: Survey | None
    questions: list[Question]
    question: Question | None
    filters: Filters
    date_from: date
    date_to: date
    segment: CustomerSegment | None = None  # already applied to `filters`

    @property
    def headline_questions(self) -> list[Question]:
        return [q for q in self.questions if q.kind in HEADLINE_KINDS]

    def label(self, question: Question) -> str:
        assert self.survey is not None
        return question_label(question, self.survey)


class DashboardFilterForm(forms.Form):
    survey = forms.TypedChoiceField(label=_("Survey"), coerce=int, required=False)
    question = forms.ChoiceField(label=_("Question"), required=False)
    date_from = forms.DateField(
        label=pgettext_lazy("start of a date range", "From"), required=False, widget=DATE
    )
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE)
    channel = forms.CharField(label=_("Channel"), max_length=32, required=False)
    segment = forms.ChoiceField(
        label=_("Segment"),
        required=False,
        help_text=_("Only the answers of customers with this attribute value."),
        error_messages={"invalid_choice": _("Choose a segment from the list.")},
    )

    def __init__(self, data: QueryDict, *, scope: Scope, **kwargs: Any) -> None:
        self.scope = scope
        self.surveys = measured_surveys(scope)
        values = data.copy()
        start, end = default_period(timezone.localdate())
        survey = self._survey(values.get("survey"))
        defaults = {
            "survey": str(survey.pk) if survey else "",
            "date_from": start.isoformat(),
            "date_to": end.isoformat(),
        }
        for name, value in defaults.items():
            if not values.get(name):
                values[name] = value
        self.questions = measured_questions(survey) if survey else []
        self.chosen_survey = survey
        if not values.get("question") and self.questions:
            kinds = [q.kind for q in self.questions]
            first = kinds.index("nps") if "nps" in kinds else 0
            values["question"] = self.questions[first].key
        super().__init__(values, **kwargs)
        self._choices("survey", [(str(s.pk), s.name) for s in self.surveys] or [EVERY])
        self._choices(
            "question",
            [(q.key, question_label(q, survey)) for q in self.questions if survey] or [EVERY],
        )
        segments = customer_segment_choices(scope=scope)
        self.segments_in_use = list(segments)
        asked = segment_of(values.get("segment"))
        if asked is not None and asked not in segments:
            segments.append(asked)
        self._choices("segment", [EVERY, *((segment_key(s), str(s)) for s in segments)])

    def _survey(self, raw: str | None) -> Survey | None:
        by_id = {str(s.pk): s for s in self.surveys}
        if raw and raw in by_id:
            return by_id[raw]
        return self.surveys[0] if self.surveys else None

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def value(self, name: str) -> Any:
        self.is_valid()
        found = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
        return None if found in (None, "", []) else found

    def choice(self, *, employee_id: int | None = None) -> Choice:
        start, end = default_period(timezone.localdate())
        date_from = self.value("date_from") or start
        date_to = self.value("date_to") or end
        if date_to < date_from:
            self.add_error("date_to", _("The end must not be before the start."))
            date_from, date_to = start, end
        key = self.value("question")
        question = next((q for q in self.questions if q.key == key), None)
        survey = self.chosen_survey
        segment = segment_of(self.value("segment"))
        filters = Filters(
            survey_id=survey.pk if survey else None,
            employee_id=employee_id,
            channel=self.value("channel") or "",
            start=date_from,
            end=date_to,
        )
        return Choice(
            survey=survey,
            questions=self.questions,
            question=question,
            filters=segment_filters(scope=self.scope, filters=filters, segment=segment),
            date_from=date_from,
            date_to=date_to,
            segment=segment,
        )


class UnitFilterForm(DashboardFilterForm):
    rollup = forms.BooleanField(
        label=_("Include the units inside each unit"),
        required=False,
        help_text=_("Each unit's figure counts the answers of its whole subtree."),
    )


SEGMENT_DIMENSION = "segment:"  # a "Compare" choice of a customer attribute: segment:tier


def segment_dimension_label(attribute: str) -> str:
    return str(_("Customers' %(attribute)s") % {"attribute": attribute})


BELOW_AVERAGE_DIMENSIONS: dict[str, Any] = {
    Dimension.UNIT.value: _("Unit"),
    Dimension.EMPLOYEE.value: _("Employee"),
    Dimension.TOUCHPOINT.value: _("Touchpoint"),
    Dimension.CHANNEL.value: _("Channel"),
    Dimension.JOURNEY.value: _("Journey"),
    Dimension.STAGE.value: _("Journey stage"),
    Dimension.LANGUAGE.value: _("Language"),
    Dimension.WEEKDAY.value: _("Day of the week"),
    Dimension.HOUR.value: _("Hour of the day"),
}


class BelowAverageForm(DashboardFilterForm):
    dimension = forms.ChoiceField(
        label=_("Compare"),
        required=False,
        choices=list(BELOW_AVERAGE_DIMENSIONS.items()),
        initial=Dimension.UNIT.value,
    )

    def __init__(self, data: QueryDict, *, scope: Scope, **kwargs: Any) -> None:
        super().__init__(data, scope=scope, **kwargs)
        # Besides the answers' own context, the customers' attributes in use (tier, products…).
        attributes = sorted({s.attribute for s in self.segments_in_use})
        field = self.fields["dimension"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            *BELOW_AVERAGE_DIMENSIONS.items(),
            *(
                (
                    f"{SEGMENT_DIMENSION}{attribute}",
                    _("Customers' %(attribute)s") % {"attribute": attribute},
                )
                for attribute in attributes
            ),
        ]

    def segment_chosen(self) -> str:
        """The customer attribute to compare the values of; "" when a dimension is chosen."""
        raw = self.value("dimension") or ""
        return raw.removeprefix(SEGMENT_DIMENSION) if raw.startswith(SEGMENT_DIMENSION) else ""

    def dimension_chosen(self) -> Dimension:
        raw = self.value("dimension") or Dimension.UNIT.value
        return Dimension.UNIT if raw.startswith(SEGMENT_DIMENSION) else Dimension(raw)
