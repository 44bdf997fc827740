"""Forms of the survey builder: programs, surveys, one question at a time, open links, the look.

A question form has the fields of its kind only, and one text field per survey language. It turns
what was typed into a QuestionSpec; the definition's rules are applied by the service that saves
the whole draft, and its errors come back next to the fields they name.
"""

import base64
import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _

from sonda.core.errors import SondaError
from sonda.org.models import Unit
from sonda.surveys.definition import (
    CHOICE_SOURCES,
    SCALES,
    SURVEY_LANGUAGES,
    TEXT_DEFAULT_LENGTH,
    TEXT_MAX_LENGTH,
    ConditionSpec,
    OptionSpec,
    QuestionSpec,
)
from sonda.surveys.models import ProgramKind, QuestionKind

LOGO_MAX_BYTES = 200 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
SVG_RE = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg[\s>]", re.S)
EXTRA_OPTION_ROWS = 3
MAX_OPTION_ROWS = 60

CONDITION_OP_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "lt": gettext_lazy("is below"),
    "lte": gettext_lazy("is at most"),
    "gt": gettext_lazy("is above"),
    "gte": gettext_lazy("is at least"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
}
CONDITION_OP_SYMBOLS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "in": "∈",
    "not_in": "∉",
}


def language_name(code: str) -> str:
    """A language's name in the reader's language ("Romanian", "rumuński")."""
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


def language_choices(codes: Sequence[str] = SURVEY_LANGUAGES) -> list[tuple[str, str]]:
    return [(code, f"{language_name(code)} ({code})") for code in codes]


def _set_choices(form: forms.BaseForm, name: str, choices: Sequence[tuple[Any, str]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = list(choices)


# Programs --------------------------------------------------------------------------------------


class ProgramForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=ProgramKind.choices,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Relationship: the customer base is asked now and then how it feels about you (and "
            "about competitors). Transactional: customers are asked right after an interaction, "
            "which locates causes."
        ),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"), max_length=4000, required=False, widget=forms.Textarea
    )
    promoter_min = forms.IntegerField(
        label=gettext_lazy("Promoters from"),
        min_value=1,
        max_value=10,
        initial=9,
        help_text=gettext_lazy(
            "Customers who answer this score or higher (up to 10) are promoters: loyal "
            "enthusiasts who recommend you."
        ),
    )
    detractor_max = forms.IntegerField(
        label=gettext_lazy("Detractors up to"),
        min_value=0,
        max_value=9,
        initial=6,
        help_text=gettext_lazy(
            "Customers who answer from 0 up to this score are detractors: unhappy customers who "
            "may leave and speak against you. The scores in between are passives. NPS is the "
            "share of promoters minus the share of detractors."
        ),
    )
    minimum_base = forms.IntegerField(
        label=gettext_lazy("Minimum base"),
        min_value=1,
        max_value=100_000,
        initial=30,
        help_text=gettext_lazy(
            "With fewer answers than this, a figure is shown as “too few answers” instead of a "
            "number."
        ),
    )
    owner = forms.TypedChoiceField(
        label=gettext_lazy("Owner"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: Any, owners: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "owner", [("", "—"), *owners])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        promoters, detractors = data.get("promoter_min"), data.get("detractor_max")
        if promoters is not None and detractors is not None and detractors >= promoters:
            self.add_error(
                "detractor_max", _("Detractors must end below the score where promoters begin.")
            )
        return data


# Surveys ---------------------------------------------------------------------------------------


class SurveyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    languages = forms.MultipleChoiceField(
        label=gettext_lazy("Languages"),
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Every question needs its text in each of these languages before the survey can be "
            "published."
        ),
    )
    default_language = forms.ChoiceField(
        label=gettext_lazy("Default language"),
        help_text=gettext_lazy("Shown when the respondent's language is not known."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "languages", language_choices())
        _set_choices(self, "default_language", language_choices())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        languages, default = data.get("languages"), data.get("default_language")
        if languages and default and default not in languages:
            self.add_error(
                "default_language", _("The default language must be one of the languages above.")
            )
        return data


class SurveyCreateForm(SurveyForm):
    program = forms.TypedChoiceField(label=gettext_lazy("Program"), coerce=int)

    field_order = ["program", "name", "languages", "default_language"]

    def __init__(self, *args: Any, programs: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(self, "program", programs)


class SurveySettingsForm(SurveyForm):
    is_archived = forms.BooleanField(
        label=gettext_lazy("Archived"),
        required=False,
        help_text=gettext_lazy("An archived survey stays readable but is no longer listed first."),
    )


# Questions -------------------------------------------------------------------------------------


def _text_widget() -> forms.Textarea:
    return forms.Textarea(attrs={"rows": 2})


class QuestionForm(forms.Form):
    """One question of one kind, with texts in the survey's languages.

    `earlier` are the questions before this one: a display condition may only look back.
    """

    key = forms.CharField(
        label=gettext_lazy("Key"),
        max_length=40,
        help_text=gettext_lazy(
            "A short name such as ltr or reasons: lower-case letters, digits and _. Keep it "
            "between versions so that results can be compared over time."
        ),
    )
    page = forms.IntegerField(
        label=gettext_lazy("Page"),
        min_value=1,
        max_value=50,
        initial=1,
        help_text=gettext_lazy("Respondents answer page by page; pages run 1, 2, 3…"),
    )
    required = forms.BooleanField(label=gettext_lazy("An answer is required"), required=False)

    def __init__(
        self,
        *args: Any,
        kind: str,
        languages: Sequence[str],
        default_language: str,
        earlier: Sequence[QuestionSpec],
        option_rows: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.languages = list(languages)
        self.earlier = {spec.key: spec for spec in earlier}
        self.option_rows = max(0, min(option_rows, MAX_OPTION_ROWS))
        self.spec: QuestionSpec | None = None
        self.text_fields: list[str] = []
        self.help_fields: list[str] = []
        self.scale_label_fields: list[tuple[str, str]] = []
        for language in self.languages:
            self.fields[f"text_{language}"] = forms.CharField(
                label=_("Question (%(language)s)") % {"language": language_name(language)},
                max_length=1000,
                required=language == default_language,
                widget=_text_widget(),
            )
            self.text_fields.append(f"text_{language}")
        for language in self.languages:
            self.fields[f"help_{language}"] = forms.CharField(
                label=_("Help text (%(language)s)") % {"language": language_name(language)},
                max_length=1000,
                required=False,
            )
            self.help_fields.append(f"help_{language}")
        if kind in SCALES:
            scales = SCALES[kind]
            if len(scales) > 1:
                self.fields["scale"] = forms.ChoiceField(
                    label=_("Scale"),
                    choices=[(f"{low}-{high}", f"{low}–{high}") for low, high in scales],
                    initial=f"{scales[0][0]}-{scales[0][1]}",
                )
            for end, end_label in (("min", _("lowest")), ("max", _("highest"))):
                for language in self.languages:
                    self.fields[f"{end}_label_{language}"] = forms.CharField(
                        label=_("Label of the %(end)s score (%(language)s)")
                        % {"end": end_label, "language": language_name(language)},
                        max_length=100,
                        required=False,
                    )
                    self.scale_label_fields.append((end, f"{end}_label_{language}"))
        if kind == "nps":
            self.fields["competitor"] = forms.CharField(
                label=_("About a competitor"),
                max_length=100,
                required=False,
                help_text=_(
                    "Leave empty to ask about your own organisation. Name a competitor to ask "
                    "whether the customer would recommend them (relationship surveys)."
                ),
            )
        if kind == "text":
            self.fields["max_length"] = forms.IntegerField(
                label=_("Longest answer (characters)"),
                min_value=1,
                max_value=TEXT_MAX_LENGTH,
                initial=TEXT_DEFAULT_LENGTH,
                required=False,
            )
        if kind == "number":
            self.fields["lowest"] = forms.IntegerField(
                label=_("Lowest allowed number"), required=False
            )
            self.fields["highest"] = forms.IntegerField(
                label=_("Highest allowed number"), required=False
            )
        if kind in CHOICE_SOURCES:
            for row in range(self.option_rows):
                self.fields[f"option-{row}-code"] = forms.CharField(
                    label=_("Code of option %(number)s") % {"number": row + 1},
                    max_length=64,
                    required=False,
                )
                for language in self.languages:
                    self.fields[f"option-{row}-label-{language}"] = forms.CharField(
                        label=_("Label of option %(number)s (%(language)s)")
                        % {"number": row + 1, "language": language_name(language)},
                        max_length=200,
                        required=False,
                    )
                self.fields[f"option-{row}-problem"] = forms.CharField(
                    label=_("Problem code of option %(number)s") % {"number": row + 1},
                    max_length=64,
                    required=False,
                )
        self.option_index_to_row: dict[int, int] = {}
        self.fields["condition_question"] = forms.ChoiceField(
            label=_("Show this question"),
            required=False,
            choices=[("", _("always"))]
            + [
                (spec.key, _("only if the answer to “%(key)s”…") % {"key": spec.key})
                for spec in earlier
            ],
        )
        self.fields["condition_op"] = forms.ChoiceField(
            label=_("Comparison"),
            required=False,
            choices=[("", "—"), *CONDITION_OP_LABELS.items()],
        )
        self.fields["condition_value"] = forms.CharField(
            label=_("Value"),
            max_length=500,
            required=False,
            help_text=_(
                "A number (for scores, numbers and yes/no: 1 is yes, 0 is no) or option codes; "
                "“is one of” and “is none of” take several, separated by commas."
            ),
        )

    # Groups of fields, for the template.
    def bound(self, names: Sequence[str]) -> list[forms.BoundField]:
        return [self[name] for name in names if name in self.fields]

    @property
    def text_group(self) -> list[forms.BoundField]:
        return self.bound(self.text_fields)

    @property
    def help_group(self) -> list[forms.BoundField]:
        return self.bound(self.help_fields)

    @property
    def scale_group(self) -> list[forms.BoundField]:
        return self.bound(["scale", *[name for _end, name in self.scale_label_fields]])

    @property
    def kind_group(self) -> list[forms.BoundField]:
        return self.bound(["competitor", "max_length", "lowest", "highest"])

    @property
    def condition_group(self) -> list[forms.BoundField]:
        return self.bound(["condition_question", "condition_op", "condition_value"])

    @property
    def option_table(self) -> list[dict[str, Any]]:
        return [
            {
                "number": row + 1,
                "code": self[f"option-{row}-code"],
                "labels": [self[f"option-{row}-label-{lang}"] for lang in self.languages],
                "problem": self[f"option-{row}-problem"],
            }
            for row in range(self.option_rows)
        ]

    @property
    def has_options(self) -> bool:
        return self.kind in CHOICE_SOURCES

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        condition = self._condition(data)
        if self.errors:
            return data
        scale_min = scale_max = None
        if "scale" in data:
            scale_min, scale_max = (int(part) for part in data["scale"].split("-"))
        elif self.kind == "number":
            scale_min, scale_max = data.get("lowest"), data.get("highest")
        scale_labels = {}
        for end in ("min", "max"):
            labels = {
                lang: data[f"{end}_label_{lang}"]
                for lang in self.languages
                if data.get(f"{end}_label_{lang}")
            }
            if labels:
                scale_labels[end] = labels
        self.spec = QuestionSpec(
            key=data["key"],
            kind=self.kind,
            text={lang: data[f"text_{lang}"] for lang in self.languages if data[f"text_{lang}"]},
            required=bool(data.get("required")),
            page=data["page"],
            help_text={
                lang: data[f"help_{lang}"] for lang in self.languages if data[f"help_{lang}"]
            },
            scale_min=scale_min,
            scale_max=scale_max,
            scale_labels=scale_labels,
            options=self._options(data),
            competitor=data.get("competitor", ""),
            max_length=data.get("max_length"),
            condition=condition,
        )
        return data

    def _options(self, data: dict[str, Any]) -> tuple[OptionSpec, ...]:
        options: list[OptionSpec] = []
        for row in range(self.option_rows):
            code = data.get(f"option-{row}-code", "")
            labels = {
                lang: data[f"option-{row}-label-{lang}"]
                for lang in self.languages
                if data.get(f"option-{row}-label-{lang}")
            }
            problem = data.get(f"option-{row}-problem", "")
            if not (code or labels or problem):
                continue  # an empty row is room for another option, not an option
            self.option_index_to_row[len(options)] = row
            options.append(OptionSpec(code=code, labels=labels, problem=problem))
        return tuple(options)

    def _condition(self, data: dict[str, Any]) -> ConditionSpec | None:
        key = data.get("condition_question", "")
        if not key:
            return None
        source = self.earlier[key]
        op = data.get("condition_op", "")
        raw = data.get("condition_value", "").strip()
        if not op:
            self.add_error("condition_op", _("Choose how to compare."))
        if not raw:
            self.add_error("condition_value", _("Give the value to compare with."))
        if not op or not raw:
            return None
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        many = op in {"in", "not_in"}
        if not many and len(parts) > 1:
            self.add_error("condition_value", _("Give one value, or compare with “is one of”."))
            return None
        if source.kind in CHOICE_SOURCES:
            return ConditionSpec(question=key, op=op, value=parts if many else parts[0])
        numbers: list[int | float] = []
        for part in parts:
            word = part.lower()
            if source.kind == "yes_no" and word in {"yes", "da", "tak", "no", "nu", "nie"}:
                numbers.append(1 if word in {"yes", "da", "tak"} else 0)
                continue
            try:
                number = float(part.replace(",", "."))
            except ValueError:
                message = _("“%(value)s” is not a number.") % {"value": part}
                self.add_error("condition_value", message)
                return None
            numbers.append(int(number) if number.is_integer() else number)
        return ConditionSpec(question=key, op=op, value=numbers if many else numbers[0])

    def add_definition_errors(self, error: SondaError, *, index: int) -> None:
        """Show the draft's errors: this question's next to its fields, the others above."""
        prefix = f"questions[{index}]"
        for failure in error.errors:
            if failure.field == prefix or failure.field.startswith(f"{prefix}."):
                name = self._field_of(failure.field.removeprefix(prefix).lstrip("."))
                self.add_error(name, failure.message)
            elif failure.field == "questions":
                self.add_error("page", failure.message)
            else:
                self.add_error(None, f"{failure.field}: {failure.message}")

    def _field_of(self, path: str) -> str | None:
        """The form field a definition error names (`text.ro` → `text_ro`)."""
        head, _dot, rest = path.partition(".")
        if head in {"text", "help_text"} and rest:
            name = f"text_{rest}" if head == "text" else f"help_{rest}"
            return name if name in self.fields else None
        if head in {"scale_min", "scale_max"}:
            if "scale" in self.fields:
                return "scale"
            bound = "lowest" if head == "scale_min" else "highest"
            return bound if bound in self.fields else None
        if head == "condition":
            part = rest if rest in {"question", "op", "value"} else "question"
            return f"condition_{part}"
        match = re.match(r"^options\[(\d+)\]$", head)
        if match and rest == "code":
            row = self.option_index_to_row.get(int(match.group(1)))
            return f"option-{row}-code" if row is not None else None
        if head in {"key", "page", "competitor", "max_length"} and head in self.fields:
            return head
        return None


def question_initial(spec: QuestionSpec) -> dict[str, Any]:
    """The form's initial values for a stored question."""
    initial: dict[str, Any] = {
        "key": spec.key,
        "page": spec.page,
        "required": spec.required,
        "competitor": spec.competitor,
        "max_length": spec.max_length,
        "lowest": spec.scale_min if spec.kind == "number" else None,
        "highest": spec.scale_max if spec.kind == "number" else None,
    }
    scale = spec.scale()
    if scale is not None:
        initial["scale"] = f"{scale[0]}-{scale[1]}"
    for language, text in spec.text.items():
        initial[f"text_{language}"] = text
    for language, text in spec.help_text.items():
        initial[f"help_{language}"] = text
    for end, labels in spec.scale_labels.items():
        for language, text in labels.items():
            initial[f"{end}_label_{language}"] = text
    for row, option in enumerate(spec.options):
        initial[f"option-{row}-code"] = option.code
        initial[f"option-{row}-problem"] = option.problem
        for language, text in option.labels.items():
            initial[f"option-{row}-label-{language}"] = text
    if spec.condition is not None:
        value = spec.condition.value
        initial["condition_question"] = spec.condition.question
        initial["condition_op"] = spec.condition.op
        initial["condition_value"] = (
            ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        )
    return initial


def kind_choices() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in QuestionKind.choices]


# Open links ------------------------------------------------------------------------------------


class OpenLinkForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=200,
        help_text=gettext_lazy("Where the link is used, e.g. “QR code at the North 1 counter”."),
    )
    unit = forms.TypedChoiceField(
        label=gettext_lazy("Unit"), coerce=int, empty_value=None, required=False
    )
    touchpoint = forms.CharField(label=gettext_lazy("Touchpoint"), max_length=100, required=False)
    channel = forms.CharField(label=gettext_lazy("Channel"), max_length=32, initial="qr")
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        help_text=gettext_lazy("Leave empty to let respondents choose."),
    )
    max_responses_per_client_per_day = forms.IntegerField(
        label=gettext_lazy("Responses per device and day"),
        min_value=1,
        max_value=1000,
        initial=3,
        help_text=gettext_lazy(
            "More responses from the same device on the same day are refused (kiosks may need "
            "more)."
        ),
    )

    def __init__(
        self, *args: Any, units: Sequence[Unit], languages: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _set_choices(
            self,
            "unit",
            [("", "—")] + [(u.pk, f"{'— ' * u.depth}{u.name} ({u.code})") for u in units],
        )
        _set_choices(self, "language", [("", "—"), *language_choices(languages)])


# The look --------------------------------------------------------------------------------------


class ColourInput(forms.TextInput):
    input_type = "color"


class SurveyLookForm(forms.Form):
    logo = forms.FileField(
        label=gettext_lazy("Logo"),
        required=False,
        help_text=gettext_lazy("A PNG, JPEG or SVG image of at most 200 KB."),
    )
    remove_logo = forms.BooleanField(label=gettext_lazy("Remove the logo"), required=False)
    primary_colour = forms.RegexField(
        label=gettext_lazy("Primary colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        widget=ColourInput,
        error_messages={"invalid": gettext_lazy("Give a colour such as #1d4f91.")},
        help_text=gettext_lazy("Buttons and headings."),
    )
    background_colour = forms.RegexField(
        label=gettext_lazy("Background colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        widget=ColourInput,
        error_messages={"invalid": gettext_lazy("Give a colour such as #ffffff.")},
    )
    sender_name = forms.CharField(
        label=gettext_lazy("Sender name"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Who invitations come from, e.g. “Banca Demo customer care”."),
    )

    def clean_logo(self) -> str | None:
        """The uploaded image as a data: URL; its type is read from its bytes, not its name."""
        upload: Any = self.cleaned_data.get("logo")
        if not upload:
            return None
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(
                _("The image is %(size)s KB; at most 200 KB.")
                % {"size": (upload.size + 1023) // 1024}
            )
        content: bytes = upload.read()
        if content.startswith(PNG_MAGIC):
            media = "image/png"
        elif content.startswith(JPEG_MAGIC):
            media = "image/jpeg"
        elif SVG_RE.match(content):
            media = "image/svg+xml"
        else:
            raise forms.ValidationError(_("The file is not a PNG, JPEG or SVG image."))
        return f"data:{media};base64,{base64.b64encode(content).decode('ascii')}"
