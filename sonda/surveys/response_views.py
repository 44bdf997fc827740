"""Staff pages for responses: the filtered list (with CSV downloads) and one response in full."""

from typing import Any

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core import exceptions as django_exceptions
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from sonda.accounts.access import Scope
from sonda.org.models import Unit
from sonda.org.selectors import person_list
from sonda.surveys.definition import SURVEY_LANGUAGES
from sonda.surveys.exports import WHAT, csv_stream
from sonda.surveys.models import ResponseStatus
from sonda.surveys.response_selectors import (
    ResponseFilters,
    answered_questions,
    customer_history,
    filter_choices,
    response_answers,
    response_get,
    response_list_with_score,
    response_questions,
)
from sonda.web.pages import paginate, scope_of, scoped_page

HISTORY_LIMIT = 50


def _unit_label(unit: Unit) -> str:
    return f"{'— ' * unit.depth}{unit.name} ({unit.code})"


EVERY = ("", _("All"))
# 0 = Monday … 6 = Sunday and 0 … 23, as the dashboards count them: their links use the numbers.
WEEKDAY_CHOICES = [EVERY, *((str(day), name) for day, name in sorted(WEEKDAYS.items()))]
HOUR_CHOICES = [EVERY, *((str(hour), f"{hour:02d}:00–{hour:02d}:59") for hour in range(24))]


class ResponseFilterForm(forms.Form):
    """The list's filters, read from the query string; an unreadable filter is left out and
    its error shown on the form."""

    survey = forms.TypedChoiceField(label=_("Survey"), coerce=int, required=False)
    program = forms.TypedChoiceField(label=_("Program"), coerce=int, required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    unit = forms.TypedChoiceField(
        label=_("Unit (with the units inside it)"), coerce=int, required=False
    )
    unit_only = forms.BooleanField(
        label=_("Only the unit itself, not the units inside it"), required=False
    )
    employee = forms.TypedChoiceField(label=_("Employee"), coerce=int, required=False)
    channel = forms.CharField(label=_("Channel"), max_length=32, required=False)
    touchpoint = forms.CharField(label=_("Touchpoint"), max_length=100, required=False)
    journey = forms.CharField(label=_("Journey"), max_length=100, required=False)
    stage = forms.CharField(label=_("Journey stage"), max_length=100, required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)
    completed_from = forms.DateField(
        label=_("Completed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    completed_to = forms.DateField(
        label=_("Completed to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    weekday = forms.TypedChoiceField(
        label=_("Day of the week"),
        coerce=int,
        required=False,
        choices=WEEKDAY_CHOICES,
        help_text=_("When answered, on the organisation's clock."),
        error_messages={
            "invalid_choice": _("Choose a day from 0 (Monday) to 6 (Sunday), not %(value)s.")
        },
    )
    hour = forms.TypedChoiceField(
        label=_("Hour of the day"),
        coerce=int,
        required=False,
        choices=HOUR_CHOICES,
        help_text=_("When answered, on the organisation's clock."),
        error_messages={"invalid_choice": _("Choose an hour from 0 to 23, not %(value)s.")},
    )
    has_text = forms.ChoiceField(
        label=_("Open answer"),
        required=False,
        choices=[("", _("Any")), ("yes", _("With text")), ("no", _("Without text"))],
    )
    customer = forms.IntegerField(
        label=_("Customer number"), min_value=1, required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = filter_choices(scope=scope)
        every = EVERY
        self._choices("survey", [every, *((str(s.pk), s.name) for s in choices["surveys"])])
        self._choices("program", [every, *((str(p.pk), p.name) for p in choices["programs"])])
        self._choices("status", [every, *ResponseStatus.choices])
        self._choices(
            "unit",
            [
                every,
                *((str(u.pk), f"{'— ' * u.depth}{u.name} ({u.code})") for u in choices["units"]),
            ],
        )
        self._choices(
            "employee",
            [every, *((str(p.pk), str(p)) for p in person_list(scope=scope).select_related(None))],
        )
        self._choices("language", [every, *((code, code) for code in SURVEY_LANGUAGES)])

    def _choices(self, name: str, choices: list[tuple[Any, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def filters(self) -> ResponseFilters:
        self.is_valid()
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}

        def value(name: str) -> Any:
            found = data.get(name)
            return None if found in (None, "") else found

        has_text = value("has_text")
        return ResponseFilters(
            survey_id=value("survey"),
            program_id=value("program"),
            status=value("status") or "",
            unit_id=value("unit"),
            unit_only=bool(value("unit_only")),
            employee_id=value("employee"),
            channel=value("channel") or "",
            touchpoint=value("touchpoint") or "",
            customer_id=value("customer"),
            language=value("language") or "",
            completed_from=value("completed_from"),
            completed_to=value("completed_to"),
            has_text=None if has_text is None else has_text == "yes",
            journey=value("journey") or "",
            stage=value("stage") or "",
            weekday=value("weekday"),
            hour=value("hour"),
        )


@require_GET
@scoped_page
def response_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = ResponseFilterForm(request.GET, scope=scope)
    filters = form.filters()
    responses = response_list_with_score(scope=scope, filters=filters)
    return render(
        request,
        "surveys/responses/response_list.html",
        {
            "form": form,
            "filters": filters,
            "page_obj": paginate(request, responses),
            "query": request.GET.urlencode(),
        },
    )


@require_GET
@scoped_page
def response_detail(request: HttpRequest, scope: Scope, response_id: int) -> HttpResponse:
    response = response_get(scope=scope, response_id=response_id)
    questions = answered_questions(
        questions=response_questions(response=response),
        answers=response_answers(response=response),
        language=response.language,
        default_language=response.survey.default_language,
    )
    return render(
        request,
        "surveys/responses/response_detail.html",
        {
            "response": response,
            "questions": questions,
            "history": customer_history(scope=scope, response=response)[:HISTORY_LIMIT],
            "history_limit": HISTORY_LIMIT,
        },
    )


@require_GET
def response_download(request: HttpRequest, what: str) -> HttpResponseBase:
    """The list's answers or responses as CSV, streamed: the same filters, the same scope.

    Not a `scoped_page`: a streamed answer is not an HttpResponse, so the same guard is spelt out.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    scope = scope_of(request)
    if scope is None:
        raise django_exceptions.PermissionDenied(_("You are not a member of any organisation."))
    if what not in WHAT:
        raise Http404(_("No such download."))
    filters = ResponseFilterForm(request.GET, scope=scope).filters()
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    download = StreamingHttpResponse(
        csv_stream(scope=scope, what=what, filters=filters), content_type="text/csv; charset=utf-8"
    )
    download["Content-Disposition"] = f'attachment; filename="sonda-{what}-{stamp}.csv"'
    return download
