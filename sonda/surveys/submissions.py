"""Whole responses from IVR, kiosks, apps and partners: the context resolved, stored once.

The context arrives in the integrator's words (a customer identity, a unit code, an employee
number) and is resolved here; the answers are stored by `sonda.surveys.responses.response_submit`,
so they obey the same rules as the survey pages. A repeated external id answers the stored
response and writes nothing; an invalid submission writes nothing at all, not even the customer
profile its identity would have created.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import Conflict, ValidationFailed
from sonda.customers.identities import IdentityKey
from sonda.customers.models import Customer
from sonda.customers.services import customer_resolve
from sonda.org.models import Person, Unit
from sonda.surveys.models import Response, ResponseSource, Survey, VersionStatus
from sonda.surveys.response_selectors import survey_in_organisation
from sonda.surveys.responses import ResponseContext, response_submit

# A device's clock may run a little ahead of ours; a response from further in the future is a bug.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class SubmittedContext:
    """The context as an integrator names it; each pair is "one or the other, or neither"."""

    customer_identity: IdentityKey | None = None
    customer_id: int | None = None
    unit_id: int | None = None
    unit_code: str = ""
    employee_id: int | None = None
    employee_number: str = ""
    touchpoint: str = ""
    channel: str = ""
    journey: str = ""
    stage: str = ""
    language: str = ""


def response_receive(
    *,
    scope: Scope,
    survey_id: int,
    answers: Mapping[str, Any],
    context: SubmittedContext,
    external_id: str = "",
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
) -> tuple[Response, bool]:
    """Store a whole, complete response: (response, created). Admins and analysts only.

    Errors name the submitted field: `survey_id`, `unit_code`, `answers.ltr`...
    """
    scope.require(CONFIGURE, "submit responses")
    survey = survey_in_organisation(scope=scope, survey_id=survey_id)
    if survey is None:
        raise ValidationFailed.on("survey_id", f"no survey with id {survey_id}")
    if external_id:
        existing = (
            Response.objects.filter(
                organisation=scope.organisation, survey=survey, external_id=external_id
            )
            # Spelt like the unique index's condition, so that SQLite may search that index.
            .exclude(external_id="")
            .first()
        )
        if existing is not None:
            return existing, False
    if not survey.versions.filter(status=VersionStatus.PUBLISHED).exists():
        raise Conflict.on("survey_id", "the survey has no published version to answer")
    _check_times(started_at, completed_at)
    unit = _unit(scope, context)
    employee = _employee(scope, context)
    if unit is None and employee is not None:
        # A response about an employee's work counts for the unit they work in.
        unit = employee.unit
    with transaction.atomic():
        customer = _customer(scope, context)
        language = _language(survey, context.language, customer)
        return response_submit(
            survey=survey,
            context=ResponseContext(
                language=language,
                customer_id=customer.pk if customer else None,
                unit_id=unit.pk if unit else None,
                employee_id=employee.pk if employee else None,
                touchpoint=context.touchpoint,
                channel=context.channel,
                journey=context.journey,
                stage=context.stage,
            ),
            answers=answers,
            external_id=external_id,
            started_at=started_at,
            completed_at=completed_at,
            source=ResponseSource.API,
        )


def _check_times(started_at: datetime | None, completed_at: datetime | None) -> None:
    latest = timezone.now() + CLOCK_SKEW
    if completed_at is not None and completed_at > latest:
        raise ValidationFailed.on("completed_at", "is in the future")
    if started_at is not None and started_at > latest:
        raise ValidationFailed.on("started_at", "is in the future")
    if started_at is not None and completed_at is not None and started_at > completed_at:
        raise ValidationFailed.on("started_at", "is after completed_at")


def _one_of(first: str, second: str, given: tuple[object, object]) -> None:
    if given[0] not in (None, "") and given[1] not in (None, ""):
        raise ValidationFailed.on(second, f"give {first} or {second}, not both")


def _unit(scope: Scope, context: SubmittedContext) -> Unit | None:
    _one_of("unit_id", "unit_code", (context.unit_id, context.unit_code))
    units = Unit.objects.filter(organisation=scope.organisation)
    if context.unit_id is not None:
        unit = units.filter(pk=context.unit_id).first()
        if unit is None:
            raise ValidationFailed.on("unit_id", f"no unit with id {context.unit_id}")
        return unit
    if context.unit_code:
        unit = units.filter(code=context.unit_code).first()
        if unit is None:
            raise ValidationFailed.on("unit_code", f"no unit with code {context.unit_code}")
        return unit
    return None


def _employee(scope: Scope, context: SubmittedContext) -> Person | None:
    _one_of("employee_id", "employee_number", (context.employee_id, context.employee_number))
    people = Person.objects.filter(organisation=scope.organisation).select_related("unit")
    if context.employee_id is not None:
        person = people.filter(pk=context.employee_id).first()
        if person is None:
            raise ValidationFailed.on("employee_id", f"no employee with id {context.employee_id}")
        return person
    if context.employee_number:
        person = people.filter(employee_number=context.employee_number).first()
        if person is None:
            raise ValidationFailed.on(
                "employee_number", f"no employee with number {context.employee_number}"
            )
        return person
    return None


def _customer(scope: Scope, context: SubmittedContext) -> Customer | None:
    """The customer the response is from; a new identity creates a profile (undone on error)."""
    _one_of("customer", "customer_id", (context.customer_identity, context.customer_id))
    if context.customer_identity is not None:
        resolved, _ = customer_resolve(
            organisation=scope.organisation, identity=context.customer_identity
        )
        return resolved
    if context.customer_id is None:
        return None
    customer = (
        Customer.objects.filter(
            organisation=scope.organisation, pk=context.customer_id, erased_at__isnull=True
        )
        .select_related("merged_into")
        .first()
    )
    if customer is None:
        raise ValidationFailed.on("customer_id", f"no customer with id {context.customer_id}")
    # A merged profile's responses belong to the profile it was merged into.
    return customer.merged_into or customer


def _language(survey: Survey, language: str, customer: Customer | None) -> str:
    """The given language, else the customer's own if the survey has it, else the survey's."""
    if language:
        if language not in survey.languages:
            raise ValidationFailed.on(
                "language", f"'{language}' is not a language of the survey {survey.languages}"
            )
        return language
    if customer is not None and customer.preferred_language in survey.languages:
        return customer.preferred_language
    return survey.default_language
