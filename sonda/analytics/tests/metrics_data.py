"""Answers with chosen values, for the metrics tests: each call stores complete responses to
one question of a survey, all at one time, unit, employee and customer."""

from collections.abc import Sequence
from datetime import datetime

from sonda.core.calendar import day_number, hour_of
from sonda.core.testing.calendar import organisation_zone
from sonda.customers.models import Customer
from sonda.org.models import Person, Unit
from sonda.surveys.models import Answer, Response, Survey


def store(
    survey: Survey,
    key: str,
    values: Sequence[float],
    *,
    at: datetime,
    unit: Unit | None = None,
    employee: Person | None = None,
    customer: Customer | None = None,
    channel: str = "email",
) -> None:
    version = survey.versions.get(status="published")
    question = version.questions.get(key=key)
    time_zone = organisation_zone(survey.organisation_id)
    responses = Response.objects.bulk_create(
        [
            Response(
                organisation_id=survey.organisation_id,
                survey=survey,
                version=version,
                unit=unit,
                employee=employee,
                customer=customer,
                channel=channel,
                language="en",
                status="complete",
                source="demo",
                started_at=at,
                completed_at=at,
            )
            for _ in values
        ]
    )
    Answer.objects.bulk_create(
        Answer(
            organisation_id=survey.organisation_id,
            response=response,
            question=question,
            question_key=key,
            kind=question.kind,
            value_number=value,
            program_id=survey.program_id,
            survey=survey,
            version=version,
            customer=customer,
            unit=unit,
            unit_path=unit.path if unit else "",
            employee=employee,
            channel=channel,
            language="en",
            answered_at=at,
            local_day=day_number(at, time_zone),
            local_hour=hour_of(at, time_zone),
            is_complete=True,
        )
        for response, value in zip(responses, values, strict=True)
    )
