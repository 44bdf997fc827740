"""Writes of alert rules: which responses open cases, and with what priority.

Admins and analysts write them. Every write validates the whole resulting rule, so a stored rule
is always one the evaluator can use: conditions parse (`sonda.loop.conditions`), a rule about one
survey names questions that survey asks with the right kind, and a non-response rule has a
program whose accounts it watches.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.services import audit_record
from sonda.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from sonda.loop.conditions import (
    AnswerCondition,
    CompetitorCondition,
    Condition,
    LoyaltyCondition,
    NonResponseCondition,
    ScoreCondition,
    WordsCondition,
    condition_as_json,
    conditions_parse,
)
from sonda.loop.models import AlertRule, Priority
from sonda.loop.validation import (
    KEEP,
    AskedQuestion,
    Keep,
    is_id,
    program_of,
    required_text,
    survey_of,
    survey_questions,
)
from sonda.surveys.models import CHOICE_KINDS, SCALE_KINDS, Program, QuestionKind, Survey

SCORED_KINDS = SCALE_KINDS | {"number", "yes_no"}


def _question_errors(
    conditions: Sequence[Condition], asked: Mapping[str, AskedQuestion]
) -> list[FieldError]:
    """What the conditions ask of questions the survey does not ask (or not so)."""
    errors: list[FieldError] = []
    for index, condition in enumerate(conditions):
        where = f"conditions[{index}]"
        question = getattr(condition, "question", None)
        if question is None:
            continue
        found = asked.get(question)
        if found is None:
            errors.append(FieldError(f"{where}.question", _("the survey asks no such question")))
        elif isinstance(condition, LoyaltyCondition) and found.kind != QuestionKind.NPS:
            errors.append(
                FieldError(f"{where}.question", _("loyalty classes need a 0–10 question"))
            )
        elif isinstance(condition, ScoreCondition) and found.kind not in SCORED_KINDS:
            errors.append(FieldError(f"{where}.question", _("not a question with a score")))
        elif isinstance(condition, AnswerCondition):
            if found.kind not in CHOICE_KINDS:
                errors.append(FieldError(f"{where}.question", _("not a choice question")))
            else:
                errors.extend(
                    FieldError(f"{where}.options[{n}]", _("no such option of the question"))
                    for n, code in enumerate(condition.options)
                    if code not in found.options
                )
        elif (
            isinstance(condition, (WordsCondition, CompetitorCondition))
            and found.kind != QuestionKind.TEXT
        ):
            errors.append(FieldError(f"{where}.question", _("not an open question")))
    return errors


def _validated(
    scope: Scope,
    *,
    name: object,
    program_id: object,
    survey_id: object,
    conditions: object,
    priority: object,
    position: object,
    is_active: object,
) -> dict[str, Any]:
    clean_name = required_text(name, "name", longest=200)
    survey: Survey | None = survey_of(scope, survey_id) if survey_id is not None else None
    program: Program | None = program_of(scope, program_id) if program_id is not None else None
    if survey is not None:
        if program is not None and survey.program_id != program.pk:
            raise ValidationFailed.on("survey_id", _("the survey is not one of the program's"))
        program = survey.program
    parsed = conditions_parse(conditions)
    if any(isinstance(c, NonResponseCondition) for c in parsed) and program is None:
        raise ValidationFailed.on(
            "program_id", _("a non-response rule watches the accounts of one program: choose it")
        )
    if survey is not None:
        errors = _question_errors(parsed, survey_questions(survey))
        if errors:
            raise ValidationFailed(_("Some conditions do not fit the survey."), errors=errors)
    if priority not in Priority.values:
        raise ValidationFailed.on(
            "priority", _("one of %(values)s") % {"values": ", ".join(Priority.values)}
        )
    if not is_id(position) or not 0 <= position <= 1_000_000:
        raise ValidationFailed.on("position", _("a whole number from 0 to 1,000,000"))
    if not isinstance(is_active, bool):
        raise ValidationFailed.on("is_active", _("true or false"))
    return {
        "name": clean_name,
        "program": program,
        "survey": survey,
        "conditions": [condition_as_json(c) for c in parsed],
        "priority": priority,
        "position": position,
        "is_active": is_active,
    }


def alert_rule_create(
    *,
    scope: Scope,
    name: str,
    conditions: list[dict[str, Any]],
    priority: str = Priority.NORMAL,
    program_id: int | None = None,
    survey_id: int | None = None,
    position: int = 0,
    is_active: bool = True,
) -> AlertRule:
    """A new alert rule (active unless told otherwise)."""
    scope.require(CONFIGURE, "configure alert rules")
    values = _validated(
        scope,
        name=name,
        program_id=program_id,
        survey_id=survey_id,
        conditions=conditions,
        priority=priority,
        position=position,
        is_active=is_active,
    )
    try:
        with transaction.atomic():
            rule = AlertRule.objects.create(
                organisation=scope.organisation, created_by=scope.user, **values
            )
            audit_record(
                action="loop.alert_rule_created",
                organisation=scope.organisation,
                actor=scope.user,
                target=rule,
                detail={"name": rule.name, "conditions": rule.conditions},
            )
    except IntegrityError as exc:
        raise Conflict.on("name", _("an alert rule with this name already exists")) from exc
    return rule


def alert_rule_update(
    *,
    scope: Scope,
    rule_id: int,
    name: str | Keep = KEEP,
    conditions: list[dict[str, Any]] | Keep = KEEP,
    priority: str | Keep = KEEP,
    program_id: int | Keep | None = KEEP,
    survey_id: int | Keep | None = KEEP,
    position: int | Keep = KEEP,
    is_active: bool | Keep = KEEP,
) -> AlertRule:
    """Change a rule; the whole resulting rule is validated. Cases already open stay as they are."""
    scope.require(CONFIGURE, "configure alert rules")
    try:
        with transaction.atomic():
            rule = (
                AlertRule.objects.select_for_update()
                .filter(organisation=scope.organisation, pk=rule_id)
                .first()
            )
            if rule is None:
                raise NotFound(_("No such alert rule."))
            given = {
                "name": name,
                "conditions": conditions,
                "priority": priority,
                "program_id": program_id,
                "survey_id": survey_id,
                "position": position,
                "is_active": is_active,
            }
            current = {
                "name": rule.name,
                "conditions": rule.conditions,
                "priority": rule.priority,
                "program_id": rule.program_id,
                "survey_id": rule.survey_id,
                "position": rule.position,
                "is_active": rule.is_active,
            }
            merged = {k: current[k] if v is KEEP else v for k, v in given.items()}
            if survey_id is KEEP and program_id is not KEEP and program_id is None:
                merged["survey_id"] = None  # a rule for every program is not about one survey
            values = _validated(scope, **merged)
            for field, value in values.items():
                setattr(rule, field, value)
            rule.save()
            audit_record(
                action="loop.alert_rule_updated",
                organisation=scope.organisation,
                actor=scope.user,
                target=rule,
                detail={"changed": sorted(k for k, v in given.items() if v is not KEEP)},
            )
    except IntegrityError as exc:
        raise Conflict.on("name", _("an alert rule with this name already exists")) from exc
    return rule


def alert_rule_delete(*, scope: Scope, rule_id: int) -> None:
    """Delete a rule; the cases it opened keep their history (and lose the link)."""
    scope.require(CONFIGURE, "configure alert rules")
    with transaction.atomic():
        rule = AlertRule.objects.filter(organisation=scope.organisation, pk=rule_id).first()
        if rule is None:
            raise NotFound(_("No such alert rule."))
        audit_record(
            action="loop.alert_rule_deleted",
            organisation=scope.organisation,
            actor=scope.user,
            target=rule,
            detail={"name": rule.name},
        )
        rule.delete()
