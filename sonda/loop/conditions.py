"""Alert rule conditions: their typed schema, and their evaluation as a pure function.

A rule's conditions are a JSON list, all of which must hold:

- `{"kind": "loyalty", "question": "ltr", "classes": ["detractor"]}`: the answer to a 0–10
  question falls in one of the loyalty classes, by the program's thresholds;
- `{"kind": "score", "question": "csat", "min": 1, "max": 2}`: a measure's score is in a range
  (inclusive; either end may be left out);
- `{"kind": "answer", "question": "reasons", "options": ["staff"]}`: one of these options chosen;
- `{"kind": "words", "question": "comment", "phrases": {"en": ["rude"], "ro": ["nepoliticos"]}}`:
  an open answer (of one question, or of any when `question` is left out) contains one of the
  phrases listed for the response's language, case and accents ignored, as whole words; a
  trailing `*` matches the beginning of a word (`niegrzeczn*`), for languages that inflect;
- `{"kind": "competitor", "names": ["Banca Verde"], "question": null}`: an open answer names a
  competitor (whatever the language);
- `{"kind": "non_response", "days": 90}`: an account of the rule's program has not answered for
  so many days (B2B). It stands alone in its rule and is evaluated per account, not per response.

Evaluation takes plain data (`ResponseFacts`, `RuleSpec`) and no database, so that the same code
opens a case for one response and evaluates a million in bulk.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import gettext as _

from sonda.core.errors import FieldError, ValidationFailed
from sonda.loop.models import PRIORITY_RANK
from sonda.surveys.definition import CODE_RE, KEY_RE, SURVEY_LANGUAGES

LoyaltyClass = Literal["promoter", "passive", "detractor"]
LOYALTY_CLASSES: tuple[LoyaltyClass, ...] = ("promoter", "passive", "detractor")
KINDS = ("loyalty", "score", "answer", "words", "competitor", "non_response")
MAX_CONDITIONS = 20
MAX_ITEMS = 200
MAX_PHRASE = 100
MAX_DAYS = 3650
SCORE_LIMIT = 1e12


# The schema --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoyaltyCondition:
    question: str
    classes: tuple[LoyaltyClass, ...]
    kind: Literal["loyalty"] = "loyalty"


@dataclass(frozen=True)
class ScoreCondition:
    question: str
    min: float | None = None
    max: float | None = None
    kind: Literal["score"] = "score"


@dataclass(frozen=True)
class AnswerCondition:
    question: str
    options: tuple[str, ...]
    kind: Literal["answer"] = "answer"


@dataclass(frozen=True)
class WordsCondition:
    phrases: Mapping[str, tuple[str, ...]]  # language → phrases as written
    question: str | None = None
    kind: Literal["words"] = "words"


@dataclass(frozen=True)
class CompetitorCondition:
    names: tuple[str, ...]
    question: str | None = None
    kind: Literal["competitor"] = "competitor"


@dataclass(frozen=True)
class NonResponseCondition:
    days: int
    kind: Literal["non_response"] = "non_response"


Condition = (
    LoyaltyCondition
    | ScoreCondition
    | AnswerCondition
    | WordsCondition
    | CompetitorCondition
    | NonResponseCondition
)


def condition_as_json(condition: Condition) -> dict[str, Any]:
    """The condition as stored on the rule (and shown by the API)."""
    if isinstance(condition, LoyaltyCondition):
        return {"kind": "loyalty", "question": condition.question, "classes": [*condition.classes]}
    if isinstance(condition, ScoreCondition):
        out: dict[str, Any] = {"kind": "score", "question": condition.question}
        if condition.min is not None:
            out["min"] = condition.min
        if condition.max is not None:
            out["max"] = condition.max
        return out
    if isinstance(condition, AnswerCondition):
        return {"kind": "answer", "question": condition.question, "options": [*condition.options]}
    if isinstance(condition, WordsCondition):
        return {
            "kind": "words",
            "question": condition.question,
            "phrases": {lang: [*phrases] for lang, phrases in condition.phrases.items()},
        }
    if isinstance(condition, CompetitorCondition):
        return {"kind": "competitor", "question": condition.question, "names": [*condition.names]}
    return {"kind": "non_response", "days": condition.days}


# Parsing: every problem named by its place (`conditions[1].phrases.ro[0]`) ------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(FieldError(where, message))


def _fields(
    raw: Mapping[str, Any], allowed: set[str], where: str, errors: _Errors
) -> Mapping[str, Any]:
    for name in raw:
        if name not in allowed:
            errors.add(f"{where}.{name}", _("unknown field"))
    return raw


def _question(value: object, where: str, errors: _Errors, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not KEY_RE.match(value):
        errors.add(where, _("a question key (lower-case letters, digits and _)"))
        return None
    return value


def _texts(value: object, where: str, errors: _Errors, *, longest: int) -> tuple[str, ...]:
    """Non-empty trimmed texts, each once, in the order given; at least one."""
    if not isinstance(value, list) or not value:
        errors.add(where, _("a list of at least one text"))
        return ()
    if len(value) > MAX_ITEMS:
        errors.add(where, _("at most %(count)d items") % {"count": MAX_ITEMS})
        return ()
    out: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            errors.add(f"{where}[{index}]", _("must be a non-empty text"))
        elif len(item.strip()) > longest:
            errors.add(f"{where}[{index}]", _("at most %(count)d characters") % {"count": longest})
        elif item.strip() not in out:
            out.append(item.strip())
    return tuple(out)


def _number(value: object, where: str, errors: _Errors) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.add(where, _("must be a number"))
        return None
    if not -SCORE_LIMIT <= float(value) <= SCORE_LIMIT:
        errors.add(where, _("out of range"))
        return None
    return float(value)


def _loyalty(raw: Mapping[str, Any], where: str, errors: _Errors) -> Condition | None:
    _fields(raw, {"kind", "question", "classes"}, where, errors)
    question = _question(raw.get("question"), f"{where}.question", errors, optional=False)
    classes = raw.get("classes")
    before = len(errors.items)
    chosen: list[LoyaltyClass] = []
    if not isinstance(classes, list) or not classes:
        errors.add(f"{where}.classes", _("a list of promoter, passive or detractor"))
    else:
        for index, item in enumerate(classes):
            if item not in LOYALTY_CLASSES:
                errors.add(f"{where}.classes[{index}]", _("one of promoter, passive, detractor"))
            elif item not in chosen:
                chosen.append(item)
    if question is None or len(errors.items) > before:
        return None
    return LoyaltyCondition(question=question, classes=tuple(chosen))


def _score(raw: Mapping[str, Any], where: str, errors: _Errors) -> Condition | None:
    _fields(raw, {"kind", "question", "min", "max"}, where, errors)
    question = _question(raw.get("question"), f"{where}.question", errors, optional=False)
    low = _number(raw.get("min"), f"{where}.min", errors)
    high = _number(raw.get("max"), f"{where}.max", errors)
    if raw.get("min") is None and raw.get("max") is None:
        errors.add(f"{where}.min", _("give a lowest score, a highest score or both"))
        return None
    if low is not None and high is not None and low > high:
        errors.add(f"{where}.max", _("must not be below the lowest score"))
        return None
    if question is None:
        return None
    return ScoreCondition(question=question, min=low, max=high)


def _answer(raw: Mapping[str, Any], where: str, errors: _Errors) -> Condition | None:
    _fields(raw, {"kind", "question", "options"}, where, errors)
    question = _question(raw.get("question"), f"{where}.question", errors, optional=False)
    before = len(errors.items)
    options = _texts(raw.get("options"), f"{where}.options", errors, longest=64)
    for index, code in enumerate(options):
        if not CODE_RE.match(code):
            errors.add(f"{where}.options[{index}]", _("an option code"))
    if question is None or len(errors.items) > before:
        return None
    return AnswerCondition(question=question, options=options)


def _words(raw: Mapping[str, Any], where: str, errors: _Errors) -> Condition | None:
    _fields(raw, {"kind", "question", "phrases"}, where, errors)
    question = _question(raw.get("question"), f"{where}.question", errors, optional=True)
    phrases = raw.get("phrases")
    if not isinstance(phrases, dict) or not phrases:
        errors.add(
            f"{where}.phrases", _('phrases per language, e.g. {"en": ["rude"], "ro": [...]}')
        )
        return None
    before = len(errors.items)
    by_language: dict[str, tuple[str, ...]] = {}
    for language, items in phrases.items():
        if language not in SURVEY_LANGUAGES:
            errors.add(f"{where}.phrases.{language}", _("not a survey language"))
            continue
        texts = _texts(items, f"{where}.phrases.{language}", errors, longest=MAX_PHRASE)
        for index, text in enumerate(texts):
            if not fold(text.rstrip("*")):
                errors.add(f"{where}.phrases.{language}[{index}]", _("has no letters or digits"))
        by_language[language] = texts
    if len(errors.items) > before or (question is None and raw.get("question") is not None):
        return None
    return WordsCondition(phrases=by_language, question=question)


def _competitor(raw: Mapping[str, Any], where: str, errors: _Errors) -> Condition | None:
    _fields(raw, {"kind", "question", "names"}, where, errors)
    question = _question(raw.get("question"), f"{where}.question", errors, optional=True)
    before = len(errors.items)
    names = _texts(raw.get("names"), f"{where}.names", errors, longest=MAX_PHRASE)
    for index, name in enumerate(names):
        if not fold(name):
            errors.add(f"{where}.names[{index}]", _("has no letters or digits"))
    if len(errors.items) > before or (question is None and raw.get("question") is not None):
        return None
    return CompetitorCondition(names=names, question=question)


def _non_response(raw: Mapping[str, Any], where: str, errors: _Errors) -> Condition | None:
    _fields(raw, {"kind", "days"}, where, errors)
    days = raw.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors.add(
            f"{where}.days", _("a whole number of days from 1 to %(max)d") % {"max": MAX_DAYS}
        )
        return None
    return NonResponseCondition(days=days)


_PARSERS = {
    "loyalty": _loyalty,
    "score": _score,
    "answer": _answer,
    "words": _words,
    "competitor": _competitor,
    "non_response": _non_response,
}


def conditions_parse(raw: object, *, field: str = "conditions") -> tuple[Condition, ...]:
    """The typed conditions of a rule, or ValidationFailed naming every failing part.

    A rule needs at least one condition; non-response stands alone in its rule.
    """
    errors = _Errors()
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed.on(field, _("at least one condition"))
    if len(raw) > MAX_CONDITIONS:
        raise ValidationFailed.on(
            field, _("at most %(count)d conditions") % {"count": MAX_CONDITIONS}
        )
    parsed: list[Condition] = []
    for index, item in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            errors.add(where, _("must be an object with a kind"))
            continue
        parser = _PARSERS.get(item.get("kind"))  # type: ignore[arg-type]
        if parser is None:
            errors.add(f"{where}.kind", _("one of %(kinds)s") % {"kinds": ", ".join(KINDS)})
            continue
        condition = parser(item, where, errors)
        if condition is not None:
            parsed.append(condition)
    if errors.items:
        raise ValidationFailed(_("Some conditions are not valid."), errors=errors.items)
    if len(parsed) > 1 and any(isinstance(c, NonResponseCondition) for c in parsed):
        raise ValidationFailed.on(
            field, _("non-response is about accounts, not responses: it stands alone in a rule")
        )
    return tuple(parsed)


# Text: case and accents ignored, whole words -----------------------------------------------------

# Letters that Unicode does not decompose into a base letter and a mark.
_UNDECOMPOSED = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ı": "i"})
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """The text lower-cased, without accents, its words separated by single spaces.

    "Mi-a răspuns NEPOLITICOS!" → "mi a raspuns nepoliticos"; "Obsługa" → "obsluga".
    """
    lowered = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in lowered if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", bare.translate(_UNDECOMPOSED)).strip()


@dataclass(frozen=True)
class Phrase:
    """A phrase ready to look for in folded text padded with spaces."""

    needle: str
    prefix: bool

    @classmethod
    def of(cls, text: str) -> "Phrase":
        prefix = text.endswith("*")
        return cls(needle=f" {fold(text.rstrip('*'))}" + ("" if prefix else " "), prefix=prefix)

    def found_in(self, padded: str) -> bool:
        return self.needle in padded


def phrases_found(phrases: Iterable[Phrase], folded_text: str) -> bool:
    padded = f" {folded_text} "
    return any(phrase.found_in(padded) for phrase in phrases)


# Evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseFacts:
    """What the rules look at in a response, as plain data.

    `scores` are the numeric answers by question key; `choices` the chosen option codes; `texts`
    the open answers folded (see `fold`); the thresholds are the program's loyalty classes.
    """

    response_id: int
    program_id: int
    survey_id: int
    language: str
    scores: Mapping[str, float] = field(default_factory=dict)
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)
    promoter_min: int = 9
    detractor_max: int = 6


def loyalty_class(score: float, *, promoter_min: int, detractor_max: int) -> LoyaltyClass:
    if score >= promoter_min:
        return "promoter"
    if score <= detractor_max:
        return "detractor"
    return "passive"


@dataclass(frozen=True)
class RuleSpec:
    """An alert rule as plain data, its phrases prepared once for many responses."""

    rule_id: int
    priority: str
    position: int
    program_id: int | None
    survey_id: int | None
    conditions: tuple[Condition, ...]
    _phrases: Mapping[int, Mapping[str, tuple[Phrase, ...]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def of(
        cls,
        *,
        rule_id: int,
        priority: str,
        position: int,
        program_id: int | None,
        survey_id: int | None,
        conditions: Sequence[Condition],
    ) -> "RuleSpec":
        prepared: dict[int, dict[str, tuple[Phrase, ...]]] = {}
        for index, condition in enumerate(conditions):
            if isinstance(condition, WordsCondition):
                prepared[index] = {
                    lang: tuple(Phrase.of(text) for text in texts)
                    for lang, texts in condition.phrases.items()
                }
            elif isinstance(condition, CompetitorCondition):
                prepared[index] = {"*": tuple(Phrase.of(name) for name in condition.names)}
        return cls(
            rule_id=rule_id,
            priority=priority,
            position=position,
            program_id=program_id,
            survey_id=survey_id,
            conditions=tuple(conditions),
            _phrases=prepared,
        )

    @property
    def is_non_response(self) -> bool:
        return any(isinstance(c, NonResponseCondition) for c in self.conditions)

    @property
    def order(self) -> tuple[int, int, int]:
        """Which of several matching rules wins: the most urgent, then the lowest position."""
        return (PRIORITY_RANK.get(self.priority, len(PRIORITY_RANK)), self.position, self.rule_id)

    def applies_to(self, facts: ResponseFacts) -> bool:
        return (self.program_id is None or self.program_id == facts.program_id) and (
            self.survey_id is None or self.survey_id == facts.survey_id
        )

    def matches(self, facts: ResponseFacts) -> bool:
        """Whether the response meets every condition (a non-response rule never does)."""
        if self.is_non_response or not self.applies_to(facts):
            return False
        return all(self._holds(index, c, facts) for index, c in enumerate(self.conditions))

    def _holds(self, index: int, condition: Condition, facts: ResponseFacts) -> bool:
        if isinstance(condition, LoyaltyCondition):
            score = facts.scores.get(condition.question)
            return score is not None and (
                loyalty_class(
                    score, promoter_min=facts.promoter_min, detractor_max=facts.detractor_max
                )
                in condition.classes
            )
        if isinstance(condition, ScoreCondition):
            score = facts.scores.get(condition.question)
            return (
                score is not None
                and (condition.min is None or score >= condition.min)
                and (condition.max is None or score <= condition.max)
            )
        if isinstance(condition, AnswerCondition):
            chosen = facts.choices.get(condition.question, frozenset())
            return any(option in chosen for option in condition.options)
        if isinstance(condition, WordsCondition):
            phrases = self._phrases[index].get(facts.language, ())
            return bool(phrases) and any(
                phrases_found(phrases, text) for text in _texts_of(facts, condition.question)
            )
        if isinstance(condition, CompetitorCondition):
            names = self._phrases[index]["*"]
            return any(phrases_found(names, text) for text in _texts_of(facts, condition.question))
        return False


def _texts_of(facts: ResponseFacts, question: str | None) -> Iterable[str]:
    if question is None:
        return facts.texts.values()
    text = facts.texts.get(question)
    return (text,) if text else ()


def rules_ordered(rules: Iterable[RuleSpec]) -> list[RuleSpec]:
    """The response rules in the order they win; non-response rules left out."""
    return sorted((rule for rule in rules if not rule.is_non_response), key=lambda r: r.order)


def rule_winner(ordered_rules: Sequence[RuleSpec], facts: ResponseFacts) -> RuleSpec | None:
    """The rule that opens the response's case: the first of `rules_ordered` that matches."""
    for rule in ordered_rules:
        if rule.matches(facts):
            return rule
    return None


def names_mentioned(folded_text: str, names: Mapping[int, str]) -> list[int]:
    """The ids whose full name (two words at least, folded) the folded text contains."""
    padded = f" {folded_text} "
    found: list[int] = []
    for key, name in names.items():
        folded = fold(name)
        if " " in folded and f" {folded} " in padded:
            found.append(key)
    return found
