"""API schemas of programs, surveys and their versions, the survey look and open links.

A question reads and writes in the same shape, so that a client may GET a draft, change it and
PUT it back.
"""

from datetime import datetime
from typing import Any, ClassVar

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Schema

from sonda.api.schemas import InputSchema, PatchSchema
from sonda.core.errors import FieldError, ValidationFailed
from sonda.surveys.definition import CONDITION_OPS, QuestionSpec
from sonda.surveys.models import (
    OpenLink,
    ProgramKind,
    QuestionKind,
    SurveyVersion,
    VersionStatus,
)
from sonda.surveys.specs import spec_from_json

Texts = dict[str, str]
ConditionValue = int | float | str | list[int | float | str]

# Programs --------------------------------------------------------------------------------------


class ProgramOut(Schema):
    id: int
    name: str
    kind: ProgramKind
    description: str
    promoter_min: int = Field(description="Answers from this score to 10 are promoters.")
    detractor_max: int = Field(description="Answers from 0 to this score are detractors.")
    minimum_base: int = Field(description="Fewer answers than this: no figure is shown.")
    owner_id: int | None
    survey_count: int
    created_at: datetime


class ProgramCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    kind: ProgramKind
    description: str = Field("", max_length=4000)
    promoter_min: int = Field(9, description="1 to 10; default 9.")
    detractor_max: int = Field(6, description="0 to one below promoter_min; default 6.")
    minimum_base: int = Field(30, description="1 to 100,000; default 30.")
    owner_id: int | None = Field(
        None, description="A member of the organisation; the caller when left out."
    )


class ProgramUpdateIn(PatchSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: ProgramKind | None = None
    description: str | None = Field(None, max_length=4000)
    promoter_min: int | None = None
    detractor_max: int | None = None
    minimum_base: int | None = None
    owner_id: int | None = None


# Questions -------------------------------------------------------------------------------------


class OptionIO(Schema):
    code: str = Field(description="Stored with the answers: lower-case letters, digits, - and _.")
    labels: Texts = Field(default_factory=dict, description="The label per language.")
    problem: str = Field("", description="The problem-taxonomy code this option reports.")


class ConditionIO(Schema):
    question: str = Field(description="The key of an earlier question.")
    op: str = Field(description=f"One of {', '.join(CONDITION_OPS)}.")
    value: ConditionValue = Field(
        description="A number, an option code, or a list of them for `in` and `not_in`."
    )


class QuestionOut(Schema):
    key: str
    kind: QuestionKind
    text: Texts
    required: bool
    page: int
    help_text: Texts
    scale_min: int | None
    scale_max: int | None
    scale_labels: dict[str, Texts]
    options: list[OptionIO]
    competitor: str
    max_length: int | None
    condition: ConditionIO | None


class OptionIn(InputSchema, OptionIO):
    pass


class ConditionIn(InputSchema, ConditionIO):
    pass


class QuestionIn(InputSchema):
    key: str = Field(description="Lower-case letters, digits and _; the same across versions.")
    kind: QuestionKind
    text: Texts = Field(default_factory=dict, description="The question per language.")
    required: bool = False
    page: int = Field(1, description="Pages run 1, 2, 3... without gaps.")
    help_text: Texts = Field(default_factory=dict)
    scale_min: int | None = Field(None, description="Scales: nps 0–10; csat 1–5, 1–7, 1–10...")
    scale_max: int | None = Field(None, description="Numbers: the bounds of the answer.")
    scale_labels: dict[str, Texts] = Field(
        default_factory=dict, description="`min` and `max`: the end labels per language."
    )
    options: list[OptionIn] = Field(default_factory=list, max_length=100)
    competitor: str = Field("", max_length=100, description="nps about a competitor.")
    max_length: int | None = Field(None, description="Text answers: the longest answer.")
    condition: ConditionIn | None = Field(
        None, description="Show the question only when an earlier answer meets this."
    )


def question_specs(questions: list[QuestionIn]) -> list[QuestionSpec]:
    """The specs of a question list; errors name `questions[i].field`, all of them at once."""
    specs: list[QuestionSpec] = []
    errors: list[FieldError] = []
    for index, question in enumerate(questions):
        data = question.model_dump(mode="json", exclude_unset=True)
        try:
            specs.append(spec_from_json(data, index=index))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed("The survey definition is not valid.", errors=errors)
    return specs


class VersionOut(Schema):
    number: int
    status: VersionStatus
    published_at: datetime | None
    published_by_id: int | None
    questions: list[QuestionOut]


class VersionSummaryOut(Schema):
    number: int
    status: VersionStatus
    published_at: datetime | None
    published_by_id: int | None
    response_count: int = Field(description="Responses that answered this version.")


class DraftIn(InputSchema):
    questions: list[QuestionIn] = Field(max_length=200)


# Surveys ---------------------------------------------------------------------------------------


class SurveyOut(Schema):
    id: int
    program_id: int
    name: str
    languages: list[str]
    default_language: str
    is_archived: bool
    published_version: int | None = Field(
        description="The number of the version respondents answer."
    )
    draft_version: int | None = Field(
        description="The number of the draft, if one is being edited."
    )
    response_count: int

    @staticmethod
    def resolve_published_version(obj: Any) -> int | None:
        number: int | None = obj.published_number
        return number

    @staticmethod
    def resolve_draft_version(obj: Any) -> int | None:
        number: int | None = obj.draft_number
        return number


def _current(obj: Any, status: str) -> SurveyVersion | None:
    return next((v for v in obj.current_versions if v.status == status), None)


class SurveyDetailOut(SurveyOut):
    published: VersionOut | None = Field(description="What respondents answer now.")
    draft: VersionOut | None = Field(description="The version being edited, if any.")

    @staticmethod
    def resolve_published(obj: Any) -> SurveyVersion | None:
        return _current(obj, VersionStatus.PUBLISHED)

    @staticmethod
    def resolve_draft(obj: Any) -> SurveyVersion | None:
        return _current(obj, VersionStatus.DRAFT)


class SurveyCreateIn(InputSchema):
    program_id: int
    name: str = Field(min_length=1, max_length=200)
    languages: list[str] = Field(min_length=1, max_length=12, description="`en`, `ro`, `pl`...")
    default_language: str = Field(max_length=8)
    questions: list[QuestionIn] = Field(
        default_factory=list, max_length=200, description="The first draft's questions."
    )


class SurveyUpdateIn(PatchSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    languages: list[str] | None = Field(None, min_length=1, max_length=12)
    default_language: str | None = Field(None, max_length=8)
    is_archived: bool | None = None


# The look and open links -----------------------------------------------------------------------


class SurveyLookOut(Schema):
    logo: str = Field(description="A data: URL of a PNG, JPEG or SVG image, or empty.")
    primary_colour: str
    background_colour: str
    sender_name: str


class SurveyLookIn(InputSchema):
    logo: str = Field("", description="A base64 data: URL of at most 200 KB; empty: no logo.")
    primary_colour: str = Field(description="Like #1d4f91.")
    background_colour: str = Field(description="Like #ffffff.")
    sender_name: str = Field("", max_length=100)


class OpenLinkOut(Schema):
    id: int
    name: str
    url: str = Field(description="The address respondents open (for a QR code, a receipt...).")
    unit_id: int | None
    touchpoint: str
    channel: str
    language: str
    is_active: bool
    max_responses_per_client_per_day: int
    response_count: int
    created_at: datetime

    @staticmethod
    def resolve_url(obj: OpenLink, context: dict[str, Any]) -> str:
        request: HttpRequest = context["request"]
        return request.build_absolute_uri(reverse("respond:open", kwargs={"token": obj.token}))


class OpenLinkCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    unit_id: int | None = None
    touchpoint: str = Field("", max_length=100)
    channel: str = Field("qr", min_length=1, max_length=32)
    language: str = Field("", max_length=8, description="Empty: respondents choose.")
    max_responses_per_client_per_day: int = Field(3, description="1 to 1000.")


class OpenLinkUpdateIn(PatchSchema):
    nullable: ClassVar[frozenset[str]] = frozenset()

    is_active: bool | None = Field(None, description="false: the link takes no new responses.")
