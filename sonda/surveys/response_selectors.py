"""Scoped reads of responses and their answers.

Admins, analysts and executives see every response of the organisation; a manager those whose
unit is in their subtree; a frontline employee those about their own work (the response's employee
is their own person record). Anything else is "not found".

The same filters serve the responses page, the API and the exports, so a download holds exactly
the rows the list shows. They also select exactly the answers behind a dashboard figure: the
weekday and hour of an answer are its local day's and hour's on the organisation's clock, kept
with it and read as the analytics layer reads them, so a heat-map cell links to the responses
it counted.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Mod

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.core.calendar import zone
from sonda.core.errors import NotFound
from sonda.org.models import Unit
from sonda.surveys.definition import AnswerValue, is_shown
from sonda.surveys.models import (
    SCALE_KINDS,
    Answer,
    Program,
    Question,
    Response,
    ResponseStatus,
    Survey,
)
from sonda.surveys.specs import spec_of


@dataclass(frozen=True)
class ResponseFilters:
    """What to narrow responses (and their answers) to; None or empty means "any"."""

    survey_id: int | None = None
    program_id: int | None = None
    status: str = ""  # partial | complete
    unit_id: int | None = None  # the unit and everything below it
    unit_only: bool = False  # with unit_id: the unit's own responses, not its subtree's
    employee_id: int | None = None
    channel: str = ""
    touchpoint: str = ""
    customer_id: int | None = None
    language: str = ""
    completed_from: date | None = None  # inclusive, in the organisation's time zone
    completed_to: date | None = None  # inclusive
    has_text: bool | None = None  # with (True) or without (False) an open answer
    journey: str = ""
    stage: str = ""
    # When answered, on the organisation's clock: 0 = Monday … 6 = Sunday, and 0 … 23.
    weekday: int | None = None
    hour: int | None = None

    def given(self) -> dict[str, Any]:
        """The filters that narrow anything, JSON-ready (for the audit log and links)."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is None or value == "" or (name == "unit_only" and not value):
                continue
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def _time_zone(scope: Scope) -> ZoneInfo:
    return zone(scope.organisation.time_zone)


def completed_window(
    scope: Scope, filters: ResponseFilters
) -> tuple[datetime | None, datetime | None]:
    """The instants [start, end) that the inclusive completion dates stand for."""
    zone = _time_zone(scope)
    start = (
        datetime.combine(filters.completed_from, time.min, tzinfo=zone)
        if filters.completed_from
        else None
    )
    end = (
        datetime.combine(filters.completed_to + timedelta(days=1), time.min, tzinfo=zone)
        if filters.completed_to
        else None
    )
    return start, end


def _narrows_answer_time(filters: ResponseFilters) -> bool:
    return filters.weekday is not None or filters.hour is not None


def _answered_on_local_clock(
    answers: QuerySet[Answer], scope: Scope, filters: ResponseFilters
) -> QuerySet[Answer]:
    """The answers given on the filters' weekday and hour of the organisation's clock: each
    answer keeps its local day and hour (sonda.core.calendar), which analytics counts by."""
    if filters.weekday is not None:
        # 1970-01-01, day 0, was a Thursday: Monday-based weekday = (day + 3) mod 7.
        answers = answers.annotate(local_weekday=Mod(F("local_day") + 3, 7)).filter(
            local_weekday=filters.weekday
        )
    if filters.hour is not None:
        answers = answers.filter(local_hour=filters.hour)
    return answers


def _visible_responses(scope: Scope) -> QuerySet[Response]:
    responses = Response.objects.filter(organisation=scope.organisation)
    if scope.sees_whole_organisation:
        return responses
    if scope.role == Role.MANAGER and scope.unit_path:
        return responses.filter(unit__path__startswith=scope.unit_path)
    if scope.role == Role.FRONTLINE:
        return responses.filter(employee__user=scope.user)
    return responses.none()


def _visible_answers(scope: Scope) -> QuerySet[Answer]:
    answers = Answer.objects.filter(organisation=scope.organisation)
    if scope.sees_whole_organisation:
        return answers
    if scope.role == Role.MANAGER and scope.unit_path:
        # Answers carry their unit's path, so the subtree needs no join.
        return answers.filter(unit_path__startswith=scope.unit_path)
    if scope.role == Role.FRONTLINE:
        return answers.filter(employee__user=scope.user)
    return answers.none()


def _unit_path(scope: Scope, unit_id: int) -> str | None:
    return (
        Unit.objects.filter(organisation=scope.organisation, pk=unit_id)
        .values_list("path", flat=True)
        .first()
    )


def _text_answers() -> QuerySet[Answer]:
    return Answer.objects.filter(kind="text").exclude(value_text="")


def response_list(*, scope: Scope, filters: ResponseFilters | None = None) -> QuerySet[Response]:
    """The responses in scope that meet the filters, newest first, with their context loaded."""
    f = filters or ResponseFilters()
    responses = _visible_responses(scope)
    exact = {
        "survey_id": f.survey_id,
        "survey__program_id": f.program_id,
        "employee_id": f.employee_id,
        "customer_id": f.customer_id,
        "status": f.status or None,
        "channel": f.channel or None,
        "touchpoint": f.touchpoint or None,
        "language": f.language or None,
        "journey": f.journey or None,
        "stage": f.stage or None,
    }
    responses = responses.filter(**{k: v for k, v in exact.items() if v is not None})
    if f.unit_id is not None and f.unit_only:
        responses = responses.filter(unit_id=f.unit_id)
    elif f.unit_id is not None:
        path = _unit_path(scope, f.unit_id)
        if path is None:
            return responses.none()
        responses = responses.filter(unit__path__startswith=path)
    start, end = completed_window(scope, f)
    if start is not None:
        responses = responses.filter(completed_at__gte=start)
    if end is not None:
        responses = responses.filter(completed_at__lt=end)
    if f.has_text is not None:
        with_text = Exists(_text_answers().filter(response=OuterRef("pk")))
        responses = responses.filter(with_text if f.has_text else ~with_text)
    if _narrows_answer_time(f):
        # Every answer of a response carries the response's answer time (its completion, or
        # its start while partial), so one answer on the clock's slot places the response.
        on_the_clock = _answered_on_local_clock(
            Answer.objects.filter(response=OuterRef("pk")), scope, f
        )
        responses = responses.filter(Exists(on_the_clock))
    return responses.select_related("survey", "version", "unit", "employee").order_by(
        "-started_at", "-id"
    )


def response_list_with_score(
    *, scope: Scope, filters: ResponseFilters | None = None
) -> QuerySet[Response]:
    """`response_list` with `score`: the answer to the first scale question (the headline)."""
    headline = (
        Answer.objects.filter(response=OuterRef("pk"), kind__in=("nps", "csat", "ces", "rating"))
        .order_by("question__position")
        .values("value_number")[:1]
    )
    return response_list(scope=scope, filters=filters).annotate(score=Subquery(headline))


def response_get(*, scope: Scope, response_id: int) -> Response:
    """One response in scope with its context (survey, program, version, unit, employee...)."""
    response = (
        _visible_responses(scope)
        .filter(pk=response_id)
        .select_related(
            "survey__program", "version", "unit", "employee", "invitation", "open_link", "customer"
        )
        .first()
    )
    if response is None:
        raise NotFound("No such response.")
    return response


def response_answers(*, response: Response) -> QuerySet[Answer]:
    """The answers of a response the caller already holds (read through `response_get`)."""
    return Answer.objects.filter(response=response).order_by("question__position", "value_choice")


def response_questions(*, response: Response) -> list[Question]:
    """The questions of the version the response answered, in order."""
    return list(Question.objects.filter(version_id=response.version_id).order_by("position"))


def questions_of_versions(*, version_ids: set[int]) -> dict[int, dict[str, Question]]:
    """Questions by version and key, for labelling many responses' answers at once."""
    out: dict[int, dict[str, Question]] = {}
    for question in Question.objects.filter(version_id__in=sorted(version_ids)):
        out.setdefault(question.version_id, {})[question.key] = question
    return out


def customer_history(*, scope: Scope, response: Response) -> QuerySet[Response]:
    """The same customer's other responses that the caller may see, newest first."""
    if response.customer_id is None:
        return Response.objects.none()
    return response_list_with_score(
        scope=scope, filters=ResponseFilters(customer_id=response.customer_id)
    ).exclude(pk=response.pk)


def answer_list(*, scope: Scope, filters: ResponseFilters | None = None) -> QuerySet[Answer]:
    """The answers in scope whose responses meet the filters (for exports), in id order.

    Completion dates select complete answers by the time they were completed.
    """
    f = filters or ResponseFilters()
    answers = _visible_answers(scope)
    exact = {
        "survey_id": f.survey_id,
        "program_id": f.program_id,
        "employee_id": f.employee_id,
        "customer_id": f.customer_id,
        "channel": f.channel or None,
        "touchpoint": f.touchpoint or None,
        "language": f.language or None,
        "journey": f.journey or None,
        "stage": f.stage or None,
    }
    answers = answers.filter(**{k: v for k, v in exact.items() if v is not None})
    if f.status:
        answers = answers.filter(is_complete=f.status == ResponseStatus.COMPLETE)
    if f.unit_id is not None and f.unit_only:
        answers = answers.filter(unit_id=f.unit_id)
    elif f.unit_id is not None:
        path = _unit_path(scope, f.unit_id)
        if path is None:
            return answers.none()
        answers = answers.filter(unit_path__startswith=path)
    start, end = completed_window(scope, f)
    if start is not None or end is not None:
        answers = answers.filter(is_complete=True)
    if start is not None:
        answers = answers.filter(answered_at__gte=start)
    if end is not None:
        answers = answers.filter(answered_at__lt=end)
    if f.has_text is not None:
        with_text = Exists(_text_answers().filter(response_id=OuterRef("response_id")))
        answers = answers.filter(with_text if f.has_text else ~with_text)
    if _narrows_answer_time(f):
        answers = _answered_on_local_clock(answers, scope, f)
    return answers.order_by("pk")


def filter_choices(*, scope: Scope) -> dict[str, Any]:
    """What the filters of the responses page offer: surveys, programs, units, languages."""
    from_units = Unit.objects.filter(organisation=scope.organisation)
    if scope.role == Role.MANAGER and scope.unit_path:
        from_units = from_units.filter(path__startswith=scope.unit_path)
    elif not scope.sees_whole_organisation:
        from_units = from_units.none()
    return {
        "surveys": Survey.objects.filter(organisation=scope.organisation).order_by("name"),
        "programs": Program.objects.filter(organisation=scope.organisation).order_by("name"),
        "units": from_units.order_by("path"),
    }


def survey_in_organisation(*, scope: Scope, survey_id: int) -> Survey | None:
    """The organisation's survey with this id (with its program), or None."""
    return (
        Survey.objects.filter(organisation=scope.organisation, pk=survey_id)
        .select_related("program")
        .first()
    )


# Answers as the respondent saw them ---------------------------------------------------------


@dataclass(frozen=True)
class ShownOption:
    code: str
    label: str
    chosen: bool


@dataclass(frozen=True)
class AnsweredQuestion:
    """One question of the response's version with its answer, in the response's language."""

    key: str
    kind: str
    page: int
    text: str
    scale: tuple[int, int] | None
    scale_labels: tuple[str, str]
    options: tuple[ShownOption, ...]
    number: float | None
    text_answer: str
    chosen: tuple[str, ...]  # option codes, in the options' order
    answered: bool
    asked: bool  # False when the display condition hid the question from this respondent

    @property
    def value(self) -> int | float | bool | str | list[str] | None:
        """The answer as JSON has it: a whole number for scales, yes/no as a bool."""
        if not self.answered:
            return None
        if self.kind == "multi_choice":
            return list(self.chosen)
        if self.kind == "single_choice":
            return self.chosen[0]
        if self.kind == "text":
            return self.text_answer
        if self.kind == "yes_no":
            return self.number == 1
        if self.number is not None and self.kind != "number" and self.number.is_integer():
            return int(self.number)
        return self.number

    @property
    def labels(self) -> list[str]:
        """The chosen options' labels in the response's language."""
        return [option.label for option in self.options if option.chosen]


def _value_of(answer: Answer) -> AnswerValue:
    return AnswerValue(
        number=answer.value_number, text=answer.value_text, choice=answer.value_choice
    )


def in_language(texts: Mapping[str, str] | None, language: str, fallback: str) -> str:
    """A text in `language`, else in the survey's default language, else in any language."""
    texts = texts or {}
    return texts.get(language) or texts.get(fallback) or next(iter(texts.values()), "")


def answered_questions(
    *,
    questions: Sequence[Question],
    answers: Iterable[Answer],
    language: str,
    default_language: str,
) -> list[AnsweredQuestion]:
    """Every question of the version in order, each with what the respondent answered."""
    by_key: dict[str, list[Answer]] = {}
    for answer in answers:
        by_key.setdefault(answer.question_key, []).append(answer)
    values = {key: [_value_of(a) for a in given] for key, given in by_key.items()}
    out = []
    for question in questions:
        given = by_key.get(question.key, [])
        chosen = {a.value_choice for a in given if a.value_choice}
        options = tuple(
            ShownOption(
                code=option["code"],
                label=in_language(option.get("labels"), language, default_language),
                chosen=option["code"] in chosen,
            )
            for option in question.options or []
        )
        labels = question.scale_labels or {}
        scale = (
            (question.scale_min, question.scale_max)
            if question.kind in SCALE_KINDS
            and question.scale_min is not None
            and question.scale_max is not None
            else None
        )
        out.append(
            AnsweredQuestion(
                key=question.key,
                kind=question.kind,
                page=question.page,
                text=in_language(question.text, language, default_language),
                scale=scale,
                scale_labels=(
                    in_language(labels.get("min"), language, default_language),
                    in_language(labels.get("max"), language, default_language),
                ),
                options=options,
                number=next((a.value_number for a in given if a.value_number is not None), None),
                text_answer=next((a.value_text for a in given if a.value_text), ""),
                chosen=tuple(o.code for o in options if o.chosen),
                answered=bool(given),
                asked=is_shown(spec_of(question), values),
            )
        )
    return out
