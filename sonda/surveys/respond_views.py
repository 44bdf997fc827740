"""The pages customers answer: invitation links, open links, thank-you pages, and the preview.

A respondent has no account and maybe no cookie yet: the link's token is the key. Every page works
without JavaScript; answers are saved page by page, so a survey left half-way resumes from the
same link. Each page speaks the survey's language chosen for the respondent.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods

from sonda.accounts.access import Scope
from sonda.core.errors import Conflict, ValidationFailed
from sonda.listening.models import Invitation, InvitationStatus
from sonda.listening.selectors import invitation_is_expired
from sonda.listening.services import invitation_mark
from sonda.surveys import pages
from sonda.surveys.definition import AnswerValue, parse_answer
from sonda.surveys.models import OpenLink, Response, ResponseStatus, Survey
from sonda.surveys.responses import (
    ResponseContext,
    TooManyResponses,
    VersionQuestions,
    frozen_version_questions,
    open_link_response_start,
    open_link_responses_today,
    page_answers_check,
    published_version,
    response_finish,
    response_language_set,
    response_save_page,
    response_start,
    stored_answers,
    version_questions,
)
from sonda.web.pages import scoped_page

SURVEY_TEMPLATE = "surveys/respond/survey.html"
MESSAGE_TEMPLATE = "surveys/respond/message.html"
THANKS_TEMPLATE = "surveys/respond/thanks.html"
NOT_YET_OPENED = frozenset(
    {InvitationStatus.CREATED, InvitationStatus.SENT, InvitationStatus.DELIVERED}
)
NOT_YET_STARTED = NOT_YET_OPENED | {InvitationStatus.OPENED}


def _see_other(url: str) -> HttpResponseRedirect:
    """After a POST the browser fetches the next page with GET: reloading re-posts nothing."""
    redirect = HttpResponseRedirect(url)
    redirect.status_code = 303
    return redirect


@dataclass
class Visit:
    """One request to a survey page: the survey, the language chosen and where the page lives."""

    request: HttpRequest
    survey: Survey
    language: str
    url: str  # the page's own address, without a query

    @cached_property
    def look(self) -> pages.Look:
        return pages.look_of(self.survey.organisation)

    @property
    def page_url(self) -> str:
        return f"{self.url}?lang={self.language}"

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "page_language": self.language,
            "look": self.look,
            "languages": pages.language_links(self.survey, current=self.language, base_url=self.url)
            if len(self.survey.languages) > 1
            else [],
            **extra,
        }

    def render(self, template: str, *, status: int = 200, **extra: Any) -> HttpResponse:
        response = render(self.request, template, self.context(**extra), status=status)
        response["Content-Language"] = self.language
        return response

    def message(self, heading: str, text: str, *, status: int) -> HttpResponse:
        return self.render(MESSAGE_TEMPLATE, status=status, heading=heading, text=text)

    def already_answered(self) -> HttpResponse:
        return self.message(
            _("You have already answered this survey"),
            _("Your answers were received. Thank you for your time!"),
            status=200 if self.request.method == "GET" else 409,
        )

    def expired(self) -> HttpResponse:
        return self.message(
            _("This link has expired"),
            _("The time to answer this survey is over. Thank you for wanting to tell us!"),
            status=410,
        )

    def closed(self) -> HttpResponse:
        return self.message(
            _("This survey is closed"),
            _("It no longer takes answers. Thank you for wanting to tell us!"),
            status=410,
        )

    def unreadable(self) -> HttpResponse:
        return self.message(
            _("Your answers could not be read"),
            _("Answers are sent from the survey's own form. Please open the link and try again."),
            status=415,
        )

    def show_page(
        self,
        questions: VersionQuestions,
        *,
        page: int,
        values: dict[str, list[str]],
        earlier: dict[str, list[AnswerValue]] | None,
        back_url: str = "",
        errors: dict[str, str] | None = None,
        general_errors: Sequence[str] = (),
        status: int = 200,
        **extra: Any,
    ) -> HttpResponse:
        survey_page = pages.survey_page(
            questions,
            page=page,
            language=self.language,
            fallback=self.survey.default_language,
            values=values,
            earlier=earlier,
            errors=errors,
            general_errors=general_errors,
        )
        return self.render(
            SURVEY_TEMPLATE,
            status=status,
            page=survey_page,
            action=self.page_url,
            back_url=back_url,
            **extra,
        )


def not_found(request: HttpRequest) -> HttpResponse:
    """An unknown or mistyped link: a page in the browser's language, never a stack trace."""
    return render(
        request,
        MESSAGE_TEMPLATE,
        {
            "page_language": translation.get_language(),
            "look": None,
            "languages": [],
            "heading": _("This link does not work"),
            "text": _(
                "Please check that the whole link was copied, or open it again from the "
                "message you received."
            ),
        },
        status=404,
    )


# Answering, shared by invitations and open links -------------------------------------------------


def _resume(visit: Visit, response: Response, *, fresh: bool = False) -> HttpResponse:
    """The response's current page (or an earlier one it asks for), answers filled in."""
    questions = frozen_version_questions(response.version)
    asked = pages.parse_page_number(visit.request.GET.get("page"))
    current = response.current_page if response.current_page in questions.pages else 1
    page = asked if asked in questions.pages and asked is not None and asked < current else current
    known = {} if fresh else stored_answers(response)
    earlier_keys = {spec.key for spec in questions.specs if spec.page < page}
    previous = [p for p in questions.pages if p < page]
    return visit.show_page(
        questions,
        page=page,
        values=pages.values_from_answers(known, questions),
        earlier={k: v for k, v in known.items() if k in earlier_keys},
        back_url=f"{visit.page_url}&page={previous[-1]}" if previous else "",
    )


def _answer(
    visit: Visit,
    response: Response,
    *,
    on_saved: Callable[[], None],
    on_finished: Callable[[Response], HttpResponse],
) -> HttpResponse:
    """Save the posted page (or finish on the last page); errors are shown and nothing is saved."""
    request = visit.request
    questions = frozen_version_questions(response.version)
    page = pages.parse_page_number(request.POST.get("page"))
    if page is None or page not in questions.pages:
        return _see_other(visit.page_url)
    if response.language != visit.language:
        response_language_set(response_id=response.pk, language=visit.language)
    specs = questions.on_page(page)
    values = pages.posted_values(request.POST, specs)
    raw = pages.raw_answers(values, specs)
    try:
        if page == questions.pages[-1]:
            return on_finished(response_finish(response_id=response.pk, page=page, raw=raw))
        response_save_page(response_id=response.pk, page=page, raw=raw)
    except Conflict:
        return visit.already_answered()
    except ValidationFailed as error:
        messages, general = pages.respondent_errors(error, questions, values)
        known = stored_answers(response)
        if messages and not {spec.key for spec in specs} & set(messages):
            # This page was kept, but a required answer on an earlier page is missing: go there.
            page = pages.first_page_of(messages, questions) or page
            values = pages.values_from_answers(known, questions)
        earlier_keys = {spec.key for spec in questions.specs if spec.page < page}
        previous = [p for p in questions.pages if p < page]
        return visit.show_page(
            questions,
            page=page,
            values=values,
            earlier={k: v for k, v in known.items() if k in earlier_keys},
            back_url=f"{visit.page_url}&page={previous[-1]}" if previous else "",
            errors=messages,
            general_errors=general,
            status=422,
        )
    on_saved()
    return _see_other(visit.page_url)


# Invitations -------------------------------------------------------------------------------------


def _invitation_context(invitation: Invitation, language: str) -> ResponseContext:
    return ResponseContext(
        language=language,
        customer_id=invitation.customer_id,
        unit_id=invitation.unit_id,
        employee_id=invitation.employee_id,
        touchpoint=invitation.touchpoint,
        channel=invitation.channel,
        journey=invitation.journey,
        stage=invitation.stage,
    )


def _invitation_language(request: HttpRequest, invitation: Invitation) -> str:
    response = pages.response_of(invitation)
    return pages.page_language(
        requested=request.GET.get("lang"),
        survey=invitation.survey,
        candidates=(
            response.language if response is not None else "",
            invitation.language,
            invitation.customer.preferred_language if invitation.customer is not None else "",
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    invitation = pages.invitation_for_page(token)
    if invitation is None:
        return not_found(request)
    language = _invitation_language(request, invitation)
    with translation.override(language):
        visit = Visit(
            request=request,
            survey=invitation.survey,
            language=language,
            url=reverse("respond:survey", kwargs={"token": token}),
        )
        return _invitation_page(visit, invitation)


def _invitation_page(visit: Visit, invitation: Invitation) -> HttpResponse:
    request = visit.request
    response = pages.response_of(invitation)
    if invitation.status == InvitationStatus.COMPLETED or (
        response is not None and response.status == ResponseStatus.COMPLETE
    ):
        return visit.already_answered()
    if invitation.status == InvitationStatus.EXPIRED or invitation_is_expired(invitation):
        return visit.expired()
    if visit.survey.is_archived:
        return visit.closed()
    if request.method == "POST" and not pages.is_form_post(request):
        return visit.unreadable()
    fresh = response is None
    if response is None:
        try:
            response = response_start(
                survey=visit.survey,
                context=_invitation_context(invitation, visit.language),
                invitation_id=invitation.pk,
            )
        except Conflict:
            return visit.closed()
    if request.method == "GET":
        if invitation.status in NOT_YET_OPENED:
            invitation_mark(invitation_id=invitation.pk, status=InvitationStatus.OPENED)
        return _resume(visit, response, fresh=fresh)

    def started() -> None:
        if invitation.status in NOT_YET_STARTED:
            invitation_mark(invitation_id=invitation.pk, status=InvitationStatus.STARTED)

    def finished(_stored: Response) -> HttpResponse:
        thanks_url = reverse("respond:thanks", kwargs={"token": invitation.token})
        return _see_other(f"{thanks_url}?lang={visit.language}")

    return _answer(visit, response, on_saved=started, on_finished=finished)


@never_cache
@require_GET
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    invitation = pages.invitation_for_page(token)
    if invitation is None:
        return not_found(request)
    language = _invitation_language(request, invitation)
    response = pages.response_of(invitation)
    survey_url = reverse("respond:survey", kwargs={"token": token})
    if response is None or response.status != ResponseStatus.COMPLETE:
        return _see_other(f"{survey_url}?lang={language}")
    with translation.override(language):
        visit = Visit(
            request=request,
            survey=invitation.survey,
            language=language,
            url=reverse("respond:thanks", kwargs={"token": token}),
        )
        return visit.render(THANKS_TEMPLATE)


# Open links --------------------------------------------------------------------------------------


def _open_link_session_key(link_id: int) -> str:
    return f"sonda_open_link_{link_id}"


@never_cache
@require_http_methods(["GET", "POST"])
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    link = pages.open_link_for_page(token)
    if link is None:
        return not_found(request)
    session_key = _open_link_session_key(link.pk)
    response = pages.open_link_response(link, request.session.get(session_key))
    language = pages.page_language(
        requested=request.GET.get("lang"),
        survey=link.survey,
        candidates=(
            response.language if response is not None else "",
            link.language,
            *pages.browser_languages(request),
        ),
    )
    with translation.override(language):
        visit = Visit(
            request=request,
            survey=link.survey,
            language=language,
            url=reverse("respond:open", kwargs={"token": token}),
        )
        if not link.is_active or link.survey.is_archived:
            return visit.message(
                _("This survey link is no longer active"),
                _("Thank you for wanting to tell us! It no longer takes answers."),
                status=410,
            )
        if request.method == "POST" and not pages.is_form_post(request):
            return visit.unreadable()
        key = pages.client_key(request)
        if response is None and request.method == "GET":
            return _open_link_first_page(visit, link, key)
        if response is None:
            try:
                response = open_link_response_start(link=link, client_key=key, language=language)
            except TooManyResponses:
                return _too_many(visit)
            except Conflict:
                return visit.closed()
            request.session[session_key] = response.pk
        if request.method == "GET":
            return _resume(visit, response)

        def finished(_stored: Response) -> HttpResponse:
            # The next visitor of a kiosk starts afresh.
            request.session.pop(session_key, None)
            thanks_url = reverse("respond:open_thanks", kwargs={"token": token})
            return _see_other(f"{thanks_url}?lang={language}")

        return _answer(visit, response, on_saved=lambda: None, on_finished=finished)


def _too_many(visit: Visit) -> HttpResponse:
    return visit.message(
        _("Thank you, that is enough for today"),
        _(
            "This survey has been answered from this device as often as it may be today. "
            "Please come back tomorrow."
        ),
        status=429,
    )


def _open_link_first_page(visit: Visit, link: OpenLink, key: str) -> HttpResponse:
    """The first page, before anything is stored: the response starts with the first answers."""
    if (
        open_link_responses_today(link=link, client_key=key, now=timezone.now())
        >= link.max_responses_per_client_per_day
    ):
        return _too_many(visit)
    try:
        version = published_version(visit.survey)
    except Conflict:
        return visit.closed()
    questions = frozen_version_questions(version)
    return visit.show_page(questions, page=questions.pages[0], values={}, earlier={})


@never_cache
@require_GET
def open_thanks(request: HttpRequest, token: str) -> HttpResponse:
    link = pages.open_link_for_page(token)
    if link is None:
        return not_found(request)
    language = pages.page_language(
        requested=request.GET.get("lang"),
        survey=link.survey,
        candidates=(link.language, *pages.browser_languages(request)),
    )
    with translation.override(language):
        visit = Visit(
            request=request,
            survey=link.survey,
            language=language,
            url=reverse("respond:open_thanks", kwargs={"token": token}),
        )
        return visit.render(THANKS_TEMPLATE)


# The preview -------------------------------------------------------------------------------------


def _carried_answers(
    questions: VersionQuestions, values: dict[str, list[str]], *, before: int
) -> dict[str, list[AnswerValue]]:
    """The answers a preview carried from its earlier pages, as display logic reads them."""
    specs = [spec for spec in questions.specs if spec.page < before]
    raw = pages.raw_answers(values, specs)
    out: dict[str, list[AnswerValue]] = {}
    for spec in specs:
        try:
            parsed = parse_answer(spec, raw.get(spec.key))
        except ValidationFailed:
            continue
        if parsed:
            out[spec.key] = parsed
    return out


@never_cache
@require_http_methods(["GET", "POST"])
@scoped_page
def preview(request: HttpRequest, scope: Scope, survey_id: int) -> HttpResponse:
    version = pages.preview_version(scope=scope, survey_id=survey_id)
    survey = version.survey
    questions = version_questions(version)
    if not questions.pages:
        raise Http404(_("The survey has no questions yet."))
    language = pages.page_language(requested=request.GET.get("lang"), survey=survey, candidates=())
    # The banner speaks to the analyst, in their own language; the page in the survey's.
    banner = {
        "text": _("Preview — nothing is saved."),
        "version": _("Version %(number)s (%(status)s)")
        % {"number": version.number, "status": version.get_status_display()},
        "missing": _("missing translation"),
    }
    with translation.override(language):
        visit = Visit(
            request=request,
            survey=survey,
            language=language,
            url=reverse("respond:preview", kwargs={"survey_id": survey.pk}),
        )
        if request.method == "POST":
            if not pages.is_form_post(request):
                return visit.unreadable()
            return _preview_answer(visit, questions, banner)
        asked = pages.parse_page_number(request.GET.get("page"))
        page = asked if asked in questions.pages and asked is not None else questions.pages[0]
        return visit.show_page(
            questions,
            page=page,
            values={},
            earlier={} if page == questions.pages[0] else None,
            back_url=_preview_back(visit, questions, page),
            preview=banner,
            carried="{}",
        )


def _preview_back(visit: Visit, questions: VersionQuestions, page: int) -> str:
    previous = [p for p in questions.pages if p < page]
    return f"{visit.page_url}&page={previous[-1]}" if previous else ""


def _preview_answer(
    visit: Visit, questions: VersionQuestions, banner: dict[str, str]
) -> HttpResponse:
    """Check a previewed page as the survey would, then show the next page; nothing is stored."""
    post = visit.request.POST
    page = pages.parse_page_number(post.get("page"))
    if page is None or page not in questions.pages:
        page = questions.pages[0]
    carried = pages.preview_earlier(post.get("carried"))
    earlier = _carried_answers(questions, carried, before=page)
    specs = questions.on_page(page)
    values = pages.posted_values(post, specs)
    try:
        parsed = page_answers_check(
            questions=questions, page=page, raw=pages.raw_answers(values, specs), earlier=earlier
        )
    except ValidationFailed as error:
        messages, general = pages.respondent_errors(error, questions, values)
        return visit.show_page(
            questions,
            page=page,
            values=values,
            earlier=earlier,
            back_url=_preview_back(visit, questions, page),
            errors=messages,
            general_errors=general,
            status=422,
            preview=banner,
            carried=pages.json_of(carried),
        )
    for key, given in parsed.items():
        if given:
            carried[key] = values.get(key, [])
        else:
            carried.pop(key, None)
    later = [p for p in questions.pages if p > page]
    if not later:
        return visit.render(
            THANKS_TEMPLATE,
            preview=banner,
            preview_done=True,
            restart_url=visit.page_url,
        )
    return visit.show_page(
        questions,
        page=later[0],
        values={},
        earlier=_carried_answers(questions, carried, before=later[0]),
        back_url=_preview_back(visit, questions, later[0]),
        preview=banner,
        carried=pages.json_of(carried),
    )


# The organisation's look -------------------------------------------------------------------------


@require_GET
@cache_control(public=True, max_age=86400)
def look_css(request: HttpRequest, organisation_id: int) -> HttpResponse:
    return HttpResponse(
        pages.look_stylesheet(organisation_id), content_type="text/css; charset=utf-8"
    )


@require_GET
@cache_control(public=True, max_age=86400)
def look_logo(request: HttpRequest, organisation_id: int) -> HttpResponse:
    logo = pages.look_logo(organisation_id)
    if logo is None:
        raise Http404("No logo.")
    content_type, data = logo
    response = HttpResponse(data, content_type=content_type)
    # An SVG opened on its own must not run scripts in the site's origin.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
