"""Answering surveys: page by page on the survey pages, or whole through the API and imports.

Answers are validated against the version the response answers; an invalid submission writes no
answer row. Saving the same page twice leaves one set of answers; a response completes once.
"""

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from sonda.core.calendar import day_number, hour_of, zone
from sonda.core.errors import Conflict, FieldError, SondaError, ValidationFailed
from sonda.listening.models import InvitationStatus
from sonda.listening.services import invitation_mark
from sonda.surveys.definition import AnswerValue, QuestionSpec, is_shown, parse_answer
from sonda.surveys.models import (
    Answer,
    OpenLink,
    Question,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
    SurveyVersion,
    VersionStatus,
)
from sonda.surveys.specs import spec_of


@dataclass(frozen=True)
class ResponseContext:
    """Where the answers come from: the interaction, the customer and the language."""

    language: str
    customer_id: int | None = None
    unit_id: int | None = None
    employee_id: int | None = None
    touchpoint: str = ""
    channel: str = ""
    journey: str = ""
    stage: str = ""


@dataclass(frozen=True)
class VersionQuestions:
    """A version's questions, as stored rows and as specs, in order."""

    version: SurveyVersion
    rows: dict[str, Question]
    specs: list[QuestionSpec]

    @property
    def pages(self) -> list[int]:
        return sorted({spec.page for spec in self.specs})

    def on_page(self, page: int) -> list[QuestionSpec]:
        return [spec for spec in self.specs if spec.page == page]


def version_questions(version: SurveyVersion) -> VersionQuestions:
    rows = list(Question.objects.filter(version=version).order_by("position"))
    return VersionQuestions(
        version=version, rows={q.key: q for q in rows}, specs=[spec_of(q) for q in rows]
    )


def published_version(survey: Survey) -> SurveyVersion:
    version = survey.versions.filter(status=VersionStatus.PUBLISHED).first()
    if version is None:
        raise Conflict.on("survey", "the survey has no published version")
    return version


def stored_answers(response: Response) -> dict[str, list[AnswerValue]]:
    out: dict[str, list[AnswerValue]] = {}
    for key, number, text, choice in Answer.objects.filter(response=response).values_list(
        "question_key", "value_number", "value_text", "value_choice"
    ):
        out.setdefault(key, []).append(AnswerValue(number=number, text=text, choice=choice))
    return out


def _parse_questions(
    specs: Sequence[QuestionSpec],
    raw: Mapping[str, Any],
    known: Mapping[str, list[AnswerValue]],
    *,
    field_prefix: str = "",
) -> tuple[dict[str, list[AnswerValue]], list[FieldError]]:
    """Parse the answers to `specs` in order, applying display logic as answers accumulate."""
    answers = dict(known)
    parsed: dict[str, list[AnswerValue]] = {}
    errors: list[FieldError] = []
    for spec in specs:
        where = f"{field_prefix}{spec.key}"
        if not is_shown(spec, answers):
            answers.pop(spec.key, None)
            parsed[spec.key] = []
            continue
        try:
            values = parse_answer(spec, raw.get(spec.key), field=where)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if spec.required and not values:
            errors.append(FieldError(where, "is required"))
            continue
        parsed[spec.key] = values
        answers[spec.key] = values
    return parsed, errors


def _answer_rows(
    response: Response,
    questions: VersionQuestions,
    parsed: Mapping[str, list[AnswerValue]],
    *,
    program_id: int,
    unit_path: str,
    answered_at: datetime,
    complete: bool,
) -> list[Answer]:
    rows = []
    local_day = _local_day(response, answered_at)
    local_hour = _local_hour(response, answered_at)
    for key, values in parsed.items():
        question = questions.rows[key]
        for value in values:
            rows.append(
                Answer(
                    organisation_id=response.organisation_id,
                    response=response,
                    question=question,
                    question_key=key,
                    kind=question.kind,
                    value_number=value.number,
                    value_text=value.text,
                    value_choice=value.choice,
                    program_id=program_id,
                    survey_id=response.survey_id,
                    version_id=response.version_id,
                    customer_id=response.customer_id,
                    unit_id=response.unit_id,
                    unit_path=unit_path,
                    employee_id=response.employee_id,
                    touchpoint=response.touchpoint,
                    channel=response.channel,
                    journey=response.journey,
                    stage=response.stage,
                    language=response.language,
                    answered_at=answered_at,
                    local_day=local_day,
                    local_hour=local_hour,
                    is_complete=complete,
                )
            )
    return rows


def _local_day(response: Response, moment: datetime) -> int:
    # The organisation comes with the response (select_related) on the survey pages.
    return day_number(moment, zone(response.organisation.time_zone))


def _local_hour(response: Response, moment: datetime) -> int:
    return hour_of(moment, zone(response.organisation.time_zone))


def _unit_path(response: Response) -> str:
    return response.unit.path if response.unit_id is not None and response.unit else ""


def response_start(
    *,
    survey: Survey,
    context: ResponseContext,
    invitation_id: int | None = None,
    open_link_id: int | None = None,
    client_key: str = "",
    now: datetime | None = None,
) -> Response:
    """A partial response to the survey's published version (one per invitation)."""
    version = published_version(survey)
    fields = {
        "organisation_id": survey.organisation_id,
        "survey": survey,
        "version": version,
        "open_link_id": open_link_id,
        "client_key": client_key,
        "customer_id": context.customer_id,
        "unit_id": context.unit_id,
        "employee_id": context.employee_id,
        "touchpoint": context.touchpoint,
        "channel": context.channel,
        "journey": context.journey,
        "stage": context.stage,
        "language": context.language,
        "started_at": now or timezone.now(),
        "source": ResponseSource.WEB,
    }
    if invitation_id is None:
        return Response.objects.create(**fields)
    try:
        with transaction.atomic():
            return Response.objects.create(invitation_id=invitation_id, **fields)
    except IntegrityError:
        # Two browsers opened the same invitation at once: both continue the one response.
        return Response.objects.get(invitation_id=invitation_id)


def response_save_page(
    *, response_id: int, page: int, raw: Mapping[str, Any], now: datetime | None = None
) -> Response:
    """Save one page's answers (replacing what that page had) and move to the next page.

    Raises ValidationFailed listing every problem on the page; then nothing is written.
    """
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("survey__program", "unit", "organisation")
            .get(pk=response_id)
        )
        if response.status == ResponseStatus.COMPLETE:
            raise Conflict.on("response", "this survey was already completed")
        questions = version_questions(response.version)
        if page not in questions.pages:
            raise ValidationFailed.on("page", f"the survey has no page {page}")
        known = stored_answers(response)
        earlier = {
            spec.key: known.get(spec.key, []) for spec in questions.specs if spec.page < page
        }
        parsed, errors = _parse_questions(questions.on_page(page), raw, earlier)
        if errors:
            raise ValidationFailed("Some answers need your attention.", errors=errors)
        Answer.objects.filter(response=response, question_key__in=list(parsed)).delete()
        Answer.objects.bulk_create(
            _answer_rows(
                response,
                questions,
                parsed,
                program_id=response.survey.program_id,
                unit_path=_unit_path(response),
                answered_at=response.started_at,
                complete=False,
            )
        )
        later = [p for p in questions.pages if p > page]
        response.current_page = later[0] if later else page
        response.save(update_fields=["current_page", "updated_at"])
    return response


def response_complete(*, response_id: int, now: datetime | None = None) -> Response:
    """Complete a response once: every required question that is shown must be answered.

    A second completion (another browser, a double click) raises Conflict and changes nothing.
    """
    completed_at = now or timezone.now()
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("survey__program", "unit", "organisation")
            .get(pk=response_id)
        )
        if response.status == ResponseStatus.COMPLETE:
            raise Conflict.on("response", "this survey was already completed")
        questions = version_questions(response.version)
        known = stored_answers(response)
        shown_answers: dict[str, list[AnswerValue]] = {}
        missing: list[FieldError] = []
        for spec in questions.specs:
            if not is_shown(spec, shown_answers):
                continue
            values = known.get(spec.key, [])
            if spec.required and not values:
                missing.append(FieldError(spec.key, f"is required (page {spec.page})"))
            if values:
                shown_answers[spec.key] = values
        if missing:
            raise ValidationFailed("Some required answers are missing.", errors=missing)
        hidden = [key for key in known if key not in shown_answers]
        if hidden:
            # An answer given before a later change made its question hidden is not kept.
            Answer.objects.filter(response=response, question_key__in=hidden).delete()
        Answer.objects.filter(response=response).update(
            is_complete=True,
            answered_at=completed_at,
            local_day=_local_day(response, completed_at),
            local_hour=_local_hour(response, completed_at),
        )
        response.status = ResponseStatus.COMPLETE
        response.completed_at = completed_at
        response.save(update_fields=["status", "completed_at", "updated_at"])
    return response


def response_submit(
    *,
    survey: Survey,
    context: ResponseContext,
    answers: Mapping[str, Any],
    external_id: str = "",
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    source: str = ResponseSource.API,
    invitation_id: int | None = None,
    field_prefix: str = "answers.",
) -> tuple[Response, bool]:
    """Store a whole, complete response at once: (response, created).

    Idempotent by `external_id`: the same id again returns the stored response and writes nothing.
    Unknown question keys are refused, so a typo does not silently lose an answer.
    """
    if external_id:
        existing = Response.objects.filter(
            organisation_id=survey.organisation_id, survey=survey, external_id=external_id
        ).first()
        if existing is not None:
            return existing, False
    version = published_version(survey)
    questions = version_questions(version)
    unknown = [key for key in answers if key not in questions.rows]
    if unknown:
        raise ValidationFailed(
            "Unknown questions.",
            errors=[FieldError(f"{field_prefix}{key}", "no such question") for key in unknown],
        )
    parsed, errors = _parse_questions(questions.specs, answers, {}, field_prefix=field_prefix)
    if errors:
        raise ValidationFailed("Some answers are not valid.", errors=errors)
    if not any(parsed.values()):
        raise ValidationFailed.on(field_prefix.rstrip(".") or "answers", "no question answered")
    finished = completed_at or timezone.now()
    try:
        with transaction.atomic():
            response = Response.objects.create(
                organisation_id=survey.organisation_id,
                survey=survey,
                version=version,
                invitation_id=invitation_id,
                customer_id=context.customer_id,
                unit_id=context.unit_id,
                employee_id=context.employee_id,
                touchpoint=context.touchpoint,
                channel=context.channel,
                journey=context.journey,
                stage=context.stage,
                language=context.language,
                status=ResponseStatus.COMPLETE,
                source=source,
                external_id=external_id,
                started_at=started_at or finished,
                completed_at=finished,
            )
            Answer.objects.bulk_create(
                _answer_rows(
                    response,
                    questions,
                    parsed,
                    program_id=survey.program_id,
                    unit_path=_unit_path(response),
                    answered_at=finished,
                    complete=True,
                )
            )
    except IntegrityError:
        # The same external id arrived twice at once: the other request stored it.
        existing = Response.objects.filter(
            organisation_id=survey.organisation_id, survey=survey, external_id=external_id
        ).first()
        if external_id and existing is not None:
            return existing, False
        raise
    return response, True


# Survey pages: finishing a response, open links, the respondent's language -----------------------

DUPLICATE_WINDOW = timedelta(minutes=10)
OPEN_LINK_DAY = timedelta(hours=24)


_FROZEN_QUESTIONS: "OrderedDict[tuple[Any, ...], VersionQuestions]" = OrderedDict()
_FROZEN_QUESTIONS_MAX = 256
_FROZEN_QUESTIONS_LOCK = threading.Lock()


def frozen_version_questions(version: SurveyVersion) -> VersionQuestions:
    """A version's questions, kept in memory once the version is published.

    Publishing freezes a version's questions, so every request answering it can share one copy
    instead of reading them again; a draft is always read afresh.
    """
    if version.status == VersionStatus.DRAFT or version.published_at is None:
        return version_questions(version)
    # The publication time is part of the key: a restored database may reuse a version's id.
    key = (version.pk, version.survey_id, version.number, version.published_at)
    found = _FROZEN_QUESTIONS.get(key)
    if found is None:
        found = version_questions(version)
        with _FROZEN_QUESTIONS_LOCK:
            _FROZEN_QUESTIONS[key] = found
            while len(_FROZEN_QUESTIONS) > _FROZEN_QUESTIONS_MAX:
                _FROZEN_QUESTIONS.popitem(last=False)
    return found


class TooManyResponses(SondaError):
    """An open link's client has started as many responses as the link allows in a day."""

    status = 429
    title = "Too many responses"


def response_finish(
    *, response_id: int, page: int, raw: Mapping[str, Any], now: datetime | None = None
) -> Response:
    """Save the last page and complete the response in one transaction; the stored response.

    Raises ValidationFailed when the page's answers are not valid (nothing written), or when a
    required answer of an earlier page is missing (this page is kept, the response stays partial);
    Conflict when the response was already completed. An invitation's response marks the
    invitation completed in the same transaction. For an open link, a complete set of answers
    identical to one the same client completed within DUPLICATE_WINDOW is not stored twice: that
    earlier response is returned and this one is removed.
    """
    completed_at = now or timezone.now()
    with transaction.atomic():
        response = (
            Response.objects.select_for_update(of=("self",))
            .select_related("survey", "unit", "version", "organisation")
            .get(pk=response_id)
        )
        if response.status == ResponseStatus.COMPLETE:
            raise Conflict.on("response", "this survey was already completed")
        questions = frozen_version_questions(response.version)
        if not questions.pages or page != questions.pages[-1]:
            raise ValidationFailed.on("page", f"page {page} is not the survey's last page")
        # A one-page survey has nothing stored from earlier pages: spare the read.
        known = stored_answers(response) if len(questions.pages) > 1 else {}
        earlier = {
            spec.key: known.get(spec.key, []) for spec in questions.specs if spec.page < page
        }
        parsed, errors = _parse_questions(questions.on_page(page), raw, earlier)
        if errors:
            raise ValidationFailed("Some answers need your attention.", errors=errors)
        answers = {**{k: v for k, v in earlier.items() if v}, **parsed}
        shown: dict[str, list[AnswerValue]] = {}
        missing: list[FieldError] = []
        for spec in questions.specs:
            if not is_shown(spec, shown):
                continue
            values = answers.get(spec.key, [])
            if spec.required and not values:
                missing.append(FieldError(spec.key, f"is required (page {spec.page})"))
            if values:
                shown[spec.key] = values
        complete = not missing
        if complete and response.open_link_id is not None and response.client_key:
            duplicate = _recent_duplicate(
                response,
                shown,
                open_link_id=response.open_link_id,
                since=completed_at - DUPLICATE_WINDOW,
            )
            if duplicate is not None:
                response.delete()
                return duplicate
        stale = [key for key in known if key not in shown] if complete else []
        Answer.objects.filter(response=response, question_key__in=[*parsed, *stale]).delete()
        Answer.objects.bulk_create(
            _answer_rows(
                response,
                questions,
                parsed,
                program_id=response.survey.program_id,
                unit_path=_unit_path(response),
                answered_at=completed_at if complete else response.started_at,
                complete=complete,
            )
        )
        if not complete:
            response.current_page = page
            response.save(update_fields=["current_page", "updated_at"])
        else:
            if any(key not in parsed for key in shown):
                Answer.objects.filter(response=response).exclude(
                    question_key__in=list(parsed)
                ).update(
                    is_complete=True,
                    answered_at=completed_at,
                    local_day=_local_day(response, completed_at),
                    local_hour=_local_hour(response, completed_at),
                )
            response.status = ResponseStatus.COMPLETE
            response.completed_at = completed_at
            response.current_page = page
            response.save(update_fields=["status", "completed_at", "current_page", "updated_at"])
            if response.invitation_id is not None:
                invitation_mark(
                    invitation_id=response.invitation_id,
                    status=InvitationStatus.COMPLETED,
                    now=completed_at,
                )
    if missing:
        raise ValidationFailed("Some required answers are missing.", errors=missing)
    return response


def _answer_set(values: Mapping[str, Sequence[AnswerValue]]) -> set[tuple[Any, ...]]:
    return {(key, v.number, v.text, v.choice) for key, vs in values.items() for v in vs}


def _recent_duplicate(
    response: Response,
    answers: Mapping[str, Sequence[AnswerValue]],
    *,
    open_link_id: int,
    since: datetime,
) -> Response | None:
    """A complete response of the same open link and client, since `since`, with these answers."""
    # One client's completions of one link are serialised, so two identical sets sent at once
    # cannot both miss each other.
    list(OpenLink.objects.select_for_update().filter(pk=open_link_id).values_list("pk"))
    recent = {
        r.pk: r
        for r in Response.objects.filter(
            open_link_id=open_link_id,
            client_key=response.client_key,
            status=ResponseStatus.COMPLETE,
            completed_at__gte=since,
        ).exclude(pk=response.pk)
    }
    if not recent:
        return None
    given: dict[int, dict[str, list[AnswerValue]]] = {pk: {} for pk in recent}
    for response_id, key, number, text, choice in Answer.objects.filter(
        response_id__in=list(recent)
    ).values_list("response_id", "question_key", "value_number", "value_text", "value_choice"):
        given[response_id].setdefault(key, []).append(
            AnswerValue(number=number, text=text, choice=choice)
        )
    wanted = _answer_set(answers)
    for pk, values in given.items():
        if _answer_set(values) == wanted:
            return recent[pk]
    return None


def open_link_responses_today(*, link: OpenLink, client_key: str, now: datetime) -> int:
    """How many responses this client started through the link in the last 24 hours."""
    return Response.objects.filter(
        open_link_id=link.pk, client_key=client_key, started_at__gt=now - OPEN_LINK_DAY
    ).count()


def open_link_response_start(
    *, link: OpenLink, client_key: str, language: str, now: datetime | None = None
) -> Response:
    """An anonymous partial response through an open link, with the link's fixed context.

    Raises TooManyResponses when the client already started the link's daily allowance.
    """
    started = now or timezone.now()
    with transaction.atomic():
        # Counting and starting under the link's lock: two tabs cannot both take the last slot.
        list(OpenLink.objects.select_for_update().filter(pk=link.pk).values_list("pk"))
        if (
            open_link_responses_today(link=link, client_key=client_key, now=started)
            >= link.max_responses_per_client_per_day
        ):
            raise TooManyResponses("This link has had as many answers from you as it takes today.")
        return response_start(
            survey=link.survey,
            context=ResponseContext(
                language=language,
                unit_id=link.unit_id,
                touchpoint=link.touchpoint,
                channel=link.channel,
            ),
            open_link_id=link.pk,
            client_key=client_key,
            now=started,
        )


def response_language_set(*, response_id: int, language: str) -> None:
    """Record that a partial response goes on in another of its survey's languages."""
    with transaction.atomic():
        response = Response.objects.select_for_update().select_related("survey").get(pk=response_id)
        if response.status == ResponseStatus.COMPLETE or response.language == language:
            return
        if language not in response.survey.languages:
            raise ValidationFailed.on("lang", "not one of the survey's languages")
        response.language = language
        response.save(update_fields=["language", "updated_at"])
        Answer.objects.filter(response=response).update(language=language)


def page_answers_check(
    *,
    questions: VersionQuestions,
    page: int,
    raw: Mapping[str, Any],
    earlier: Mapping[str, list[AnswerValue]],
) -> dict[str, list[AnswerValue]]:
    """The answers a page would store, storing nothing (the survey preview).

    Raises ValidationFailed listing every problem on the page, as response_save_page does.
    """
    parsed, errors = _parse_questions(questions.on_page(page), raw, earlier)
    if errors:
        raise ValidationFailed("Some answers need your attention.", errors=errors)
    return parsed
