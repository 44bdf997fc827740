"""Writes for programs, survey looks, surveys and their versions, and open links."""

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace

from django.db import IntegrityError, transaction
from django.utils import timezone

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.models import Membership, User
from sonda.accounts.services import audit_record
from sonda.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from sonda.org.models import Unit
from sonda.surveys.definition import (
    SURVEY_LANGUAGES,
    QuestionSpec,
    missing_translations,
    validate_definition,
)
from sonda.surveys.models import (
    OpenLink,
    Program,
    ProgramKind,
    Question,
    Survey,
    SurveyLook,
    SurveyVersion,
    VersionStatus,
)
from sonda.surveys.specs import question_fields, spec_of

COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_RE = re.compile(r"^data:image/(png|jpeg|svg\+xml);base64,[A-Za-z0-9+/=]+$")
LOGO_MAX_CHARS = 280_000  # about 200 KB of image once base64-encoded


def _check_thresholds(promoter_min: int, detractor_max: int, minimum_base: int) -> None:
    if not 1 <= promoter_min <= 10:
        raise ValidationFailed.on("promoter_min", "must be from 1 to 10")
    if not 0 <= detractor_max < promoter_min:
        raise ValidationFailed.on(
            "detractor_max", "must be from 0 to one below the promoters' threshold"
        )
    if not 1 <= minimum_base <= 100_000:
        raise ValidationFailed.on("minimum_base", "must be from 1 to 100,000")


def program_create(
    *,
    scope: Scope,
    name: str,
    kind: str,
    description: str = "",
    promoter_min: int = 9,
    detractor_max: int = 6,
    minimum_base: int = 30,
    owner_id: int | None = None,
) -> Program:
    scope.require(CONFIGURE, "create programs")
    if kind not in ProgramKind.values:
        raise ValidationFailed.on("kind", "relationship or transactional")
    _check_thresholds(promoter_min, detractor_max, minimum_base)
    owner = _owner(scope, owner_id)
    try:
        with transaction.atomic():
            return Program.objects.create(
                organisation=scope.organisation,
                name=name.strip(),
                kind=kind,
                description=description,
                promoter_min=promoter_min,
                detractor_max=detractor_max,
                minimum_base=minimum_base,
                owner=owner or scope.user,
            )
    except IntegrityError as exc:
        raise Conflict.on("name", f"a program named '{name}' already exists") from exc


def _owner(scope: Scope, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    found = (
        Membership.objects.filter(organisation=scope.organisation, user_id=owner_id)
        .select_related("user")
        .first()
    )
    if found is None:
        raise ValidationFailed.on("owner_id", "the owner must be a member of the organisation")
    return found.user


def program_update(
    *,
    scope: Scope,
    program_id: int,
    name: str | None = None,
    kind: str | None = None,
    description: str | None = None,
    promoter_min: int | None = None,
    detractor_max: int | None = None,
    minimum_base: int | None = None,
    owner_id: int | None = None,
) -> Program:
    scope.require(CONFIGURE, "change programs")
    with transaction.atomic():
        program = (
            Program.objects.select_for_update()
            .filter(organisation=scope.organisation, pk=program_id)
            .first()
        )
        if program is None:
            raise NotFound("No such program.")
        if kind is not None and kind not in ProgramKind.values:
            raise ValidationFailed.on("kind", "relationship or transactional")
        _check_thresholds(
            promoter_min if promoter_min is not None else program.promoter_min,
            detractor_max if detractor_max is not None else program.detractor_max,
            minimum_base if minimum_base is not None else program.minimum_base,
        )
        for name_, value in (
            ("name", name.strip() if name is not None else None),
            ("kind", kind),
            ("description", description),
            ("promoter_min", promoter_min),
            ("detractor_max", detractor_max),
            ("minimum_base", minimum_base),
        ):
            if value is not None:
                setattr(program, name_, value)
        if owner_id is not None:
            program.owner = _owner(scope, owner_id)
        try:
            with transaction.atomic():
                program.save()
        except IntegrityError as exc:
            raise Conflict.on("name", f"a program named '{name}' already exists") from exc
    return program


def survey_look_set(
    *,
    scope: Scope,
    logo: str | None = None,
    primary_colour: str | None = None,
    background_colour: str | None = None,
    sender_name: str | None = None,
) -> SurveyLook:
    """Set the organisation's survey look; only what is given changes."""
    scope.require(CONFIGURE, "change the survey look")
    if logo and (len(logo) > LOGO_MAX_CHARS or not LOGO_RE.match(logo)):
        raise ValidationFailed.on(
            "logo", "a PNG, JPEG or SVG image as a base64 data: URL of at most 200 KB"
        )
    for name, colour in (
        ("primary_colour", primary_colour),
        ("background_colour", background_colour),
    ):
        if colour is not None and not COLOUR_RE.match(colour):
            raise ValidationFailed.on(name, "a colour like #1d4f91")
    if sender_name is not None and len(sender_name) > 100:
        raise ValidationFailed.on("sender_name", "at most 100 characters")
    changes = {
        name: value
        for name, value in (
            ("logo", logo),
            ("primary_colour", primary_colour),
            ("background_colour", background_colour),
            ("sender_name", sender_name),
        )
        if value is not None
    }
    look, _ = SurveyLook.objects.update_or_create(organisation=scope.organisation, defaults=changes)
    return look


def _check_languages(languages: Sequence[str], default_language: str) -> None:
    if not languages:
        raise ValidationFailed.on("languages", "a survey needs at least one language")
    unknown = [lang for lang in languages if lang not in SURVEY_LANGUAGES]
    if unknown:
        raise ValidationFailed.on("languages", f"unsupported language codes: {unknown}")
    if len(set(languages)) != len(languages):
        raise ValidationFailed.on("languages", "a language is listed twice")
    if default_language not in languages:
        raise ValidationFailed.on("default_language", "must be one of the survey's languages")


def survey_create(
    *,
    scope: Scope,
    program_id: int,
    name: str,
    languages: Sequence[str],
    default_language: str,
    questions: Sequence[QuestionSpec] = (),
) -> Survey:
    """A new survey with its first draft version (which may already hold questions)."""
    scope.require(CONFIGURE, "create surveys")
    program = Program.objects.filter(organisation=scope.organisation, pk=program_id).first()
    if program is None:
        raise ValidationFailed.on("program_id", f"no program with id {program_id}")
    _check_languages(languages, default_language)
    try:
        with transaction.atomic():
            survey = Survey.objects.create(
                organisation=scope.organisation,
                program=program,
                name=name.strip(),
                languages=list(languages),
                default_language=default_language,
            )
            version = SurveyVersion.objects.create(
                organisation=scope.organisation, survey=survey, number=1
            )
            _questions_replace(version, questions, languages=languages)
    except IntegrityError as exc:
        raise Conflict.on("name", f"a survey named '{name}' already exists") from exc
    return survey


def survey_update(
    *,
    scope: Scope,
    survey_id: int,
    name: str | None = None,
    languages: Sequence[str] | None = None,
    default_language: str | None = None,
    is_archived: bool | None = None,
) -> Survey:
    scope.require(CONFIGURE, "change surveys")
    with transaction.atomic():
        survey = _survey_for_update(scope, survey_id)
        new_languages = list(languages) if languages is not None else survey.languages
        new_default = default_language if default_language is not None else survey.default_language
        _check_languages(new_languages, new_default)
        survey.languages = new_languages
        survey.default_language = new_default
        if name is not None:
            survey.name = name.strip()
        if is_archived is not None:
            survey.is_archived = is_archived
        try:
            with transaction.atomic():
                survey.save()
        except IntegrityError as exc:
            raise Conflict.on("name", f"a survey named '{name}' already exists") from exc
    return survey


def _survey_for_update(scope: Scope, survey_id: int) -> Survey:
    survey = (
        Survey.objects.select_for_update()
        .filter(organisation=scope.organisation, pk=survey_id)
        .first()
    )
    if survey is None:
        raise NotFound("No such survey.")
    return survey


def _questions_replace(
    version: SurveyVersion, questions: Sequence[QuestionSpec], *, languages: Sequence[str]
) -> None:
    errors = validate_definition(questions, languages=languages)
    if errors:
        raise ValidationFailed("The survey definition is not valid.", errors=errors)
    version.questions.all().delete()
    Question.objects.bulk_create(
        [
            Question(
                organisation_id=version.organisation_id,
                version=version,
                position=position,
                **question_fields(spec),
            )
            for position, spec in enumerate(questions, start=1)
        ]
    )


def survey_draft(*, scope: Scope, survey_id: int) -> SurveyVersion:
    """The survey's draft, made from the latest version when there is none ("edit")."""
    scope.require(CONFIGURE, "edit surveys")
    with transaction.atomic():
        survey = _survey_for_update(scope, survey_id)
        draft = survey.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is not None:
            return draft
        latest = survey.versions.order_by("-number").first()
        draft = SurveyVersion.objects.create(
            organisation=scope.organisation,
            survey=survey,
            number=(latest.number + 1) if latest else 1,
        )
        if latest is not None:
            Question.objects.bulk_create(
                [
                    Question(
                        organisation_id=scope.organisation_id,
                        version=draft,
                        position=q.position,
                        **question_fields(spec_of(q)),
                    )
                    for q in latest.questions.order_by("position")
                ]
            )
    return draft


def survey_draft_save(
    *, scope: Scope, survey_id: int, questions: Sequence[QuestionSpec]
) -> SurveyVersion:
    """Replace the draft's questions (making a draft first if the survey has none)."""
    draft = survey_draft(scope=scope, survey_id=survey_id)
    with transaction.atomic():
        draft = SurveyVersion.objects.select_for_update().select_related("survey").get(pk=draft.pk)
        if draft.status != VersionStatus.DRAFT:
            raise Conflict.on("version", "the draft was published meanwhile; edit again")
        _questions_replace(draft, questions, languages=draft.survey.languages)
    return draft


def survey_publish(*, scope: Scope, survey_id: int) -> SurveyVersion:
    """Freeze the draft as the survey's published version; the previous one is retired.

    Refused while a translation is missing (the error lists every missing text) or while the
    draft has no question.
    """
    scope.require(CONFIGURE, "publish surveys")
    with transaction.atomic():
        survey = _survey_for_update(scope, survey_id)
        draft = survey.versions.select_for_update().filter(status=VersionStatus.DRAFT).first()
        if draft is None:
            raise Conflict.on("version", "there is no draft to publish; edit the survey first")
        specs = [spec_of(q) for q in draft.questions.order_by("position")]
        if not specs:
            raise ValidationFailed.on("questions", "a survey needs at least one question")
        errors = validate_definition(specs, languages=survey.languages)
        if errors:
            raise ValidationFailed("The survey definition is not valid.", errors=errors)
        missing = missing_translations(specs, languages=survey.languages)
        if missing:
            raise ValidationFailed(
                f"{len(missing)} translation(s) missing before publishing.",
                errors=[FieldError("translations", line) for line in missing],
            )
        survey.versions.filter(status=VersionStatus.PUBLISHED).update(status=VersionStatus.RETIRED)
        draft.status = VersionStatus.PUBLISHED
        draft.published_at = timezone.now()
        draft.published_by = scope.user
        draft.save(update_fields=["status", "published_at", "published_by", "updated_at"])
        audit_record(
            action="survey.published",
            organisation=scope.organisation,
            actor=scope.user,
            target=survey,
            detail={"version": draft.number},
        )
    return draft


def open_link_create(
    *,
    scope: Scope,
    survey_id: int,
    name: str,
    unit_id: int | None = None,
    touchpoint: str = "",
    channel: str = "qr",
    language: str = "",
    max_responses_per_client_per_day: int = 3,
) -> OpenLink:
    scope.require(CONFIGURE, "create open links")
    survey = Survey.objects.filter(organisation=scope.organisation, pk=survey_id).first()
    if survey is None:
        raise ValidationFailed.on("survey_id", f"no survey with id {survey_id}")
    unit = None
    if unit_id is not None:
        unit = Unit.objects.filter(organisation=scope.organisation, pk=unit_id).first()
        if unit is None:
            raise ValidationFailed.on("unit_id", f"no unit with id {unit_id}")
    if language and language not in survey.languages:
        raise ValidationFailed.on("language", "must be one of the survey's languages")
    if not 1 <= max_responses_per_client_per_day <= 1000:
        raise ValidationFailed.on("max_responses_per_client_per_day", "from 1 to 1000")
    return OpenLink.objects.create(
        organisation=scope.organisation,
        survey=survey,
        token=secrets.token_urlsafe(16),
        name=name.strip(),
        unit=unit,
        touchpoint=touchpoint,
        channel=channel,
        language=language,
        max_responses_per_client_per_day=max_responses_per_client_per_day,
    )


def open_link_set_active(*, scope: Scope, open_link_id: int, is_active: bool) -> OpenLink:
    """Switch an open link on or off; a switched-off link stops taking new responses."""
    scope.require(CONFIGURE, "change open links")
    with transaction.atomic():
        link = (
            OpenLink.objects.select_for_update()
            .filter(organisation=scope.organisation, pk=open_link_id)
            .first()
        )
        if link is None:
            raise NotFound("No such open link.")
        if link.is_active != is_active:
            link.is_active = is_active
            link.save(update_fields=["is_active", "updated_at"])
    return link


# One question at a time (the survey builder) -------------------------------------------------
#
# The builder edits one question, but every save replaces the draft's whole list through
# survey_draft_save, so the rules of a definition (unique keys, conditions on earlier questions,
# pages without gaps) are checked against the survey as it will be.


def _draft_edit(
    scope: Scope,
    survey_id: int,
    change: Callable[[list[QuestionSpec]], list[QuestionSpec]],
) -> SurveyVersion:
    with transaction.atomic():
        # survey_draft locks the survey row: two editors' changes apply one after the other.
        draft = survey_draft(scope=scope, survey_id=survey_id)
        specs = [spec_of(q) for q in draft.questions.order_by("position")]
        return survey_draft_save(scope=scope, survey_id=survey_id, questions=change(specs))


def _index_of(specs: Sequence[QuestionSpec], key: str) -> int:
    for index, spec in enumerate(specs):
        if spec.key == key:
            return index
    raise NotFound(f"The draft has no question '{key}'.")


def _pages_compacted(specs: list[QuestionSpec]) -> list[QuestionSpec]:
    """Renumber pages 1, 2, 3... in their order, so that moving or deleting leaves no gap."""
    numbers = {page: number for number, page in enumerate(sorted({s.page for s in specs}), 1)}
    return [replace(s, page=numbers[s.page]) if numbers[s.page] != s.page else s for s in specs]


def survey_question_save(
    *, scope: Scope, survey_id: int, question: QuestionSpec, replacing: str | None = None
) -> SurveyVersion:
    """Put one question into the draft: in place of the question keyed `replacing`, or last.

    Errors name the question by its place in the draft (`questions[i].field`).
    """

    def change(specs: list[QuestionSpec]) -> list[QuestionSpec]:
        if replacing is None:
            return [*specs, question]
        index = _index_of(specs, replacing)
        return [*specs[:index], question, *specs[index + 1 :]]

    return _draft_edit(scope, survey_id, change)


def survey_question_delete(*, scope: Scope, survey_id: int, key: str) -> SurveyVersion:
    """Remove a question from the draft; a page left empty closes up."""

    def change(specs: list[QuestionSpec]) -> list[QuestionSpec]:
        index = _index_of(specs, key)
        return _pages_compacted([*specs[:index], *specs[index + 1 :]])

    return _draft_edit(scope, survey_id, change)


def survey_question_move(
    *, scope: Scope, survey_id: int, key: str, direction: str
) -> SurveyVersion:
    """Move a question one step up or down the draft.

    At the edge of a page the question moves onto the neighbouring page (the first question of
    page 2 moved up becomes the last of page 1) rather than jumping over a question.
    """
    if direction not in {"up", "down"}:
        raise ValidationFailed.on("direction", "up or down")

    def change(specs: list[QuestionSpec]) -> list[QuestionSpec]:
        index = _index_of(specs, key)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(specs):
            return specs
        moved, neighbour = specs[index], specs[other]
        out = list(specs)
        if neighbour.page != moved.page:
            out[index] = replace(moved, page=neighbour.page)
        else:
            out[index], out[other] = neighbour, moved
        return _pages_compacted(out)

    return _draft_edit(scope, survey_id, change)
