"""Programs, surveys and their drafts, the survey look and open links over the API.

Handlers parse, call a service or selector, and answer. Admins and analysts write; executives
read; managers and frontline employees are refused lists (403) and do not find objects (404).
"""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.params.functions import Query
from ninja.responses import Status

from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.core.errors import NotFound
from sonda.surveys import selectors, services
from sonda.surveys.models import OpenLink, Program, Survey, SurveyLook, SurveyVersion
from sonda.surveys.schemas import (
    DraftIn,
    OpenLinkCreateIn,
    OpenLinkOut,
    OpenLinkUpdateIn,
    ProgramCreateIn,
    ProgramOut,
    ProgramUpdateIn,
    SurveyCreateIn,
    SurveyDetailOut,
    SurveyLookIn,
    SurveyLookOut,
    SurveyOut,
    SurveyUpdateIn,
    VersionOut,
    VersionSummaryOut,
    question_specs,
)

programs_router = Router(tags=["surveys"])
surveys_router = Router(tags=["surveys"])
look_router = Router(tags=["surveys"])


# Programs --------------------------------------------------------------------------------------


@programs_router.get("", response=list[ProgramOut], summary="List listening programs")
@paginate(Page)
def program_list(request: HttpRequest) -> QuerySet[Program]:
    return selectors.program_list(scope=scope_of(request))


@programs_router.get("/{program_id}", response=ProgramOut, summary="Get a program")
def program_get(request: HttpRequest, program_id: int) -> Program:
    return selectors.program_get(scope=scope_of(request), program_id=program_id)


@programs_router.post("", response={201: ProgramOut}, summary="Create a program")
def program_create(request: HttpRequest, payload: ProgramCreateIn) -> Status[Program]:
    scope = scope_of(request)
    program = services.program_create(
        scope=scope,
        name=payload.name,
        kind=payload.kind,
        description=payload.description,
        promoter_min=payload.promoter_min,
        detractor_max=payload.detractor_max,
        minimum_base=payload.minimum_base,
        owner_id=payload.owner_id,
    )
    return Status(201, selectors.program_get(scope=scope, program_id=program.pk))


@programs_router.patch("/{program_id}", response=ProgramOut, summary="Change a program")
def program_update(request: HttpRequest, program_id: int, payload: ProgramUpdateIn) -> Program:
    scope = scope_of(request)
    # Outside the caller's view the program is not found, whatever their role may do.
    selectors.program_get(scope=scope, program_id=program_id)
    services.program_update(
        scope=scope,
        program_id=program_id,
        name=payload.name,
        kind=payload.kind,
        description=payload.description,
        promoter_min=payload.promoter_min,
        detractor_max=payload.detractor_max,
        minimum_base=payload.minimum_base,
        owner_id=payload.owner_id,
    )
    return selectors.program_get(scope=scope, program_id=program_id)


# Surveys ---------------------------------------------------------------------------------------


@surveys_router.get("", response=list[SurveyOut], summary="List surveys")
@paginate(Page)
def survey_list(
    request: HttpRequest,
    program_id: int | None = Query(None, description="Only the surveys of this program."),
) -> QuerySet[Survey]:
    return selectors.survey_list(scope=scope_of(request), program_id=program_id)


@surveys_router.get(
    "/{survey_id}",
    response=SurveyDetailOut,
    summary="Get a survey with its published version and its draft",
)
def survey_get(request: HttpRequest, survey_id: int) -> Survey:
    return selectors.survey_get_with_versions(scope=scope_of(request), survey_id=survey_id)


@surveys_router.post(
    "",
    response={201: SurveyDetailOut},
    summary="Create a survey (its first draft may hold questions)",
)
def survey_create(request: HttpRequest, payload: SurveyCreateIn) -> Status[Survey]:
    scope = scope_of(request)
    survey = services.survey_create(
        scope=scope,
        program_id=payload.program_id,
        name=payload.name,
        languages=payload.languages,
        default_language=payload.default_language,
        questions=question_specs(payload.questions),
    )
    return Status(201, selectors.survey_get_with_versions(scope=scope, survey_id=survey.pk))


@surveys_router.patch(
    "/{survey_id}",
    response=SurveyDetailOut,
    summary="Rename, change the languages of, or archive a survey",
)
def survey_update(request: HttpRequest, survey_id: int, payload: SurveyUpdateIn) -> Survey:
    scope = scope_of(request)
    selectors.survey_get(scope=scope, survey_id=survey_id)
    services.survey_update(
        scope=scope,
        survey_id=survey_id,
        name=payload.name,
        languages=payload.languages,
        default_language=payload.default_language,
        is_archived=payload.is_archived,
    )
    return selectors.survey_get_with_versions(scope=scope, survey_id=survey_id)


@surveys_router.get("/{survey_id}/draft", response=VersionOut, summary="Get the survey's draft")
def survey_draft_get(request: HttpRequest, survey_id: int) -> SurveyVersion:
    scope = scope_of(request)
    survey = selectors.survey_get(scope=scope, survey_id=survey_id)
    draft = selectors.survey_version(scope=scope, survey=survey, status="draft")
    if draft is None:
        raise NotFound("The survey has no draft: PUT one (it replaces the questions).")
    return draft


@surveys_router.put(
    "/{survey_id}/draft",
    response=VersionOut,
    summary="Replace the draft's questions (a draft is made when there is none)",
)
def survey_draft_put(request: HttpRequest, survey_id: int, payload: DraftIn) -> SurveyVersion:
    scope = scope_of(request)
    survey = selectors.survey_get(scope=scope, survey_id=survey_id)
    services.survey_draft_save(
        scope=scope, survey_id=survey.pk, questions=question_specs(payload.questions)
    )
    draft = selectors.survey_version(scope=scope, survey=survey, status="draft")
    assert draft is not None
    return draft


@surveys_router.post(
    "/{survey_id}/publish",
    response=VersionOut,
    summary="Publish the draft (refused, with the list, while a translation is missing)",
)
def survey_publish(request: HttpRequest, survey_id: int) -> SurveyVersion:
    scope = scope_of(request)
    survey = selectors.survey_get(scope=scope, survey_id=survey_id)
    services.survey_publish(scope=scope, survey_id=survey.pk)
    published = selectors.survey_version(scope=scope, survey=survey, status="published")
    assert published is not None
    return published


@surveys_router.get(
    "/{survey_id}/versions",
    response=list[VersionSummaryOut],
    summary="List a survey's versions, newest first",
)
@paginate(Page)
def survey_versions(request: HttpRequest, survey_id: int) -> QuerySet[SurveyVersion]:
    return selectors.survey_version_list(scope=scope_of(request), survey_id=survey_id)


# Open links ------------------------------------------------------------------------------------


@surveys_router.get(
    "/{survey_id}/open-links", response=list[OpenLinkOut], summary="List a survey's open links"
)
@paginate(Page)
def open_link_list(request: HttpRequest, survey_id: int) -> QuerySet[OpenLink]:
    return selectors.open_link_list(scope=scope_of(request), survey_id=survey_id)


@surveys_router.post(
    "/{survey_id}/open-links", response={201: OpenLinkOut}, summary="Create an open link"
)
def open_link_create(
    request: HttpRequest, survey_id: int, payload: OpenLinkCreateIn
) -> Status[OpenLink]:
    scope = scope_of(request)
    survey = selectors.survey_get(scope=scope, survey_id=survey_id)
    link = services.open_link_create(
        scope=scope,
        survey_id=survey.pk,
        name=payload.name,
        unit_id=payload.unit_id,
        touchpoint=payload.touchpoint,
        channel=payload.channel,
        language=payload.language,
        max_responses_per_client_per_day=payload.max_responses_per_client_per_day,
    )
    return Status(
        201, selectors.open_link_get(scope=scope, survey_id=survey.pk, open_link_id=link.pk)
    )


@surveys_router.patch(
    "/{survey_id}/open-links/{open_link_id}",
    response=OpenLinkOut,
    summary="Switch an open link on or off",
)
def open_link_update(
    request: HttpRequest, survey_id: int, open_link_id: int, payload: OpenLinkUpdateIn
) -> OpenLink:
    scope = scope_of(request)
    link = selectors.open_link_get(scope=scope, survey_id=survey_id, open_link_id=open_link_id)
    if payload.is_active is not None:
        services.open_link_set_active(
            scope=scope, open_link_id=link.pk, is_active=payload.is_active
        )
    return selectors.open_link_get(scope=scope, survey_id=survey_id, open_link_id=link.pk)


# The look --------------------------------------------------------------------------------------


@look_router.get("", response=SurveyLookOut, summary="Get the organisation's survey look")
def survey_look_get(request: HttpRequest) -> SurveyLook:
    return selectors.survey_look_get(scope=scope_of(request))


@look_router.put("", response=SurveyLookOut, summary="Set the organisation's survey look")
def survey_look_put(request: HttpRequest, payload: SurveyLookIn) -> SurveyLook:
    return services.survey_look_set(
        scope=scope_of(request),
        logo=payload.logo,
        primary_colour=payload.primary_colour,
        background_colour=payload.background_colour,
        sender_name=payload.sender_name,
    )
