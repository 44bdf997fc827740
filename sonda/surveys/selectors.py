"""Scoped reads of programs, surveys, their versions and questions, open links and the look.

The survey builder belongs to the people who run the program: admins and analysts configure it,
executives read it. Managers and frontline employees are refused lists (403) and do not find
single objects (404), like anything else outside their scope.
"""

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce

from sonda.accounts.access import READ_WHOLE_ORGANISATION, Scope
from sonda.accounts.models import User
from sonda.core.errors import NotFound
from sonda.surveys.definition import QuestionSpec
from sonda.surveys.models import (
    OpenLink,
    Program,
    Question,
    Response,
    Survey,
    SurveyLook,
    SurveyVersion,
    VersionStatus,
)
from sonda.surveys.specs import spec_of

READ_SURVEYS = READ_WHOLE_ORGANISATION


def _reads_surveys(scope: Scope) -> bool:
    return scope.role in READ_SURVEYS


def _count_of(queryset: QuerySet[Response], field: str) -> Subquery:
    """A correlated count, so that a list's other joins do not multiply it."""
    return Subquery(
        queryset.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n"),
        output_field=IntegerField(),
    )


# Programs --------------------------------------------------------------------------------------


def program_list(*, scope: Scope) -> QuerySet[Program]:
    """The organisation's programs by name, with how many surveys each has."""
    scope.require(READ_SURVEYS, "read listening programs")
    surveys = Survey.objects.filter(program=OuterRef("pk")).order_by().values("program")
    return (
        Program.objects.filter(organisation=scope.organisation)
        .select_related("owner")
        .annotate(
            survey_count=Coalesce(
                Subquery(surveys.annotate(n=Count("pk")).values("n"), output_field=IntegerField()),
                0,
            )
        )
        .order_by("name", "pk")
    )


def program_get(*, scope: Scope, program_id: int) -> Program:
    if not _reads_surveys(scope):
        raise NotFound("No such program.")
    program = program_list(scope=scope).filter(pk=program_id).first()
    if program is None:
        raise NotFound("No such program.")
    return program


def program_owner_choices(*, scope: Scope) -> QuerySet[User]:
    """The members of the organisation, who may own a program."""
    scope.require(READ_SURVEYS, "read listening programs")
    return User.objects.filter(memberships__organisation=scope.organisation).order_by(
        "full_name", "email"
    )


# Surveys ---------------------------------------------------------------------------------------


def survey_list(
    *, scope: Scope, program_id: int | None = None, include_archived: bool = True
) -> QuerySet[Survey]:
    """Surveys with their program, the numbers of their published and draft versions, and how
    many responses they have."""
    scope.require(READ_SURVEYS, "read surveys")
    versions = SurveyVersion.objects.filter(survey=OuterRef("pk"))
    surveys = (
        Survey.objects.filter(organisation=scope.organisation)
        .select_related("program")
        .annotate(
            published_number=Subquery(
                versions.filter(status=VersionStatus.PUBLISHED).values("number")[:1]
            ),
            draft_number=Subquery(versions.filter(status=VersionStatus.DRAFT).values("number")[:1]),
            response_count=Coalesce(_count_of(Response.objects.all(), "survey"), 0),
        )
        .order_by("name", "pk")
    )
    if program_id is not None:
        surveys = surveys.filter(program_id=program_id)
    if not include_archived:
        surveys = surveys.filter(is_archived=False)
    return surveys


def survey_get(*, scope: Scope, survey_id: int) -> Survey:
    if not _reads_surveys(scope):
        raise NotFound("No such survey.")
    survey = survey_list(scope=scope).filter(pk=survey_id).first()
    if survey is None:
        raise NotFound("No such survey.")
    return survey


def survey_get_with_versions(*, scope: Scope, survey_id: int) -> Survey:
    """A survey with its draft and published versions and their questions in
    `current_versions`."""
    survey = survey_get(scope=scope, survey_id=survey_id)
    current = _version_queryset(scope).filter(
        status__in=[VersionStatus.DRAFT, VersionStatus.PUBLISHED]
    )
    prefetch_related_objects([survey], Prefetch("versions", current, to_attr="current_versions"))
    return survey


def _version_queryset(scope: Scope) -> QuerySet[SurveyVersion]:
    return SurveyVersion.objects.filter(organisation=scope.organisation).prefetch_related(
        Prefetch("questions", queryset=Question.objects.order_by("position"))
    )


def survey_version(*, scope: Scope, survey: Survey, status: str) -> SurveyVersion | None:
    """The survey's draft or its published version (questions prefetched), or None."""
    return _version_queryset(scope).filter(survey=survey, status=status).first()


def survey_editing_base(*, scope: Scope, survey: Survey) -> SurveyVersion | None:
    """What the builder edits: the newest version, which is the draft when there is one (a draft
    is always numbered after the version it was made from)."""
    return _version_queryset(scope).filter(survey=survey).order_by("-number").first()


def version_specs(version: SurveyVersion) -> list[QuestionSpec]:
    """A version's questions as specs, in order (from the prefetched questions)."""
    return [spec_of(q) for q in version.questions.all()]


def survey_version_list(*, scope: Scope, survey_id: int) -> QuerySet[SurveyVersion]:
    """A survey's versions, newest first, with who published them and their response counts."""
    survey = survey_get(scope=scope, survey_id=survey_id)
    return (
        SurveyVersion.objects.filter(organisation=scope.organisation, survey=survey)
        .select_related("published_by")
        .annotate(response_count=Coalesce(_count_of(Response.objects.all(), "version"), 0))
        .order_by("-number")
    )


# Open links and the look -----------------------------------------------------------------------


def open_link_list(*, scope: Scope, survey_id: int) -> QuerySet[OpenLink]:
    """A survey's open links (active first), with their unit and how many responses came in."""
    survey = survey_get(scope=scope, survey_id=survey_id)
    return (
        OpenLink.objects.filter(organisation=scope.organisation, survey=survey)
        .select_related("unit")
        .annotate(response_count=Coalesce(_count_of(Response.objects.all(), "open_link"), 0))
        .order_by("-is_active", "name", "pk")
    )


def open_link_get(*, scope: Scope, survey_id: int, open_link_id: int) -> OpenLink:
    link = open_link_list(scope=scope, survey_id=survey_id).filter(pk=open_link_id).first()
    if link is None:
        raise NotFound("No such open link.")
    return link


def survey_look_get(*, scope: Scope) -> SurveyLook:
    """The organisation's survey look; the defaults (unsaved) until someone sets it."""
    scope.require(READ_SURVEYS, "read the survey look")
    look = SurveyLook.objects.filter(organisation=scope.organisation).first()
    return look or SurveyLook(organisation=scope.organisation)
