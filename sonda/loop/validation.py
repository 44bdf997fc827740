"""Checks shared by the loop's services: each failing input is named in the API's words."""

from dataclasses import dataclass
from enum import Enum
from typing import Final, TypeGuard

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.accounts.models import Membership, User
from sonda.core.errors import ValidationFailed
from sonda.org.models import Person
from sonda.surveys.models import Program, Question, Survey


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""An update's "leave this field as it is" (None is a meaningful value for optional links)."""

Keep = _Keep


def is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def required_text(value: object, field: str, *, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.on(field, _("required"))
    if len(value.strip()) > longest:
        raise ValidationFailed.on(field, _("at most %(count)d characters") % {"count": longest})
    return value.strip()


def optional_text(value: object, field: str, *, longest: int) -> str:
    if value is None or value == "":
        return ""
    return required_text(value, field, longest=longest)


def email_address(value: object, field: str) -> str:
    text = optional_text(value, field, longest=254)
    if text:
        try:
            validate_email(text)
        except ValidationError as exc:
            raise ValidationFailed.on(field, _("not an email address")) from exc
    return text.lower()


def member_user(scope: Scope, user_id: object, field: str) -> User:
    """A user who belongs to the scope's organisation (any role), or ValidationFailed."""
    membership = (
        Membership.objects.select_related("user")
        .filter(organisation=scope.organisation, user_id=user_id, user__is_active=True)
        .first()
        if is_id(user_id)
        else None
    )
    if membership is None:
        raise ValidationFailed.on(field, _("no such member of this organisation"))
    return membership.user


def person_of(scope: Scope, person_id: object, field: str) -> Person:
    person = (
        Person.objects.filter(organisation=scope.organisation, pk=person_id).first()
        if is_id(person_id)
        else None
    )
    if person is None:
        raise ValidationFailed.on(field, _("no such person in this organisation"))
    return person


def program_of(scope: Scope, program_id: object, field: str = "program_id") -> Program:
    program = (
        Program.objects.filter(organisation=scope.organisation, pk=program_id).first()
        if is_id(program_id)
        else None
    )
    if program is None:
        raise ValidationFailed.on(field, _("no such program in this organisation"))
    return program


def survey_of(scope: Scope, survey_id: object, field: str = "survey_id") -> Survey:
    survey = (
        Survey.objects.filter(organisation=scope.organisation, pk=survey_id).first()
        if is_id(survey_id)
        else None
    )
    if survey is None:
        raise ValidationFailed.on(field, _("no such survey in this organisation"))
    return survey


@dataclass(frozen=True)
class AskedQuestion:
    """A question key as a survey asks it in any of its versions: its kind and every option."""

    kind: str
    options: frozenset[str]


def survey_questions(survey: Survey) -> dict[str, AskedQuestion]:
    """The survey's questions by key, over all its versions (the newest version's kind wins), so
    that a rule or mapping may name what old responses answered as well as the draft."""
    asked: dict[str, AskedQuestion] = {}
    rows = Question.objects.filter(version__survey=survey).order_by("version__number", "position")
    for question in rows:
        codes = {str(o.get("code", "")) for o in question.options or [] if isinstance(o, dict)}
        earlier = asked.get(question.key)
        options = frozenset(codes | (earlier.options if earlier else frozenset()))
        asked[question.key] = AskedQuestion(kind=question.kind, options=options)
    return asked
