"""What a survey may contain, and what an answer to each kind of question may be.

The same rules serve the survey builder (pages and API), the survey pages, the response API and
imports, so a score of 11 or a choice that is not an option is refused the same way everywhere.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sonda.core.errors import FieldError, ValidationFailed

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SURVEY_LANGUAGES = ("en", "ro", "pl", "de", "fr", "es", "it", "hu", "uk", "cs", "sk", "bg")

# Allowed scales per kind: (min, max) pairs; the first is the default.
SCALES: dict[str, tuple[tuple[int, int], ...]] = {
    "nps": ((0, 10),),
    "csat": ((1, 5), (1, 7), (1, 10)),
    "ces": ((1, 5), (1, 7)),
    "rating": ((1, 5), (1, 7), (1, 10), (0, 10)),
}
TEXT_MAX_LENGTH = 10_000
TEXT_DEFAULT_LENGTH = 2_000
NUMBER_LIMIT = 1e12
CONDITION_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in")
CONDITION_SOURCES = frozenset({"nps", "csat", "ces", "rating", "number", "yes_no"})
CHOICE_SOURCES = frozenset({"single_choice", "multi_choice"})


@dataclass(frozen=True)
class OptionSpec:
    code: str
    labels: Mapping[str, str]
    problem: str = ""  # a problem-taxonomy code, mapped when the loop arrives


@dataclass(frozen=True)
class ConditionSpec:
    """Show a question only when an earlier answer meets this."""

    question: str
    op: str
    value: Any

    def as_json(self) -> dict[str, Any]:
        return {"question": self.question, "op": self.op, "value": self.value}


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    kind: str
    text: Mapping[str, str]
    required: bool = False
    page: int = 1
    help_text: Mapping[str, str] = field(default_factory=dict)
    scale_min: int | None = None
    scale_max: int | None = None
    scale_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    options: Sequence[OptionSpec] = ()
    competitor: str = ""
    max_length: int | None = None
    condition: ConditionSpec | None = None

    def scale(self) -> tuple[int, int] | None:
        if self.kind not in SCALES:
            return None
        default = SCALES[self.kind][0]
        return (
            self.scale_min if self.scale_min is not None else default[0],
            self.scale_max if self.scale_max is not None else default[1],
        )


def validate_definition(
    questions: Sequence[QuestionSpec], *, languages: Sequence[str]
) -> list[FieldError]:
    """Every structural problem of a survey's questions, each naming its place."""
    errors: list[FieldError] = []
    seen: dict[str, QuestionSpec] = {}
    for index, q in enumerate(questions):
        where = f"questions[{index}]"
        if not KEY_RE.match(q.key):
            errors.append(
                FieldError(f"{where}.key", "lower-case letters, digits and _, starting a letter")
            )
        elif q.key in seen:
            errors.append(FieldError(f"{where}.key", f"'{q.key}' is used by another question"))
        if q.kind not in {*SCALES, "single_choice", "multi_choice", "text", "number", "yes_no"}:
            errors.append(FieldError(f"{where}.kind", f"unknown question kind '{q.kind}'"))
            continue
        if q.page < 1 or q.page > 50:
            errors.append(FieldError(f"{where}.page", "pages are numbered 1 to 50"))
        for language in q.text:
            if language not in languages:
                errors.append(
                    FieldError(f"{where}.text.{language}", "not one of the survey's languages")
                )
        for language, value in q.text.items():
            if len(value) > 1000:
                errors.append(FieldError(f"{where}.text.{language}", "at most 1000 characters"))
        errors.extend(_validate_kind(q, where))
        if q.condition is not None:
            errors.extend(_validate_condition(q.condition, seen, f"{where}.condition"))
        seen.setdefault(q.key, q)
    if questions and any(q.page != 1 for q in questions):
        pages = sorted({q.page for q in questions})
        if pages != list(range(1, len(pages) + 1)):
            errors.append(
                FieldError("questions", f"pages must run 1, 2, 3... without gaps: {pages}")
            )
    return errors


def _validate_kind(q: QuestionSpec, where: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if q.kind in SCALES:
        scale = q.scale()
        if scale not in SCALES[q.kind]:
            allowed = ", ".join(f"{lo}–{hi}" for lo, hi in SCALES[q.kind])
            errors.append(FieldError(f"{where}.scale_max", f"{q.kind} scales are {allowed}"))
    elif q.scale_min is not None or q.scale_max is not None:
        if q.kind != "number":
            errors.append(FieldError(f"{where}.scale_min", f"a {q.kind} question has no scale"))
        elif q.scale_min is not None and q.scale_max is not None and q.scale_min >= q.scale_max:
            errors.append(FieldError(f"{where}.scale_max", "must be above the minimum"))
    if q.kind in CHOICE_SOURCES:
        if len(q.options) < 2:
            errors.append(FieldError(f"{where}.options", "a choice needs at least two options"))
        codes: set[str] = set()
        for o_index, option in enumerate(q.options):
            if not CODE_RE.match(option.code):
                errors.append(
                    FieldError(
                        f"{where}.options[{o_index}].code",
                        "lower-case letters, digits, - and _ (at most 64)",
                    )
                )
            elif option.code in codes:
                errors.append(
                    FieldError(f"{where}.options[{o_index}].code", f"'{option.code}' is repeated")
                )
            codes.add(option.code)
    elif q.options:
        errors.append(FieldError(f"{where}.options", f"a {q.kind} question has no options"))
    if q.competitor and q.kind != "nps":
        errors.append(FieldError(f"{where}.competitor", "only an nps question names a competitor"))
    if q.max_length is not None and (q.kind != "text" or not 1 <= q.max_length <= TEXT_MAX_LENGTH):
        errors.append(
            FieldError(f"{where}.max_length", f"text answers only, 1 to {TEXT_MAX_LENGTH}")
        )
    return errors


def _validate_condition(
    condition: ConditionSpec, earlier: Mapping[str, QuestionSpec], where: str
) -> list[FieldError]:
    source = earlier.get(condition.question)
    if source is None:
        return [FieldError(f"{where}.question", "must name an earlier question")]
    if condition.op not in CONDITION_OPS:
        return [FieldError(f"{where}.op", f"one of {', '.join(CONDITION_OPS)}")]
    if source.kind in CHOICE_SOURCES:
        if condition.op not in {"eq", "ne", "in", "not_in"}:
            return [FieldError(f"{where}.op", "choices are compared with eq, ne, in or not_in")]
        values = condition.value if isinstance(condition.value, list) else [condition.value]
        codes = {o.code for o in source.options}
        unknown = [v for v in values if v not in codes]
        if unknown:
            return [FieldError(f"{where}.value", f"not options of {source.key}: {unknown}")]
        return []
    if source.kind not in CONDITION_SOURCES:
        return [FieldError(f"{where}.question", f"a {source.kind} answer cannot be compared")]
    values = condition.value if isinstance(condition.value, list) else [condition.value]
    if condition.op in {"in", "not_in"} and not isinstance(condition.value, list):
        return [FieldError(f"{where}.value", "in and not_in compare with a list")]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return [FieldError(f"{where}.value", "compare a number")]
    return []


def missing_translations(
    questions: Sequence[QuestionSpec], *, languages: Sequence[str]
) -> list[str]:
    """What must still be translated before publishing, one line per missing text."""
    missing = []
    for q in questions:
        for language in languages:
            if not q.text.get(language, "").strip():
                missing.append(f"{q.key}: question text in {language}")
            if q.help_text and not q.help_text.get(language, "").strip():
                missing.append(f"{q.key}: help text in {language}")
            # PostgreSQL's jsonb reorders keys, so name the ends low to high whatever the storage.
            for end in sorted(q.scale_labels, key=lambda end: (end != "min", end)):
                if not q.scale_labels[end].get(language, "").strip():
                    missing.append(f"{q.key}: scale label '{end}' in {language}")
            for option in q.options:
                if not option.labels.get(language, "").strip():
                    missing.append(f"{q.key}: option '{option.code}' in {language}")
    return missing


# Answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerValue:
    """One stored value: a number (scales, numbers, yes/no as 1/0), a text, or an option code."""

    number: float | None = None
    text: str = ""
    choice: str = ""


TRUE_WORDS = frozenset({"yes", "true", "1", "y", "da", "tak"})
FALSE_WORDS = frozenset({"no", "false", "0", "n", "nu", "nie"})


def parse_answer(q: QuestionSpec, raw: Any, *, field: str = "") -> list[AnswerValue]:
    """The values to store for `raw` (from a form, JSON or a CSV cell); [] when unanswered.

    Raises ValidationFailed naming `field` (default: the question's key) when `raw` cannot be an
    answer to `q`.
    """
    where = field or q.key
    if raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []:
        return []
    if q.kind in SCALES:
        value = _number(raw, where)
        low, high = q.scale() or (0, 10)
        if value != int(value) or not low <= value <= high:
            raise ValidationFailed.on(where, f"must be a whole number from {low} to {high}")
        return [AnswerValue(number=float(value))]
    if q.kind == "number":
        value = _number(raw, where)
        if q.scale_min is not None and value < q.scale_min:
            raise ValidationFailed.on(where, f"must be at least {q.scale_min}")
        if q.scale_max is not None and value > q.scale_max:
            raise ValidationFailed.on(where, f"must be at most {q.scale_max}")
        return [AnswerValue(number=value)]
    if q.kind == "yes_no":
        if isinstance(raw, bool):
            return [AnswerValue(number=1.0 if raw else 0.0)]
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return [AnswerValue(number=1.0)]
        if word in FALSE_WORDS:
            return [AnswerValue(number=0.0)]
        raise ValidationFailed.on(where, "must be yes or no")
    if q.kind == "text":
        if not isinstance(raw, str):
            raise ValidationFailed.on(where, "must be text")
        text = raw.strip()
        limit = q.max_length or TEXT_DEFAULT_LENGTH
        if len(text) > limit:
            raise ValidationFailed.on(where, f"at most {limit} characters ({len(text)} given)")
        if "\x00" in text:
            raise ValidationFailed.on(where, "contains a NUL character")
        return [AnswerValue(text=text)]
    codes = [o.code for o in q.options]
    chosen = raw if isinstance(raw, list) else [raw]
    if q.kind == "single_choice" and len(chosen) > 1:
        raise ValidationFailed.on(where, "choose one option")
    out: list[AnswerValue] = []
    for code in chosen:
        if not isinstance(code, str) or code not in codes:
            raise ValidationFailed.on(where, f"'{code}' is not one of the options {codes}")
        if code not in {v.choice for v in out}:
            out.append(AnswerValue(choice=code))
    return out


def _number(raw: Any, where: str) -> float:
    if isinstance(raw, bool):
        raise ValidationFailed.on(where, "must be a number")
    try:
        value = float(str(raw).strip().replace(",", ".")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed.on(where, f"'{raw}' is not a number") from exc
    if math.isnan(value) or math.isinf(value) or abs(value) > NUMBER_LIMIT:
        raise ValidationFailed.on(where, "is not a usable number")
    return value


def is_shown(q: QuestionSpec, answers: Mapping[str, Sequence[AnswerValue]]) -> bool:
    """Whether the display condition lets this question be asked, given the answers so far."""
    condition = q.condition
    if condition is None:
        return True
    given = answers.get(condition.question) or []
    if not given:
        return False
    expected = condition.value if isinstance(condition.value, list) else [condition.value]
    if given[0].choice or (given[0].number is None and not given[0].text):
        chosen = {v.choice for v in given}
        hit = bool(chosen & set(expected))
        return hit if condition.op in {"eq", "in"} else not hit
    number = given[0].number
    if number is None:
        return False
    target = expected[0]
    match condition.op:
        case "eq":
            return bool(number == target)
        case "ne":
            return bool(number != target)
        case "lt":
            return bool(number < target)
        case "lte":
            return bool(number <= target)
        case "gt":
            return bool(number > target)
        case "gte":
            return bool(number >= target)
        case "in":
            return number in expected
        case _:
            return number not in expected
