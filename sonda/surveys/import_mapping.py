"""The mapping of a response import: which column of the file holds what, read and checked.

docs/response-import.md describes it for users. A mapping is read against the survey's published
version, so that a question key it does not have or a choice code that is not an option is refused
before any row is read; every mistake is named by its place in the mapping (`mapping.answers.ltr`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sonda.core.errors import FieldError, ValidationFailed
from sonda.customers.identities import SOURCE_RE
from sonda.imports.csvfile import CsvRow
from sonda.imports.customers import phone_region
from sonda.surveys.definition import CHOICE_SOURCES, QuestionSpec
from sonda.surveys.models import Question, Survey, VersionStatus
from sonda.surveys.specs import spec_of

CONTEXT_FIELDS = {
    "unit_code": 64,
    "employee_number": 64,
    "touchpoint": 100,
    "channel": 32,
    "journey": 100,
    "stage": 100,
    "language": 8,
}
TOP_LEVEL = {"external_id", "completed_at", "started_at", "customer", "answers", *CONTEXT_FIELDS}
EXTERNAL = "external:"


@dataclass(frozen=True)
class Source:
    """Where a value comes from: a column (its cells optionally translated) or a fixed value."""

    column: str = ""
    constant: Any = None
    values: Mapping[str, Any] | None = None
    separator: str = ""

    def cell(self, row: CsvRow) -> Any:
        """The row's value: the cell, translated through `values` where the mapping has them."""
        if not self.column:
            return self.constant
        text = row.get(self.column)
        found, value = self.lookup(text)
        return value if found else text

    def lookup(self, word: str) -> tuple[bool, Any]:
        """(True, value) when `values` translates `word` (in any case), else (False, None)."""
        if self.values is None or not word:
            return False, None
        if word in self.values:
            return True, self.values[word]
        for key, value in self.values.items():
            if key.casefold() == word.casefold():
                return True, value
        return False, None


@dataclass(frozen=True)
class DateSource:
    column: str
    format: str  # strptime format; "" reads ISO 8601
    zone: ZoneInfo
    # Exports repeat timestamps, and strptime is slow: each text is read once per import.
    seen: dict[str, datetime] = field(default_factory=dict, compare=False, repr=False)

    def read(self, text: str) -> datetime:
        """The instant `text` names (in `zone` unless it says its own); ValueError if none."""
        found = self.seen.get(text)
        if found is None:
            found = (
                datetime.strptime(text, self.format)  # noqa: DTZ007 - localised below
                if self.format
                else datetime.fromisoformat(text)
            )
            if found.tzinfo is None:
                found = found.replace(tzinfo=self.zone)
            self.seen[text] = found
        return found


@dataclass(frozen=True)
class ResponseMapping:
    external_id: str
    completed_at: DateSource
    started_at: DateSource | None
    identities: tuple[tuple[str, str, str], ...]  # (kind, source, column), in the mapping's order
    region: str
    context: Mapping[str, Source]
    answers: Mapping[str, Source]

    def columns(self) -> list[str]:
        """Every column the mapping reads, once, in the mapping's order."""
        named = [self.external_id, self.completed_at.column]
        if self.started_at is not None:
            named.append(self.started_at.column)
        named += [column for _, _, column in self.identities]
        named += [s.column for s in (*self.context.values(), *self.answers.values()) if s.column]
        return list(dict.fromkeys(named))


class _MappingErrors:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, where: str, message: str) -> None:
        self.errors.append(FieldError(f"mapping.{where}", message))


def _column(value: Any, where: str, errors: _MappingErrors) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.add(where, "name a column of the file")
        return ""
    return value.strip()


def _values(value: Any, where: str, errors: _MappingErrors) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        errors.add(where, 'must map the file\'s words to values: {"Waiting time": "waiting"}')
        return None
    return dict(value)


def _source(
    value: Any,
    where: str,
    errors: _MappingErrors,
    *,
    constant_allowed: bool = True,
    separator_allowed: bool = False,
) -> Source | None:
    if isinstance(value, str):
        return Source(column=_column(value, where, errors))
    if not isinstance(value, Mapping):
        errors.add(where, 'a column name, or {"column": ..., "values": {...}}')
        return None
    allowed = {"column", "values", *({"value"} if constant_allowed else set())}
    if separator_allowed:
        allowed.add("separator")
    for key in value:
        if key not in allowed:
            errors.add(f"{where}.{key}", f"unknown key (one of {', '.join(sorted(allowed))})")
    if "value" in value and constant_allowed:
        if "column" in value:
            errors.add(where, "a column or a fixed value, not both")
        if not isinstance(value["value"], str):
            errors.add(f"{where}.value", "must be text")
            return None
        return Source(constant=value["value"])
    separator = value.get("separator", "")
    if not isinstance(separator, str) or (
        separator_allowed and "separator" in value and not separator
    ):
        errors.add(f"{where}.separator", "must be one or more characters, such as ;")
        separator = ""
    return Source(
        column=_column(value.get("column"), f"{where}.column", errors),
        values=_values(value.get("values"), f"{where}.values", errors),
        separator=separator,
    )


def _zone(name: Any, where: str, errors: _MappingErrors, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name) if name else default)
    except (ZoneInfoNotFoundError, ValueError):
        errors.add(where, f"'{name}' is not a time zone such as Europe/Bucharest")
        return ZoneInfo("UTC")


def _date_source(
    value: Any, where: str, errors: _MappingErrors, default_zone: str
) -> DateSource | None:
    if isinstance(value, str):
        return DateSource(
            _column(value, where, errors), "", _zone(None, where, errors, default_zone)
        )
    if not isinstance(value, Mapping):
        errors.add(where, 'a column name, or {"column": ..., "format": "%d/%m/%Y %H:%M"}')
        return None
    for key in value:
        if key not in {"column", "format", "time_zone"}:
            errors.add(f"{where}.{key}", "unknown key (one of column, format, time_zone)")
    fmt = value.get("format", "")
    if not isinstance(fmt, str) or (fmt and "%" not in fmt):
        errors.add(f"{where}.format", "a strptime format such as %d/%m/%Y %H:%M")
        fmt = ""
    return DateSource(
        column=_column(value.get("column"), f"{where}.column", errors),
        format=fmt,
        zone=_zone(value.get("time_zone"), f"{where}.time_zone", errors, default_zone),
    )


@dataclass(frozen=True)
class SurveyQuestions:
    """The published version's questions, as rows and specs, with each option's words."""

    survey: Survey
    version_id: int
    rows: dict[str, Question]
    specs: list[QuestionSpec]
    option_words: dict[str, dict[str, str]]  # key → casefolded code or label → code


def survey_questions(survey: Survey) -> SurveyQuestions:
    version = survey.versions.filter(status=VersionStatus.PUBLISHED).first()
    if version is None:
        raise ValidationFailed.on("survey", "the survey has no published version")
    rows = list(Question.objects.filter(version=version).order_by("position"))
    specs = [spec_of(q) for q in rows]
    words: dict[str, dict[str, str]] = {}
    for spec in specs:
        if spec.kind in CHOICE_SOURCES:
            found = words.setdefault(spec.key, {})
            for option in spec.options:
                for label in option.labels.values():
                    found.setdefault(label.strip().casefold(), option.code)
                found[option.code.casefold()] = option.code
    return SurveyQuestions(
        survey=survey,
        version_id=version.pk,
        rows={q.key: q for q in rows},
        specs=specs,
        option_words=words,
    )


def mapping_read(
    raw: Any, *, questions: SurveyQuestions, default_time_zone: str = "UTC"
) -> ResponseMapping:
    """The mapping in `raw` (parsed JSON) for this survey; ValidationFailed names every mistake."""
    errors = _MappingErrors()
    if not isinstance(raw, Mapping):
        raise ValidationFailed.on("mapping", "must be a JSON object")
    for key in raw:
        if key not in TOP_LEVEL:
            errors.add(key, f"unknown key (one of {', '.join(sorted(TOP_LEVEL))})")
    external_id = _column(raw.get("external_id"), "external_id", errors)
    completed_at = _date_source(raw.get("completed_at"), "completed_at", errors, default_time_zone)
    started_at = (
        _date_source(raw["started_at"], "started_at", errors, default_time_zone)
        if raw.get("started_at") is not None
        else None
    )
    identities, region = _customer(raw.get("customer"), errors)
    context: dict[str, Source] = {}
    for name in CONTEXT_FIELDS:
        if raw.get(name) is not None:
            found = _source(raw[name], name, errors)
            if found is not None:
                context[name] = found
    language = context.get("language")
    if (
        language is not None
        and not language.column
        and language.constant not in questions.survey.languages
    ):
        errors.add("language.value", f"not a language of the survey {questions.survey.languages}")
    answers = _answers(raw.get("answers"), questions, errors)
    if errors.errors:
        raise ValidationFailed("The mapping is not valid.", errors=errors.errors)
    assert completed_at is not None
    return ResponseMapping(
        external_id=external_id,
        completed_at=completed_at,
        started_at=started_at,
        identities=identities,
        region=region,
        context=context,
        answers=answers,
    )


def _customer(value: Any, errors: _MappingErrors) -> tuple[tuple[tuple[str, str, str], ...], str]:
    if value is None:
        return (), phone_region(None)
    if not isinstance(value, Mapping):
        errors.add("customer", 'an object such as {"email": "Email", "external:crm": "Client"}')
        return (), phone_region(None)
    identities = []
    region = phone_region(None)
    for key, column in value.items():
        where = f"customer.{key}"
        if key == "region":
            try:
                region = phone_region(str(column))
            except ValidationFailed as exc:
                errors.add(where, exc.errors[0].message)
        elif key in {"email", "phone"}:
            identities.append((key, "", _column(column, where, errors)))
        elif key.startswith(EXTERNAL) and SOURCE_RE.match(key.removeprefix(EXTERNAL)):
            identities.append(
                ("external", key.removeprefix(EXTERNAL), _column(column, where, errors))
            )
        else:
            errors.add(where, "email, phone, external:<source> (external:crm) or region")
    return tuple(identities), region


def _answers(value: Any, questions: SurveyQuestions, errors: _MappingErrors) -> dict[str, Source]:
    if not isinstance(value, Mapping) or not value:
        errors.add("answers", 'map question keys to columns: {"ltr": "Q1", "comment": "Q5"}')
        return {}
    answers: dict[str, Source] = {}
    for key, source_value in value.items():
        where = f"answers.{key}"
        spec = next((s for s in questions.specs if s.key == key), None)
        if spec is None:
            errors.add(where, f"the survey has no question '{key}'")
            continue
        source = _source(
            source_value,
            where,
            errors,
            constant_allowed=False,
            separator_allowed=spec.kind == "multi_choice",
        )
        if source is None:
            continue
        if spec.kind in CHOICE_SOURCES and source.values:
            codes = {o.code for o in spec.options}
            for word, code in source.values.items():
                chosen = code if isinstance(code, list) else [code]
                unknown = [c for c in chosen if c is not None and c != "" and c not in codes]
                if unknown:
                    errors.add(
                        f"{where}.values.{word}", f"{unknown} not options of {key}: {sorted(codes)}"
                    )
        answers[key] = source
    for spec in questions.specs:
        if spec.required and spec.condition is None and spec.key not in answers:
            errors.add(f"answers.{spec.key}", "the question is required: map a column to it")
    return answers
