"""Known answers for the analytics tests: a survey with every measured kind, stored in bulk.

`generate` draws answers with a seeded generator and returns them as plain records too, so that
a test can compute what the queries must find independently (with numpy), including the
organisation-local weekday, hour and period of each answer.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from sonda.accounts.access import Scope
from sonda.core.calendar import day_number, hour_of
from sonda.core.testing.calendar import organisation_zone
from sonda.org.models import Person, Unit
from sonda.surveys.models import Answer, Response, Survey
from sonda.surveys.tests.factories import make_program, make_published_survey


def _text(words: str) -> dict[str, str]:
    return {"en": words, "ro": words, "pl": words}


MEASURED_QUESTIONS: list[dict[str, Any]] = [
    {"key": "ltr", "kind": "nps", "required": True, "text": _text("Recommend us?")},
    {"key": "csat", "kind": "csat", "scale_max": 5, "text": _text("Satisfied?")},
    {"key": "ces", "kind": "ces", "scale_max": 7, "text": _text("Easy?")},
    {"key": "speed", "kind": "rating", "scale_max": 5, "text": _text("Fast?")},
    {"key": "solved", "kind": "yes_no", "text": _text("Solved?")},
]
SCALES = {"ltr": (0, 10), "csat": (1, 5), "ces": (1, 7), "speed": (1, 5), "solved": (0, 1)}
CHANNELS = ("email", "sms", "web")
START = datetime(2025, 12, 1, tzinfo=UTC)
SPAN_DAYS = 240  # across both daylight-saving changes of 2026


def measured_survey(scope: Scope, *, name: str = "Measured") -> Survey:
    program = make_program(scope, name=f"{name} program")
    return make_published_survey(
        scope, program=program, name=name, questions=[dict(q) for q in MEASURED_QUESTIONS]
    )


@dataclass(frozen=True)
class Record:
    """One stored answer as the tests see it."""

    organisation_id: int
    question_key: str
    kind: str
    value: float
    unit_id: int | None
    unit_path: str
    employee_id: int | None
    channel: str
    answered_at: datetime
    is_complete: bool

    def local(self, zone: ZoneInfo) -> datetime:
        return self.answered_at.astimezone(zone)


def generate(
    survey: Survey,
    *,
    responses: int,
    units: list[Unit | None],
    employees: list[Person | None],
    seed: int = 7,
    start: datetime = START,
    span_days: int = SPAN_DAYS,
) -> list[Record]:
    """Store `responses` complete responses to `survey` (one answer per question each), spread
    over units, employees, channels and times, and return their answers."""
    rng = np.random.default_rng(seed)
    version = survey.versions.get(status="published")
    questions = {q.key: q for q in version.questions.all()}
    organisation_id = survey.organisation_id
    stored: list[Response] = []
    plans: list[tuple[Response, dict[str, float]]] = []
    for _ in range(responses):
        unit = units[int(rng.integers(len(units)))]
        employee = employees[int(rng.integers(len(employees)))]
        seconds = int(rng.integers(span_days * 86_400))
        micro = int(rng.integers(1_000_000))
        at = start + timedelta(seconds=seconds, microseconds=micro)
        response = Response(
            organisation_id=organisation_id,
            survey=survey,
            version=version,
            unit=unit,
            employee=employee,
            channel=CHANNELS[int(rng.integers(len(CHANNELS)))],
            language="ro",
            status="complete",
            source="demo",
            started_at=at - timedelta(minutes=3),
            completed_at=at,
        )
        values = {key: float(rng.integers(low, high + 1)) for key, (low, high) in SCALES.items()}
        stored.append(response)
        plans.append((response, values))
    Response.objects.bulk_create(stored, batch_size=500)
    answers: list[Answer] = []
    records: list[Record] = []
    time_zone = organisation_zone(organisation_id)
    for response, values in plans:
        for key, value in values.items():
            question = questions[key]
            assert response.completed_at is not None
            answers.append(
                Answer(
                    organisation_id=organisation_id,
                    response=response,
                    question=question,
                    question_key=key,
                    kind=question.kind,
                    value_number=value,
                    program_id=survey.program_id,
                    survey=survey,
                    version=version,
                    unit=response.unit,
                    unit_path=response.unit.path if response.unit else "",
                    employee=response.employee,
                    channel=response.channel,
                    language=response.language,
                    answered_at=response.completed_at,
                    local_day=day_number(response.completed_at, time_zone),
                    local_hour=hour_of(response.completed_at, time_zone),
                    is_complete=True,
                )
            )
            records.append(
                Record(
                    organisation_id=organisation_id,
                    question_key=key,
                    kind=question.kind,
                    value=value,
                    unit_id=response.unit_id,
                    unit_path=response.unit.path if response.unit else "",
                    employee_id=response.employee_id,
                    channel=response.channel,
                    answered_at=response.completed_at,
                    is_complete=True,
                )
            )
    Answer.objects.bulk_create(answers, batch_size=1_000)
    return records
