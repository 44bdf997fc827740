"""Pages of the survey builder: programs, surveys and their questions, versions, open links, look.

Admins and analysts build; executives read; the builder is not for managers and frontline
employees (lists refuse them, single objects are not found). Every question change saves the
whole draft through the services, so the rules of a definition apply on every save.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import Conflict, NotFound, ValidationFailed
from sonda.org.selectors import unit_list
from sonda.surveys import services
from sonda.surveys.builder_forms import (
    CONDITION_OP_SYMBOLS,
    EXTRA_OPTION_ROWS,
    MAX_OPTION_ROWS,
    OpenLinkForm,
    ProgramForm,
    QuestionForm,
    SurveyCreateForm,
    SurveyLookForm,
    SurveySettingsForm,
    kind_choices,
    language_choices,
    language_name,
    question_initial,
)
from sonda.surveys.definition import (
    SCALES,
    QuestionSpec,
    missing_translations,
    validate_definition,
)
from sonda.surveys.models import (
    Program,
    QuestionKind,
    Survey,
    SurveyLook,
    SurveyVersion,
    VersionStatus,
)
from sonda.surveys.selectors import (
    open_link_get,
    open_link_list,
    program_get,
    program_list,
    program_owner_choices,
    survey_editing_base,
    survey_get,
    survey_list,
    survey_look_get,
    survey_version_list,
    version_specs,
)
from sonda.surveys.services import COLOUR_RE
from sonda.web.pages import add_service_error, paginate, scoped_page

KIND_LABELS = dict(QuestionKind.choices)


def _owner_choices(scope: Scope) -> list[tuple[int, str]]:
    return [(user.pk, str(user)) for user in program_owner_choices(scope=scope)]


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


# Programs --------------------------------------------------------------------------------------


@scoped_page
def program_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(
        request,
        "surveys/builder/program_list.html",
        {"page_obj": paginate(request, program_list(scope=scope))},
    )


@scoped_page
def program_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "create programs")
    form = ProgramForm(
        request.POST or None, owners=_owner_choices(scope), initial={"owner": scope.user.pk}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            program = services.program_create(
                scope=scope,
                name=data["name"],
                kind=data["kind"],
                description=data["description"],
                promoter_min=data["promoter_min"],
                detractor_max=data["detractor_max"],
                minimum_base=data["minimum_base"],
                owner_id=data["owner"],
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc, {"owner_id": "owner"})
        else:
            messages.success(request, _("The program “%(name)s” is created.") % {"name": program})
            return redirect("surveys:program_detail", program_id=program.pk)
    return render(request, "surveys/builder/program_form.html", {"form": form, "program": None})


@scoped_page
def program_detail(request: HttpRequest, scope: Scope, program_id: int) -> HttpResponse:
    program = program_get(scope=scope, program_id=program_id)
    return render(
        request,
        "surveys/builder/program_detail.html",
        {
            "program": program,
            "surveys": survey_list(scope=scope, program_id=program.pk),
        },
    )


@scoped_page
def program_edit(request: HttpRequest, scope: Scope, program_id: int) -> HttpResponse:
    program = program_get(scope=scope, program_id=program_id)
    scope.require(CONFIGURE, "change programs")
    form = ProgramForm(
        request.POST or None,
        owners=_owner_choices(scope),
        initial={
            "name": program.name,
            "kind": program.kind,
            "description": program.description,
            "promoter_min": program.promoter_min,
            "detractor_max": program.detractor_max,
            "minimum_base": program.minimum_base,
            "owner": program.owner_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.program_update(
                scope=scope,
                program_id=program.pk,
                name=data["name"],
                kind=data["kind"],
                description=data["description"],
                promoter_min=data["promoter_min"],
                detractor_max=data["detractor_max"],
                minimum_base=data["minimum_base"],
                owner_id=data["owner"],
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc, {"owner_id": "owner"})
        else:
            messages.success(request, _("The program is saved."))
            return redirect("surveys:program_detail", program_id=program.pk)
    return render(request, "surveys/builder/program_form.html", {"form": form, "program": program})


# Surveys ---------------------------------------------------------------------------------------


@scoped_page
def survey_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    programs = list(program_list(scope=scope))
    program_id = _int_or_none(request.GET.get("program"))
    surveys = survey_list(scope=scope, program_id=program_id)
    return render(
        request,
        "surveys/builder/survey_list.html",
        {
            "page_obj": paginate(request, surveys),
            "programs": programs,
            "program_value": program_id,
        },
    )


def _program_choices(programs: list[Program]) -> list[tuple[int, str]]:
    return [(program.pk, program.name) for program in programs]


@scoped_page
def survey_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "create surveys")
    programs = list(program_list(scope=scope))
    form = SurveyCreateForm(
        request.POST or None,
        programs=_program_choices(programs),
        initial={
            "program": _int_or_none(request.GET.get("program")),
            "languages": ["en"],
            "default_language": "en",
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            survey = services.survey_create(
                scope=scope,
                program_id=data["program"],
                name=data["name"],
                languages=data["languages"],
                default_language=data["default_language"],
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc, {"program_id": "program"})
        else:
            messages.success(
                request,
                _("The survey “%(name)s” is created. Add its questions.") % {"name": survey.name},
            )
            return redirect("surveys:builder", survey_id=survey.pk)
    return render(
        request,
        "surveys/builder/survey_create.html",
        {"form": form, "has_programs": bool(programs)},
    )


@scoped_page
def survey_settings(request: HttpRequest, scope: Scope, survey_id: int) -> HttpResponse:
    survey = survey_get(scope=scope, survey_id=survey_id)
    scope.require(CONFIGURE, "change surveys")
    form = SurveySettingsForm(
        request.POST or None,
        initial={
            "name": survey.name,
            "languages": survey.languages,
            "default_language": survey.default_language,
            "is_archived": survey.is_archived,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.survey_update(
                scope=scope,
                survey_id=survey.pk,
                name=data["name"],
                languages=data["languages"],
                default_language=data["default_language"],
                is_archived=data["is_archived"],
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The survey's settings are saved."))
            return redirect("surveys:builder", survey_id=survey.pk)
    return render(request, "surveys/builder/survey_settings.html", {"form": form, "survey": survey})


@dataclass(frozen=True)
class QuestionRow:
    """One question as the builder lists it."""

    index: int
    spec: QuestionSpec
    kind_label: str
    text: str
    scale: str
    condition: str
    options: str
    first_on_page: bool
    is_first: bool
    is_last: bool


def _text_in(texts: Any, survey: Survey) -> str:
    return str(
        texts.get(survey.default_language)
        or next((texts[lang] for lang in survey.languages if texts.get(lang)), "")
    )


def _question_rows(specs: list[QuestionSpec], survey: Survey) -> list[QuestionRow]:
    rows = []
    for index, spec in enumerate(specs):
        scale = spec.scale() if spec.kind in SCALES else None
        condition = ""
        if spec.condition is not None:
            value = spec.condition.value
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            symbol = CONDITION_OP_SYMBOLS.get(spec.condition.op, spec.condition.op)
            condition = f"{spec.condition.question} {symbol} {shown}"
        rows.append(
            QuestionRow(
                index=index,
                spec=spec,
                kind_label=str(KIND_LABELS.get(spec.kind, spec.kind)),
                text=_text_in(spec.text, survey),
                scale=f"{scale[0]}–{scale[1]}" if scale else "",
                condition=condition,
                options=", ".join(option.code for option in spec.options),
                first_on_page=index == 0 or specs[index - 1].page != spec.page,
                is_first=index == 0,
                is_last=index == len(specs) - 1,
            )
        )
    return rows


def _preview_links(survey: Survey) -> list[tuple[str, str]]:
    url = reverse("respond:preview", kwargs={"survey_id": survey.pk})
    return [(language_name(lang), f"{url}?lang={lang}") for lang in survey.languages]


@scoped_page
def survey_builder(request: HttpRequest, scope: Scope, survey_id: int) -> HttpResponse:
    survey = survey_get(scope=scope, survey_id=survey_id)
    base = survey_editing_base(scope=scope, survey=survey)
    specs = version_specs(base) if base is not None else []
    is_draft = base is not None and base.status == VersionStatus.DRAFT
    problems = validate_definition(specs, languages=survey.languages) if is_draft else []
    missing = missing_translations(specs, languages=survey.languages) if is_draft else []
    return render(
        request,
        "surveys/builder/survey_builder.html",
        {
            "survey": survey,
            "version": base,
            "is_draft": is_draft,
            "rows": _question_rows(specs, survey),
            "problems": problems,
            "missing": missing,
            "may_publish": is_draft and bool(specs) and not problems and not missing,
            "kind_choices": kind_choices(),
            "languages": [language_name(lang) for lang in survey.languages],
            "default_language": language_name(survey.default_language),
            "preview_links": _preview_links(survey),
        },
    )


@require_POST
@scoped_page
def survey_edit_draft(request: HttpRequest, scope: Scope, survey_id: int) -> HttpResponse:
    survey = survey_get(scope=scope, survey_id=survey_id)
    draft = services.survey_draft(scope=scope, survey_id=survey.pk)
    messages.success(
        request,
        _("Version %(number)s is a draft: change it, then publish it.") % {"number": draft.number},
    )
    return redirect("surveys:builder", survey_id=survey.pk)


@require_POST
@scoped_page
def survey_publish(request: HttpRequest, scope: Scope, survey_id: int) -> HttpResponse:
    survey = survey_get(scope=scope, survey_id=survey_id)
    try:
        version = services.survey_publish(scope=scope, survey_id=survey.pk)
    except ValidationFailed as exc:
        messages.error(request, _("Not published: %(reason)s") % {"reason": exc.detail})
    except Conflict as exc:
        messages.error(request, exc.errors[0].message if exc.errors else exc.detail)
    else:
        messages.success(
            request,
            _("Version %(number)s is published: new responses answer it.")
            % {"number": version.number},
        )
    return redirect("surveys:builder", survey_id=survey.pk)


@scoped_page
def survey_versions(request: HttpRequest, scope: Scope, survey_id: int) -> HttpResponse:
    survey = survey_get(scope=scope, survey_id=survey_id)
    return render(
        request,
        "surveys/builder/survey_versions.html",
        {"survey": survey, "versions": survey_version_list(scope=scope, survey_id=survey.pk)},
    )


# Questions -------------------------------------------------------------------------------------


def _editing(
    scope: Scope, survey_id: int
) -> tuple[Survey, SurveyVersion | None, list[QuestionSpec]]:
    """The survey, the version the builder edits and its questions; only builders may edit."""
    survey = survey_get(scope=scope, survey_id=survey_id)
    scope.require(CONFIGURE, "edit surveys")
    base = survey_editing_base(scope=scope, survey=survey)
    return survey, base, version_specs(base) if base is not None else []


def _kind_of(request: HttpRequest, default: str) -> str:
    kind = request.POST.get("kind") or request.GET.get("kind") or default
    if kind not in QuestionKind.values:
        raise Http404(_("There is no such kind of question."))
    return kind


def _option_rows(request: HttpRequest, spec: QuestionSpec | None) -> int:
    """How many option rows to show: the question's options and a few empty ones."""
    if request.method == "POST":
        rows = _int_or_none(request.POST.get("option_rows")) or 0
        if "more_options" in request.POST:
            rows += EXTRA_OPTION_ROWS
        return min(max(rows, EXTRA_OPTION_ROWS), MAX_OPTION_ROWS)
    return len(spec.options if spec else ()) + EXTRA_OPTION_ROWS


def _question_page(
    request: HttpRequest, scope: Scope, survey_id: int, key: str | None
) -> HttpResponse:
    survey, base, specs = _editing(scope, survey_id)
    index = len(specs)
    current: QuestionSpec | None = None
    if key is not None:
        index = next((i for i, spec in enumerate(specs) if spec.key == key), -1)
        if index < 0:
            raise NotFound("No such question.")
        current = specs[index]
    kind = _kind_of(request, current.kind if current else "nps")
    initial = question_initial(current) if current else {"page": specs[-1].page if specs else 1}
    form = QuestionForm(
        request.POST or None,
        kind=kind,
        languages=survey.languages,
        default_language=survey.default_language,
        earlier=specs[:index],
        option_rows=_option_rows(request, current),
        initial=initial,
    )
    saving = request.method == "POST" and "more_options" not in request.POST
    if saving and form.is_valid():
        assert form.spec is not None
        try:
            services.survey_question_save(
                scope=scope, survey_id=survey.pk, question=form.spec, replacing=key
            )
        except ValidationFailed as exc:
            form.add_definition_errors(exc, index=index)
        except Conflict as exc:
            add_service_error(form, exc)
        else:
            saved = _("The question “%(key)s” is saved.") % {"key": form.spec.key}
            messages.success(request, saved)
            return redirect(f"{reverse('surveys:builder', args=[survey.pk])}#q-{form.spec.key}")
    elif request.method == "POST" and "more_options" in request.POST:
        form.errors.clear()  # asking for more rows is not a failed save
    return render(
        request,
        "surveys/builder/question_form.html",
        {
            "survey": survey,
            "version": base,
            "form": form,
            "kind": kind,
            "kind_label": KIND_LABELS[kind],
            "kind_choices": kind_choices(),
            "key": key,
            "position": index + 1,
            "allowed_scales": ", ".join(f"{lo}–{hi}" for lo, hi in SCALES.get(kind, ())),
            "languages": language_choices(survey.languages),
        },
    )


@scoped_page
def question_create(request: HttpRequest, scope: Scope, survey_id: int) -> HttpResponse:
    return _question_page(request, scope, survey_id, None)


@scoped_page
def question_edit(request: HttpRequest, scope: Scope, survey_id: int, key: str) -> HttpResponse:
    return _question_page(request, scope, survey_id, key)


@require_POST
@scoped_page
def question_delete(request: HttpRequest, scope: Scope, survey_id: int, key: str) -> HttpResponse:
    survey, _base, _specs = _editing(scope, survey_id)
    try:
        services.survey_question_delete(scope=scope, survey_id=survey.pk, key=key)
    except (ValidationFailed, Conflict) as exc:
        _report_refusal(request, exc)
    else:
        messages.success(request, _("The question “%(key)s” is deleted.") % {"key": key})
    return redirect("surveys:builder", survey_id=survey.pk)


@require_POST
@scoped_page
def question_move(request: HttpRequest, scope: Scope, survey_id: int, key: str) -> HttpResponse:
    survey, _base, _specs = _editing(scope, survey_id)
    direction = request.POST.get("direction", "")
    try:
        services.survey_question_move(
            scope=scope, survey_id=survey.pk, key=key, direction=direction
        )
    except (ValidationFailed, Conflict) as exc:
        _report_refusal(request, exc)
    return redirect(f"{reverse('surveys:builder', args=[survey.pk])}#q-{key}")


def _report_refusal(request: HttpRequest, exc: ValidationFailed | Conflict) -> None:
    """A change the definition's rules refuse: say why, naming the questions involved."""
    details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.detail
    messages.error(request, _("Not changed: %(reason)s") % {"reason": details})


# Open links ------------------------------------------------------------------------------------


@scoped_page
def open_links(request: HttpRequest, scope: Scope, survey_id: int) -> HttpResponse:
    survey = survey_get(scope=scope, survey_id=survey_id)
    form = None
    if scope.can_configure:
        form = OpenLinkForm(
            request.POST or None,
            units=list(unit_list(scope=scope)),
            languages=survey.languages,
        )
    elif request.method == "POST":
        scope.require(CONFIGURE, "create open links")
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            link = services.open_link_create(
                scope=scope,
                survey_id=survey.pk,
                name=data["name"],
                unit_id=data["unit"],
                touchpoint=data["touchpoint"],
                channel=data["channel"],
                language=data["language"],
                max_responses_per_client_per_day=data["max_responses_per_client_per_day"],
            )
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The open link “%(name)s” is created.") % {"name": link})
            return redirect("surveys:open_links", survey_id=survey.pk)
    links = [
        (
            link,
            request.build_absolute_uri(reverse("respond:open", kwargs={"token": link.token})),
        )
        for link in open_link_list(scope=scope, survey_id=survey.pk)
    ]
    return render(
        request,
        "surveys/builder/open_links.html",
        {"survey": survey, "links": links, "form": form},
    )


@require_POST
@scoped_page
def open_link_active(
    request: HttpRequest, scope: Scope, survey_id: int, open_link_id: int
) -> HttpResponse:
    link = open_link_get(scope=scope, survey_id=survey_id, open_link_id=open_link_id)
    active = request.POST.get("active") == "1"
    services.open_link_set_active(scope=scope, open_link_id=link.pk, is_active=active)
    if active:
        messages.success(request, _("The open link “%(name)s” is active again.") % {"name": link})
    else:
        messages.success(
            request,
            _("The open link “%(name)s” is switched off: it takes no new responses.")
            % {"name": link},
        )
    return redirect("surveys:open_links", survey_id=survey_id)


# The look --------------------------------------------------------------------------------------


@scoped_page
def survey_look(request: HttpRequest, scope: Scope) -> HttpResponse:
    look = survey_look_get(scope=scope)
    form = None
    if scope.can_configure:
        form = SurveyLookForm(
            request.POST or None,
            request.FILES or None,
            initial={
                "primary_colour": look.primary_colour,
                "background_colour": look.background_colour,
                "sender_name": look.sender_name,
            },
        )
    elif request.method == "POST":
        scope.require(CONFIGURE, "change the survey look")
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            services.survey_look_set(
                scope=scope,
                logo="" if data["remove_logo"] else data["logo"],
                primary_colour=data["primary_colour"],
                background_colour=data["background_colour"],
                sender_name=data["sender_name"],
            )
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The survey look is saved."))
            return redirect("surveys:look")
    return render(
        request,
        "surveys/builder/survey_look.html",
        {"look": look, "form": form, "version": int(look.updated_at.timestamp()) if look.pk else 0},
    )


@scoped_page
def survey_look_css(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The organisation's colours for the builder's sample card (the CSP forbids inline styles)."""
    look = survey_look_get(scope=scope)
    defaults = SurveyLook()
    # Stored colours were checked when saved; checked again because they land in a stylesheet.
    primary, background = (
        colour if COLOUR_RE.match(colour) else default
        for colour, default in (
            (look.primary_colour, defaults.primary_colour),
            (look.background_colour, defaults.background_colour),
        )
    )
    css = render(
        request,
        "surveys/builder/look.css",
        {"primary": primary, "background": background},
        content_type="text/css; charset=utf-8",
    )
    css["Cache-Control"] = "private, max-age=300"
    return css
