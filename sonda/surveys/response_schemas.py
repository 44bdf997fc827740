"""API schemas for responses: a whole response submitted, responses listed and read."""

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import AwareDatetime

from sonda.api.schemas import InputSchema
from sonda.customers.schemas import IdentityIn
from sonda.org.schemas import UnitRef
from sonda.surveys.models import Response, ResponseStatus
from sonda.surveys.response_selectors import ResponseFilters
from sonda.surveys.submissions import SubmittedContext

MAX_ANSWERS = 200


class ResponseSubmitIn(InputSchema):
    survey_id: int
    external_id: str = Field(
        "",
        max_length=100,
        description="Your id of this response. Sending it again answers the stored response "
        "(200) and stores nothing new, so a retry never counts twice.",
    )
    customer: IdentityIn | None = Field(
        None,
        description="The respondent by any identity; an identity nobody holds yet creates a "
        "customer profile. Leave out (with `customer_id`) for an anonymous response.",
    )
    customer_id: int | None = Field(None, description="The respondent by Sonda's customer id.")
    unit_id: int | None = None
    unit_code: str = Field("", max_length=64, description="The unit by its code, e.g. `N1`.")
    employee_id: int | None = None
    employee_number: str = Field(
        "",
        max_length=64,
        description="The employee who served the customer; their unit is the response's unit "
        "when no unit is given.",
    )
    touchpoint: str = Field("", max_length=100)
    channel: str = Field("", max_length=32, description="`ivr`, `kiosk`, `app`, `partner`...")
    journey: str = Field("", max_length=100)
    stage: str = Field("", max_length=100)
    language: str = Field(
        "",
        max_length=8,
        description="One of the survey's languages; default: the customer's preferred "
        "language if the survey has it, else the survey's default language.",
    )
    started_at: AwareDatetime | None = Field(None, description="Default: `completed_at`.")
    completed_at: AwareDatetime | None = Field(None, description="Default: now.")
    answers: dict[str, Any] = Field(
        description="By question key: a number (scales, numbers), a string (text, a single "
        "choice's option code), a list of option codes (multiple choice) or a boolean (yes/no).",
        max_length=MAX_ANSWERS,
    )

    def context(self) -> SubmittedContext:
        return SubmittedContext(
            customer_identity=self.customer.key(at="customer") if self.customer else None,
            customer_id=self.customer_id,
            unit_id=self.unit_id,
            unit_code=self.unit_code,
            employee_id=self.employee_id,
            employee_number=self.employee_number,
            touchpoint=self.touchpoint,
            channel=self.channel,
            journey=self.journey,
            stage=self.stage,
            language=self.language,
        )


class ResponseQuery(Schema):
    """Filters of the response list; all optional."""

    survey_id: int | None = None
    program_id: int | None = None
    status: ResponseStatus | None = None
    unit_id: int | None = Field(None, description="Responses of this unit and the units below.")
    unit_only: bool = Field(
        False, description="With `unit_id`: only the unit's own responses, not the units below."
    )
    employee_id: int | None = None
    channel: str = Field("", max_length=32)
    touchpoint: str = Field("", max_length=100)
    customer_id: int | None = None
    language: str = Field("", max_length=8)
    completed_from: date | None = Field(
        None, description="Completed on or after this day (the organisation's time zone)."
    )
    completed_to: date | None = Field(None, description="Completed on or before this day.")
    has_text: bool | None = Field(None, description="With (true) or without (false) open text.")
    journey: str = Field("", max_length=100, description="The journey's exact label.")
    stage: str = Field("", max_length=100, description="The journey stage's exact label.")
    weekday: int | None = Field(
        None,
        ge=0,
        le=6,
        description="Answered on this day of the week, 0 = Monday … 6 = Sunday, on the "
        "organisation's clock (as the dashboards count answers by weekday).",
    )
    hour: int | None = Field(
        None, ge=0, le=23, description="Answered in this hour, 0 … 23, on the organisation's clock."
    )

    def filters(self) -> ResponseFilters:
        return ResponseFilters(
            survey_id=self.survey_id,
            program_id=self.program_id,
            status=self.status.value if self.status else "",
            unit_id=self.unit_id,
            unit_only=self.unit_only,
            employee_id=self.employee_id,
            channel=self.channel,
            touchpoint=self.touchpoint,
            customer_id=self.customer_id,
            language=self.language,
            completed_from=self.completed_from,
            completed_to=self.completed_to,
            has_text=self.has_text,
            journey=self.journey,
            stage=self.stage,
            weekday=self.weekday,
            hour=self.hour,
        )


class EmployeeRef(Schema):
    id: int
    employee_number: str
    full_name: str


class ResponseOut(Schema):
    id: int
    survey_id: int
    version: int = Field(description="The number of the survey version answered.")
    status: ResponseStatus
    source: str = Field(description="`web`, `api`, `import` or `demo`.")
    external_id: str
    customer_id: int | None
    unit: UnitRef | None
    employee: EmployeeRef | None
    touchpoint: str
    channel: str
    journey: str
    stage: str
    language: str
    invitation_id: int | None
    started_at: datetime
    completed_at: datetime | None

    @staticmethod
    def resolve_version(obj: Response | dict[str, Any]) -> int:
        # A response read with its answers arrives as a dict that holds the number already.
        return int(obj["version"]) if isinstance(obj, dict) else obj.version.number


class AnswerOut(Schema):
    question_key: str
    kind: str
    question: str = Field(description="The question's text in the response's language.")
    value: bool | int | float | str | list[str] = Field(
        description="A whole number for scales, a number, a text, an option code (single "
        "choice), a list of option codes (multiple choice) or a boolean (yes/no)."
    )
    labels: list[str] = Field(
        description="The chosen options' labels in the response's language (choices only)."
    )


class ResponseDetailOut(ResponseOut):
    answers: list[AnswerOut] = Field(description="The answered questions, in survey order.")
