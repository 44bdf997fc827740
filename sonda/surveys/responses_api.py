"""Responses over the API: whole responses submitted by other channels, listed and read."""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.responses import Status

from sonda.accounts.access import Scope
from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.surveys import response_selectors as selectors
from sonda.surveys.models import Response
from sonda.surveys.response_schemas import (
    ResponseDetailOut,
    ResponseOut,
    ResponseQuery,
    ResponseSubmitIn,
)
from sonda.surveys.submissions import response_receive

router = Router(tags=["responses"])


def _detail(scope: Scope, response_id: int) -> dict[str, Any]:
    response = selectors.response_get(scope=scope, response_id=response_id)
    shown = selectors.answered_questions(
        questions=selectors.response_questions(response=response),
        answers=selectors.response_answers(response=response),
        language=response.language,
        default_language=response.survey.default_language,
    )
    out = ResponseOut.from_orm(response).model_dump()
    out["answers"] = [
        {
            "question_key": q.key,
            "kind": q.kind,
            "question": q.text,
            "value": q.value,
            "labels": q.labels,
        }
        for q in shown
        if q.answered
    ]
    return out


@router.post(
    "",
    response={200: ResponseDetailOut, 201: ResponseDetailOut},
    summary="Submit a whole response",
    description=(
        "For IVR, kiosks, apps and partners: a complete response with its context, stored "
        "under the same rules as the survey pages. Answers 201 with the stored response, or 200 "
        "with the response already stored under the same `external_id` (nothing is stored "
        "again). An invalid answer stores nothing and names its field, e.g. `answers.ltr`."
    ),
)
def response_submit(request: HttpRequest, payload: ResponseSubmitIn) -> Status[dict[str, Any]]:
    scope = scope_of(request)
    response, created = response_receive(
        scope=scope,
        survey_id=payload.survey_id,
        answers=payload.answers,
        context=payload.context(),
        external_id=payload.external_id,
        started_at=payload.started_at,
        completed_at=payload.completed_at,
    )
    return Status(201 if created else 200, _detail(scope, response.pk))


@router.get("", response=list[ResponseOut], summary="List and filter responses")
@paginate(Page)
def response_list(request: HttpRequest, filters: Query[ResponseQuery]) -> QuerySet[Response]:
    return selectors.response_list(scope=scope_of(request), filters=filters.filters())


@router.get("/{response_id}", response=ResponseDetailOut, summary="Get a response with answers")
def response_get(request: HttpRequest, response_id: int) -> dict[str, Any]:
    return _detail(scope_of(request), response_id)
