"""Helpers for the response tests: responses with context, stored through the services."""

from datetime import UTC, datetime
from typing import Any

from sonda.surveys.models import Answer, Response, Survey
from sonda.surveys.responses import ResponseContext, response_submit

COMPLETED = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)


def store(
    survey: Survey,
    answers: dict[str, Any] | None = None,
    *,
    completed_at: datetime = COMPLETED,
    language: str = "ro",
    external_id: str = "",
    **context: Any,
) -> Response:
    """A complete response (NPS 4 with two reasons and a comment unless told otherwise)."""
    response, created = response_submit(
        survey=survey,
        context=ResponseContext(language=language, **context),
        answers=answers
        if answers is not None
        else {"ltr": 4, "reasons": ["waiting", "fees"], "comment": "Prea mult am așteptat."},
        external_id=external_id,
        completed_at=completed_at,
    )
    assert created
    return response


def counts() -> tuple[int, int]:
    return Response.objects.count(), Answer.objects.count()
