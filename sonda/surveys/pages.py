"""What the survey pages show a respondent: the page's language, its questions as form fields with
their answers and errors in the respondent's words, the organisation's look, and who a client is.

The respondent has no account: an invitation's token (or an open link's) is the only key, so the
reads here go by token instead of by a staff member's Scope.
"""

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf.locale import LANG_INFO
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.models import Organisation
from sonda.core.errors import NotFound, SondaError
from sonda.listening.models import Invitation
from sonda.surveys.definition import (
    CHOICE_SOURCES,
    TEXT_DEFAULT_LENGTH,
    AnswerValue,
    ConditionSpec,
    QuestionSpec,
    is_shown,
)
from sonda.surveys.models import (
    SCALE_KINDS,
    OpenLink,
    Response,
    Survey,
    SurveyLook,
    SurveyVersion,
    VersionStatus,
)
from sonda.surveys.responses import VersionQuestions

COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_RE = re.compile(r"^data:(image/(?:png|jpeg|svg\+xml));base64,([A-Za-z0-9+/=]+)$")
DEFAULT_PRIMARY = "#1d4f91"
DEFAULT_BACKGROUND = "#ffffff"
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


# Finding what a link names -----------------------------------------------------------------------


def invitation_for_page(token: str) -> Invitation | None:
    """The invitation a survey link names, with its survey and response; None when unknown."""
    if not token or len(token) > 64:
        return None
    # Tokens are unique: no ORDER BY to compile or run (every survey page asks this first).
    found = Invitation.objects.select_related(
        "survey", "survey__organisation", "customer", "response", "response__version"
    ).filter(token=token)[:1]
    return next(iter(found), None)


def response_of(invitation: Invitation) -> Response | None:
    try:
        return invitation.response
    except Response.DoesNotExist:
        return None


def open_link_for_page(token: str) -> OpenLink | None:
    """The open link a QR code or receipt names, with its survey; None when unknown."""
    if not token or len(token) > 64:
        return None
    return (
        OpenLink.objects.select_related("survey", "survey__organisation")
        .filter(token=token)
        .first()
    )


def open_link_response(link: OpenLink, response_id: Any) -> Response | None:
    """The partial response this visitor is answering through the link, if any."""
    if not isinstance(response_id, int):
        return None
    return (
        Response.objects.select_related("version")
        .filter(pk=response_id, open_link=link, status="partial")
        .first()
    )


def preview_version(*, scope: Scope, survey_id: int) -> SurveyVersion:
    """The version a preview shows: the draft, else the published one, else the latest."""
    scope.require(CONFIGURE, "preview surveys")
    survey = (
        Survey.objects.select_related("organisation")
        .filter(organisation=scope.organisation, pk=survey_id)
        .first()
    )
    if survey is None:
        raise NotFound("No such survey.")
    version = (
        survey.versions.filter(status=VersionStatus.DRAFT).first()
        or survey.versions.filter(status=VersionStatus.PUBLISHED).first()
        or survey.versions.order_by("-number").first()
    )
    if version is None:
        raise NotFound("The survey has no version.")
    version.survey = survey
    return version


# Language ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageLink:
    code: str
    name: str
    url: str
    current: bool


def page_language(*, requested: str | None, survey: Survey, candidates: Iterable[str]) -> str:
    """The language to show: the one asked for, else the first candidate the survey has."""
    for code in (requested or "", *candidates):
        if code and code in survey.languages:
            return code
    return survey.default_language


def browser_languages(request: HttpRequest) -> list[str]:
    """The languages the browser prefers, best first (for anonymous open-link visitors)."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    return [code.split("-")[0].lower() for code, _q in parse_accept_lang_header(header)]


def language_links(survey: Survey, *, current: str, base_url: str) -> list[LanguageLink]:
    joiner = "&" if "?" in base_url else "?"
    return [
        LanguageLink(
            code=code,
            name=str(LANG_INFO.get(code, {}).get("name_local", code)),
            url=f"{base_url}{joiner}lang={code}",
            current=code == current,
        )
        for code in survey.languages
    ]


# The organisation's look -------------------------------------------------------------------------


@dataclass(frozen=True)
class Look:
    sender: str
    stylesheet_url: str = ""
    logo_url: str = ""


def look_of(organisation: Organisation) -> Look:
    """The sender name and the URLs of the look's stylesheet and logo (without the logo's bytes)."""
    row = (
        SurveyLook.objects.filter(organisation=organisation)
        .annotate(has_logo=ExpressionWrapper(~Q(logo=""), output_field=BooleanField()))
        .values("sender_name", "updated_at", "has_logo")
        .first()
    )
    if row is None:
        return Look(sender=organisation.name)
    # The version in the URL lets browsers keep the files until the look changes.
    version = f"?v={int(row['updated_at'].timestamp())}"
    css = reverse("respond:look_css", kwargs={"organisation_id": organisation.pk})
    logo = reverse("respond:look_logo", kwargs={"organisation_id": organisation.pk})
    return Look(
        sender=row["sender_name"] or organisation.name,
        stylesheet_url=f"{css}{version}",
        logo_url=f"{logo}{version}" if row["has_logo"] else "",
    )


def _text_colour_on(background: str) -> str:
    """Black or white, whichever reads better on the colour (WCAG relative luminance)."""
    channels = [int(background[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#000000" if luminance > 0.179 else "#ffffff"


def look_stylesheet(organisation_id: int) -> str:
    """The look's colours as CSS custom properties (the CSP forbids inline styles)."""
    row = (
        SurveyLook.objects.filter(organisation_id=organisation_id)
        .values_list("primary_colour", "background_colour")
        .first()
    )
    primary, background = row or (DEFAULT_PRIMARY, DEFAULT_BACKGROUND)
    # Stored colours were checked when set; checked again because they land in a stylesheet.
    primary = primary if COLOUR_RE.match(primary) else DEFAULT_PRIMARY
    background = background if COLOUR_RE.match(background) else DEFAULT_BACKGROUND
    return (
        ":root {\n"
        f"  --look-primary: {primary};\n"
        f"  --look-on-primary: {_text_colour_on(primary)};\n"
        f"  --look-background: {background};\n"
        f"  --look-ink: {'#1d2430' if _text_colour_on(background) == '#000000' else '#ffffff'};\n"
        "}\n"
    )


def look_logo(organisation_id: int) -> tuple[str, bytes] | None:
    """The logo's content type and bytes, or None when the organisation has none."""
    logo = (
        SurveyLook.objects.filter(organisation_id=organisation_id)
        .values_list("logo", flat=True)
        .first()
    )
    match = LOGO_RE.match(logo or "")
    if match is None:
        return None
    try:
        return match.group(1), base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return None


# Who a client is (open links) --------------------------------------------------------------------


def client_key(request: HttpRequest) -> str:
    """A salted SHA-256 of the visitor's address and browser: no address is stored."""
    address = request.META.get("REMOTE_ADDR", "")
    agent = request.META.get("HTTP_USER_AGENT", "")[:512]
    return salted_hmac(
        "sonda.surveys.open-link-client", f"{address}\n{agent}", algorithm="sha256"
    ).hexdigest()


def is_form_post(request: HttpRequest) -> bool:
    return request.content_type in FORM_CONTENT_TYPES


# Questions as form fields ------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    input_id: str
    checked: bool
    end_label: str = ""  # the scale end a point stands for, for screen readers


@dataclass(frozen=True)
class FormField:
    key: str
    kind: str
    widget: str  # scale, choice, checkboxes, textarea, number
    label: str
    required: bool
    help: str = ""
    options: tuple[Option, ...] = ()
    low_label: str = ""
    high_label: str = ""
    value: str = ""
    max_length: int | None = None
    error: str = ""
    show_if: str = ""  # the same-page display condition, as JSON for the page's script
    condition_note: str = ""
    missing_translation: bool = False

    @property
    def input_id(self) -> str:
        return f"q-{self.key}"

    @property
    def error_id(self) -> str:
        return f"q-{self.key}-error"

    @property
    def help_id(self) -> str:
        return f"q-{self.key}-help"

    @property
    def note_id(self) -> str:
        return f"q-{self.key}-note"

    @property
    def low_point(self) -> str:
        return self.options[0].label if self.options else ""

    @property
    def high_point(self) -> str:
        return self.options[-1].label if self.options else ""

    @property
    def target(self) -> str:
        """Where the error summary's link puts the focus: the first control of the question."""
        return self.options[0].input_id if self.options else self.input_id

    @property
    def described_by(self) -> str:
        ids = [
            (self.error, self.error_id),
            (self.condition_note, self.note_id),
            (self.help, self.help_id),
        ]
        return " ".join(id_ for present, id_ in ids if present)


@dataclass(frozen=True)
class PageError:
    target: str
    message: str


@dataclass(frozen=True)
class SurveyPage:
    number: int
    count: int
    fields: list[FormField]
    errors: list[PageError] = field(default_factory=list)

    @property
    def is_last(self) -> bool:
        return self.number >= self.count

    @property
    def has_conditions(self) -> bool:
        return any(f.show_if for f in self.fields)


def _text(texts: Mapping[str, str], language: str, fallback: str) -> tuple[str, bool]:
    """The text in the language, else in the fallback language marked as missing."""
    text = (texts or {}).get(language, "").strip()
    if text:
        return text, False
    return (texts or {}).get(fallback, "") or next(iter((texts or {}).values()), ""), True


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _default_ends(kind: str) -> tuple[str, str]:
    if kind == "nps":
        return _("Not at all likely"), _("Extremely likely")
    if kind == "csat":
        return _("Very dissatisfied"), _("Very satisfied")
    if kind == "ces":
        return _("Very difficult"), _("Very easy")
    return _("Very poor"), _("Excellent")


def values_from_answers(
    answers: Mapping[str, Sequence[AnswerValue]], questions: VersionQuestions
) -> dict[str, list[str]]:
    """Stored answers as the values a form shows (to pre-fill a resumed page)."""
    kinds = {spec.key: spec.kind for spec in questions.specs}
    out: dict[str, list[str]] = {}
    for key, values in answers.items():
        for value in values:
            if value.choice:
                shown = value.choice
            elif value.number is not None and kinds.get(key) == "yes_no":
                # Stored as 1 and 0; the form's radio buttons say yes and no.
                shown = "yes" if value.number else "no"
            elif value.number is not None:
                shown = _number(value.number)
            else:
                shown = value.text
            out.setdefault(key, []).append(shown)
    return out


def posted_values(post: QueryDict, specs: Iterable[QuestionSpec]) -> dict[str, list[str]]:
    return {spec.key: post.getlist(spec.key) for spec in specs if spec.key in post}


def raw_answers(values: Mapping[str, list[str]], specs: Iterable[QuestionSpec]) -> dict[str, Any]:
    """Form values as the answering services read them: a list for many options, else one."""
    raw: dict[str, Any] = {}
    for spec in specs:
        given = values.get(spec.key, [])
        if spec.kind == "multi_choice" or len(given) > 1:
            raw[spec.key] = list(given)
        else:
            raw[spec.key] = given[0] if given else None
    return raw


def condition_note(
    condition: ConditionSpec, source: QuestionSpec, *, language: str, fallback: str
) -> str:
    """When to answer a question that depends on an answer above it, in the respondent's words."""
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    if source.kind in CHOICE_SOURCES:
        labels = {o.code: _text(o.labels, language, fallback)[0] for o in source.options}
        chosen = ", ".join(f"“{labels.get(v, v)}”" for v in values)
        if condition.op in {"eq", "in"}:
            return _("Answer this if you chose %(options)s above.") % {"options": chosen}
        return _("Answer this unless you chose %(options)s above.") % {"options": chosen}
    if source.kind == "yes_no":
        words = ", ".join(f"“{_('Yes') if v == 1 else _('No')}”" for v in values)
        if condition.op in {"eq", "in"}:
            return _("Answer this if you answered %(answer)s above.") % {"answer": words}
        return _("Answer this unless you answered %(answer)s above.") % {"answer": words}
    value = ", ".join(_number(v) for v in values)
    notes = {
        "lte": _("Answer this if you chose %(value)s or less above."),
        "lt": _("Answer this if you chose less than %(value)s above."),
        "gte": _("Answer this if you chose %(value)s or more above."),
        "gt": _("Answer this if you chose more than %(value)s above."),
        "eq": _("Answer this if you chose %(value)s above."),
        "in": _("Answer this if you chose %(value)s above."),
        "ne": _("Answer this unless you chose %(value)s above."),
        "not_in": _("Answer this unless you chose %(value)s above."),
    }
    return notes[condition.op] % {"value": value}


def _options(
    spec: QuestionSpec, values: Sequence[str], language: str, fallback: str
) -> list[Option]:
    chosen = set(values)
    if spec.kind in SCALE_KINDS:
        low, high = spec.scale() or (0, 10)
        low_label, high_label = _scale_ends(spec, language, fallback)
        return [
            Option(
                value=str(point),
                label=str(point),
                input_id=f"q-{spec.key}-{point}",
                checked=str(point) in chosen,
                end_label=low_label if point == low else high_label if point == high else "",
            )
            for point in range(low, high + 1)
        ]
    if spec.kind == "yes_no":
        return [
            Option(value=code, label=label, input_id=f"q-{spec.key}-{code}", checked=code in chosen)
            for code, label in (("yes", _("Yes")), ("no", _("No")))
        ]
    return [
        Option(
            value=o.code,
            label=_text(o.labels, language, fallback)[0],
            input_id=f"q-{spec.key}-{o.code}",
            checked=o.code in chosen,
        )
        for o in spec.options
    ]


def _scale_ends(spec: QuestionSpec, language: str, fallback: str) -> tuple[str, str]:
    low, high = _default_ends(spec.kind)
    labels = spec.scale_labels or {}
    if labels.get("min"):
        low = _text(labels["min"], language, fallback)[0] or low
    if labels.get("max"):
        high = _text(labels["max"], language, fallback)[0] or high
    return low, high


def form_field(
    spec: QuestionSpec,
    *,
    language: str,
    fallback: str,
    values: Sequence[str],
    error: str = "",
    show_if: str = "",
    note: str = "",
) -> FormField:
    label, missing = _text(spec.text, language, fallback)
    help_text = _text(spec.help_text, language, fallback)[0] if spec.help_text else ""
    common: dict[str, Any] = {
        "key": spec.key,
        "kind": spec.kind,
        "label": label,
        "required": spec.required,
        "help": help_text,
        "error": error,
        "show_if": show_if,
        "condition_note": note,
        "missing_translation": missing,
    }
    if spec.kind == "text":
        return FormField(
            widget="textarea",
            value=values[0] if values else "",
            max_length=spec.max_length or TEXT_DEFAULT_LENGTH,
            **common,
        )
    if spec.kind == "number":
        return FormField(widget="number", value=values[0] if values else "", **common)
    options = tuple(_options(spec, values, language, fallback))
    if spec.kind in SCALE_KINDS:
        low_label, high_label = _scale_ends(spec, language, fallback)
        return FormField(
            widget="scale", options=options, low_label=low_label, high_label=high_label, **common
        )
    widget = "checkboxes" if spec.kind == "multi_choice" else "choice"
    return FormField(widget=widget, options=options, **common)


def survey_page(
    questions: VersionQuestions,
    *,
    page: int,
    language: str,
    fallback: str,
    values: Mapping[str, Sequence[str]],
    earlier: Mapping[str, Sequence[AnswerValue]] | None,
    errors: Mapping[str, str] | None = None,
    general_errors: Sequence[str] = (),
) -> SurveyPage:
    """One page of questions as form fields.

    A question whose condition depends on an earlier page is asked only when `earlier` meets it
    (`earlier` None: unknown, as in a preview opened at a later page — then it is shown with a
    note). A question whose condition depends on an answer on the same page is always rendered,
    with a note for browsers without JavaScript; the page's script hides it until it applies, and
    the server ignores an answer the condition hides.
    """
    errors = errors or {}
    by_key = {spec.key: spec for spec in questions.specs}
    fields: list[FormField] = []
    for spec in questions.on_page(page):
        show_if = note = ""
        condition = spec.condition
        source = by_key.get(condition.question) if condition else None
        if condition is not None and source is not None:
            if source.page < page and earlier is not None:
                if not is_shown(spec, earlier):
                    continue
            else:
                note = condition_note(condition, source, language=language, fallback=fallback)
                if source.page == page:
                    show_if = json.dumps({**condition.as_json(), "kind": source.kind})
        fields.append(
            form_field(
                spec,
                language=language,
                fallback=fallback,
                values=values.get(spec.key, []),
                error=errors.get(spec.key, ""),
                show_if=show_if,
                note=note,
            )
        )
    summary = [PageError(target="survey-form", message=m) for m in general_errors]
    summary += [PageError(target=f.target, message=f.error) for f in fields if f.error]
    return SurveyPage(number=page, count=len(questions.pages), fields=fields, errors=summary)


# Errors in the respondent's words ----------------------------------------------------------------


def respondent_errors(
    error: SondaError, questions: VersionQuestions, values: Mapping[str, Sequence[str]]
) -> tuple[dict[str, str], list[str]]:
    """A service's errors as messages a respondent understands: (by question key, general)."""
    by_key = {spec.key: spec for spec in questions.specs}
    messages: dict[str, str] = {}
    general: list[str] = []
    for failure in error.errors:
        spec = by_key.get(failure.field)
        if spec is None:
            general.append(_("This page could not be saved. Please try again."))
            continue
        if failure.message.startswith("is required"):
            messages[spec.key] = _("Please answer this question.")
        else:
            messages[spec.key] = _invalid_answer(spec, values.get(spec.key, []))
    if not error.errors:
        general.append(_("This page could not be saved. Please try again."))
    return messages, list(dict.fromkeys(general))


def _invalid_answer(spec: QuestionSpec, given: Sequence[str]) -> str:
    if spec.kind in SCALE_KINDS:
        low, high = spec.scale() or (0, 10)
        return _("Choose a number from %(low)s to %(high)s.") % {"low": low, "high": high}
    if spec.kind == "number":
        if spec.scale_min is not None and spec.scale_max is not None:
            return _("Enter a number from %(low)s to %(high)s.") % {
                "low": spec.scale_min,
                "high": spec.scale_max,
            }
        if spec.scale_min is not None:
            return _("Enter a number of at least %(low)s.") % {"low": spec.scale_min}
        if spec.scale_max is not None:
            return _("Enter a number of at most %(high)s.") % {"high": spec.scale_max}
        return _("Enter a number, for example 12 or 3.5.")
    if spec.kind == "yes_no":
        return _("Choose yes or no.")
    if spec.kind == "text":
        limit = spec.max_length or TEXT_DEFAULT_LENGTH
        length = len(given[0].strip()) if given else 0
        if length > limit:
            return _("Please shorten your answer to %(limit)s characters (it has %(length)s).") % {
                "limit": limit,
                "length": length,
            }
        return _("Your answer contains a character that cannot be saved.")
    if spec.kind == "single_choice":
        return _("Choose one of the options.")
    return _("Choose among the options shown.")


def first_page_of(keys: Iterable[str], questions: VersionQuestions) -> int | None:
    pages = [spec.page for spec in questions.specs if spec.key in set(keys)]
    return min(pages) if pages else None


def parse_page_number(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 3:
        return None
    return int(value)


def json_of(values: Mapping[str, Sequence[str]]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


def preview_earlier(value: str | None) -> dict[str, list[str]]:
    """The answers a preview carried over from its earlier pages (a hidden field)."""
    try:
        data = json.loads(value or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(key): [str(v) for v in given]
        for key, given in data.items()
        if isinstance(given, list) and all(isinstance(v, str) for v in given)
    }
