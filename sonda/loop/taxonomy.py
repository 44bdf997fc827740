"""Writes of the problem taxonomy: HQ functions, problems and the survey options mapped to them.

Admins and analysts maintain the taxonomy. A problem carries a label in the organisation's
language and in every language its surveys speak, so that a manager coding a case and a pain map
in Polish both read it; its parent may not be itself or one of its own sub-problems.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.services import audit_record
from sonda.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from sonda.loop.models import Function, Problem, ProblemMapping
from sonda.loop.validation import (
    KEEP,
    Keep,
    email_address,
    is_id,
    member_user,
    optional_text,
    person_of,
    required_text,
    survey_of,
    survey_questions,
)
from sonda.surveys.definition import CODE_RE, KEY_RE, SURVEY_LANGUAGES
from sonda.surveys.models import CHOICE_KINDS, Survey

PROBLEM_CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_DEPTH = 8
MAX_LABEL = 200


def _audit(scope: Scope, action: str, target: Any, detail: dict[str, Any]) -> None:
    audit_record(
        action=action,
        organisation=scope.organisation,
        actor=scope.user,
        target=target,
        detail=detail,
    )


# Functions ---------------------------------------------------------------------------------------


def _members(scope: Scope, member_ids: object) -> list[int]:
    if not isinstance(member_ids, (list, tuple)):
        raise ValidationFailed.on("member_ids", _("a list of user ids"))
    found: list[int] = []
    for index, user_id in enumerate(member_ids):
        user = member_user(scope, user_id, f"member_ids[{index}]")
        if user.pk not in found:
            found.append(user.pk)
    return found


def function_create(
    *,
    scope: Scope,
    name: str,
    description: str = "",
    email: str = "",
    lead_id: int | None = None,
    member_ids: Sequence[int] = (),
) -> Function:
    """A new HQ function, with the users who work its cases."""
    scope.require(CONFIGURE, "configure the problem taxonomy")
    clean_name = required_text(name, "name", longest=200)
    clean_description = optional_text(description, "description", longest=2000)
    clean_email = email_address(email, "email")
    lead = person_of(scope, lead_id, "lead_id") if lead_id is not None else None
    members = _members(scope, member_ids)
    try:
        with transaction.atomic():
            function = Function.objects.create(
                organisation=scope.organisation,
                name=clean_name,
                description=clean_description,
                email=clean_email,
                lead=lead,
            )
            function.members.set(members)
            _audit(scope, "loop.function_created", function, {"name": clean_name})
    except IntegrityError as exc:
        raise Conflict.on("name", _("a function with this name already exists")) from exc
    return function


def function_update(
    *,
    scope: Scope,
    function_id: int,
    name: str | Keep = KEEP,
    description: str | Keep = KEEP,
    email: str | Keep = KEEP,
    lead_id: int | Keep | None = KEEP,
    member_ids: Sequence[int] | Keep = KEEP,
    is_active: bool | Keep = KEEP,
) -> Function:
    """Change a function; fields left as KEEP stay as they are."""
    scope.require(CONFIGURE, "configure the problem taxonomy")
    try:
        with transaction.atomic():
            function = (
                Function.objects.select_for_update()
                .filter(organisation=scope.organisation, pk=function_id)
                .first()
            )
            if function is None:
                raise NotFound(_("No such function."))
            changed: list[str] = []
            if name is not KEEP:
                function.name = required_text(name, "name", longest=200)
                changed.append("name")
            if description is not KEEP:
                function.description = optional_text(description, "description", longest=2000)
                changed.append("description")
            if email is not KEEP:
                function.email = email_address(email, "email")
                changed.append("email")
            if lead_id is not KEEP:
                function.lead = (
                    person_of(scope, lead_id, "lead_id") if lead_id is not None else None
                )
                changed.append("lead")
            if is_active is not KEEP:
                if not isinstance(is_active, bool):
                    raise ValidationFailed.on("is_active", _("true or false"))
                function.is_active = is_active
                changed.append("is_active")
            function.save(update_fields=[*changed, "updated_at"])
            if member_ids is not KEEP:
                function.members.set(_members(scope, member_ids))
                changed.append("members")
            _audit(scope, "loop.function_updated", function, {"changed": changed})
    except IntegrityError as exc:
        raise Conflict.on("name", _("a function with this name already exists")) from exc
    return function


def _function_of(scope: Scope, function_id: object, field: str) -> Function:
    function = (
        Function.objects.filter(organisation=scope.organisation, pk=function_id).first()
        if is_id(function_id)
        else None
    )
    if function is None:
        raise ValidationFailed.on(field, _("no such function in this organisation"))
    return function


# Problems ----------------------------------------------------------------------------------------


def taxonomy_languages(scope: Scope) -> list[str]:
    """The languages every problem needs a label in: the organisation's and its surveys'."""
    languages = [scope.organisation.default_language]
    for survey_languages in Survey.objects.filter(
        organisation=scope.organisation, is_archived=False
    ).values_list("languages", flat=True):
        for language in survey_languages or []:
            if language not in languages:
                languages.append(language)
    return languages


def _labels(labels: object, required: Iterable[str]) -> dict[str, str]:
    if not isinstance(labels, Mapping):
        raise ValidationFailed.on("labels", _('labels per language, e.g. {"en": "Waiting time"}'))
    errors: list[FieldError] = []
    clean: dict[str, str] = {}
    for language, label in labels.items():
        where = f"labels.{language}"
        if language not in SURVEY_LANGUAGES:
            errors.append(FieldError(where, _("not a survey language")))
        elif not isinstance(label, str) or not label.strip():
            errors.append(FieldError(where, _("a label is required")))
        elif len(label.strip()) > MAX_LABEL:
            errors.append(FieldError(where, _("at most %(count)d characters") % {"count": 200}))
        else:
            clean[language] = label.strip()
    for language in required:
        if language not in labels:
            errors.append(
                FieldError(f"labels.{language}", _("a label is required in every survey language"))
            )
    if errors:
        raise ValidationFailed(_("Some labels are missing or not valid."), errors=errors)
    return clean


def _code(code: object) -> str:
    if not isinstance(code, str) or not PROBLEM_CODE_RE.match(code):
        raise ValidationFailed.on(
            "code", _("lower-case letters, digits, '.', '_' and '-', up to 64 characters")
        )
    return code


def _parent_of(scope: Scope, parent_id: object) -> Problem:
    parent = (
        Problem.objects.filter(organisation=scope.organisation, pk=parent_id).first()
        if is_id(parent_id)
        else None
    )
    if parent is None:
        raise ValidationFailed.on("parent_id", _("no such problem in this organisation"))
    if parent.depth + 1 >= MAX_DEPTH:
        raise ValidationFailed.on(
            "parent_id", _("the taxonomy is at most %(count)d levels deep") % {"count": MAX_DEPTH}
        )
    return parent


def problem_create(
    *,
    scope: Scope,
    code: str,
    labels: Mapping[str, str],
    parent_id: int | None = None,
    owner_function_id: int | None = None,
    frontline_fixable: bool = False,
    position: int = 0,
) -> Problem:
    """A new problem of the taxonomy, under `parent_id` or at the top."""
    scope.require(CONFIGURE, "configure the problem taxonomy")
    clean_code = _code(code)
    clean_labels = _labels(labels, taxonomy_languages(scope))
    parent = _parent_of(scope, parent_id) if parent_id is not None else None
    function = (
        _function_of(scope, owner_function_id, "owner_function_id")
        if owner_function_id is not None
        else None
    )
    if not isinstance(frontline_fixable, bool):
        raise ValidationFailed.on("frontline_fixable", _("true or false"))
    if not is_id(position) or position < 0:
        raise ValidationFailed.on("position", _("a whole number from 0"))
    try:
        with transaction.atomic():
            problem = Problem.objects.create(
                organisation=scope.organisation,
                code=clean_code,
                labels=clean_labels,
                parent=parent,
                path="",
                depth=parent.depth + 1 if parent else 0,
                position=position,
                owner_function=function,
                frontline_fixable=frontline_fixable,
            )
            problem.path = f"{parent.path if parent else ''}{problem.pk}."
            problem.save(update_fields=["path"])
            _audit(scope, "loop.problem_created", problem, {"code": clean_code})
    except IntegrityError as exc:
        raise Conflict.on("code", _("a problem with this code already exists")) from exc
    return problem


def problem_update(
    *,
    scope: Scope,
    problem_id: int,
    code: str | Keep = KEEP,
    labels: Mapping[str, str] | Keep = KEEP,
    parent_id: int | Keep | None = KEEP,
    owner_function_id: int | Keep | None = KEEP,
    frontline_fixable: bool | Keep = KEEP,
    is_active: bool | Keep = KEEP,
    position: int | Keep = KEEP,
) -> Problem:
    """Change a problem; moving it (`parent_id`) moves its sub-problems with it."""
    scope.require(CONFIGURE, "configure the problem taxonomy")
    try:
        with transaction.atomic():
            problem = (
                Problem.objects.select_for_update()
                .filter(organisation=scope.organisation, pk=problem_id)
                .first()
            )
            if problem is None:
                raise NotFound(_("No such problem."))
            changed: list[str] = []
            if code is not KEEP:
                problem.code = _code(code)
                changed.append("code")
            if labels is not KEEP:
                problem.labels = _labels(labels, taxonomy_languages(scope))
                changed.append("labels")
            if owner_function_id is not KEEP:
                problem.owner_function = (
                    _function_of(scope, owner_function_id, "owner_function_id")
                    if owner_function_id is not None
                    else None
                )
                changed.append("owner_function")
            for name, value in (("frontline_fixable", frontline_fixable), ("is_active", is_active)):
                if value is not KEEP:
                    if not isinstance(value, bool):
                        raise ValidationFailed.on(name, _("true or false"))
                    setattr(problem, name, value)
                    changed.append(name)
            if position is not KEEP:
                if not is_id(position) or position < 0:
                    raise ValidationFailed.on("position", _("a whole number from 0"))
                problem.position = position
                changed.append("position")
            if parent_id is not KEEP:
                _problem_move(scope, problem, parent_id)
                changed.append("parent")
            problem.save(update_fields=[c for c in changed if c != "parent"] + ["updated_at"])
            _audit(scope, "loop.problem_updated", problem, {"changed": changed})
    except IntegrityError as exc:
        raise Conflict.on("code", _("a problem with this code already exists")) from exc
    problem.refresh_from_db()
    return problem


def _problem_move(scope: Scope, problem: Problem, parent_id: int | None) -> None:
    """Re-root the problem's branch under `parent_id` (None: the top), refusing cycles."""
    parent = _parent_of(scope, parent_id) if parent_id is not None else None
    if parent is not None and parent.path.startswith(problem.path):
        raise ValidationFailed.on(
            "parent_id", _("a problem cannot move under itself or one of its sub-problems")
        )
    old_path, old_depth = problem.path, problem.depth
    new_path = f"{parent.path if parent else ''}{problem.pk}."
    new_depth = parent.depth + 1 if parent else 0
    deepest = (
        Problem.objects.filter(organisation=scope.organisation, path__startswith=old_path)
        .order_by("-depth")
        .values_list("depth", flat=True)
        .first()
    )
    if deepest is not None and deepest - old_depth + new_depth >= MAX_DEPTH:
        raise ValidationFailed.on(
            "parent_id", _("the taxonomy is at most %(count)d levels deep") % {"count": MAX_DEPTH}
        )
    # The branch keeps its shape below the problem; only the prefix of its paths changes.
    Problem.objects.filter(organisation=scope.organisation, path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + (new_depth - old_depth),
    )
    Problem.objects.filter(pk=problem.pk).update(parent=parent)
    problem.parent = parent
    problem.path = new_path
    problem.depth = new_depth


# Mapping survey options to problems --------------------------------------------------------------


def problem_mapping_set(
    *,
    scope: Scope,
    question_key: str,
    option_code: str,
    problem_id: int,
    survey_id: int | None = None,
) -> ProblemMapping:
    """Map a choice option to a problem (or change what it maps to): one mapping per option.

    With a survey, the question must be one of its choice questions with that option, and the
    problem must be labelled in every language of the survey.
    """
    scope.require(CONFIGURE, "configure the problem taxonomy")
    if not isinstance(question_key, str) or not KEY_RE.match(question_key):
        raise ValidationFailed.on("question_key", _("a question key"))
    if not isinstance(option_code, str) or not CODE_RE.match(option_code):
        raise ValidationFailed.on("option_code", _("an option code"))
    problem = (
        Problem.objects.filter(organisation=scope.organisation, pk=problem_id).first()
        if is_id(problem_id)
        else None
    )
    if problem is None:
        raise ValidationFailed.on("problem_id", _("no such problem in this organisation"))
    survey = survey_of(scope, survey_id) if survey_id is not None else None
    languages = list(survey.languages) if survey else taxonomy_languages(scope)
    missing = [language for language in languages if not problem.labels.get(language)]
    if missing:
        raise ValidationFailed.on(
            "problem_id",
            _("the problem has no label in %(languages)s") % {"languages": ", ".join(missing)},
        )
    if survey is not None:
        asked = survey_questions(survey).get(question_key)
        if asked is None or asked.kind not in CHOICE_KINDS:
            raise ValidationFailed.on("question_key", _("no such choice question in the survey"))
        if option_code not in asked.options:
            raise ValidationFailed.on("option_code", _("no such option of the question"))
    with transaction.atomic():
        mapping, created = ProblemMapping.objects.update_or_create(
            organisation=scope.organisation,
            survey=survey,
            question_key=question_key,
            option_code=option_code,
            defaults={"problem": problem},
        )
        _audit(
            scope,
            "loop.problem_mapped",
            mapping,
            {
                "survey_id": survey_id,
                "question_key": question_key,
                "option_code": option_code,
                "problem": problem.code,
                "created": created,
            },
        )
    return mapping


def problem_mapping_delete(*, scope: Scope, mapping_id: int) -> None:
    scope.require(CONFIGURE, "configure the problem taxonomy")
    with transaction.atomic():
        mapping = ProblemMapping.objects.filter(
            organisation=scope.organisation, pk=mapping_id
        ).first()
        if mapping is None:
            raise NotFound(_("No such mapping."))
        _audit(
            scope,
            "loop.problem_unmapped",
            mapping,
            {"question_key": mapping.question_key, "option_code": mapping.option_code},
        )
        mapping.delete()
