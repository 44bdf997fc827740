"""Invitations asked for by a member or an integrator: the scoped write and the scoped read.

`invitation_issue` checks everything the caller names against their organisation (survey, customer,
unit, employee) before anything is written, so a bad request leaves no customer profile behind;
`invitation_create` then makes the link. Trigger rules and the contact policy build on these later.
"""

from datetime import timedelta

from django.db import transaction

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import NotFound, ValidationFailed
from sonda.customers.identities import IdentityKey
from sonda.customers.models import Customer
from sonda.customers.selectors import customer_get
from sonda.customers.services import customer_find_or_create
from sonda.listening.models import Invitation
from sonda.listening.services import DEFAULT_VALIDITY, invitation_create
from sonda.org.selectors import person_list, unit_list
from sonda.surveys.models import Survey

MAX_VALIDITY = timedelta(days=90)


def _customer(scope: Scope, customer_id: int) -> Customer:
    """The live profile behind `customer_id`, following merges to the one that stands for it."""
    try:
        customer = customer_get(scope=scope, customer_id=customer_id)
        for _hop in range(10):
            if customer.merged_into_id is None:
                return customer
            customer = customer_get(scope=scope, customer_id=customer.merged_into_id)
    except NotFound:
        pass
    raise ValidationFailed.on("customer_id", f"no customer with id {customer_id}")


def invitation_issue(
    *,
    scope: Scope,
    survey_id: int,
    customer_id: int | None = None,
    identity: IdentityKey | None = None,
    language: str = "",
    unit_id: int | None = None,
    employee_id: int | None = None,
    touchpoint: str = "",
    channel: str = "",
    journey: str = "",
    stage: str = "",
    external_ref: str = "",
    valid_for: timedelta = DEFAULT_VALIDITY,
) -> tuple[Invitation, bool]:
    """An invitation of a customer (by id, or by an identity, creating the profile if it is new)
    to a published survey: (invitation, created).

    With `external_ref`, asking again for the same survey and reference answers the invitation
    made the first time, so that an integrator's retry sends no second invitation.
    """
    scope.require(CONFIGURE, "invite customers")
    if customer_id is not None and identity is not None:
        raise ValidationFailed.on("customer", "give customer_id or customer, not both")
    if customer_id is None and identity is None:
        raise ValidationFailed.on("customer", "give customer_id or customer (an identity)")
    if not timedelta(hours=1) <= valid_for <= MAX_VALIDITY:
        raise ValidationFailed.on("valid_for", "from an hour to 90 days")
    with transaction.atomic():
        surveys = Survey.objects.filter(organisation=scope.organisation, pk=survey_id)
        if external_ref:
            # The survey's row lock orders two retries of one reference: the second finds the first.
            surveys = surveys.select_for_update()
        survey = surveys.first()
        if survey is None:
            raise ValidationFailed.on("survey_id", f"no survey with id {survey_id}")
        if survey.is_archived:
            raise ValidationFailed.on("survey_id", "the survey is archived")
        if external_ref:
            existing = Invitation.objects.filter(
                organisation=scope.organisation, survey=survey, external_ref=external_ref
            ).first()
            if existing is not None:
                return existing, False
        if unit_id is not None and not unit_list(scope=scope).filter(pk=unit_id).exists():
            raise ValidationFailed.on("unit_id", f"no unit with id {unit_id}")
        if employee_id is not None and not person_list(scope=scope).filter(pk=employee_id).exists():
            raise ValidationFailed.on("employee_id", f"no person with id {employee_id}")
        if customer_id is not None:
            customer = _customer(scope, customer_id)
        else:
            assert identity is not None
            customer, _created = customer_find_or_create(scope=scope, identity=identity)
        invitation = invitation_create(
            organisation=scope.organisation,
            survey=survey,
            customer_id=customer.pk,
            language=language,
            unit_id=unit_id,
            employee_id=employee_id,
            touchpoint=touchpoint,
            channel=channel,
            journey=journey,
            stage=stage,
            external_ref=external_ref,
            valid_for=valid_for,
        )
    return invitation, True


def invitation_get(*, scope: Scope, invitation_id: int) -> Invitation:
    """One invitation of the organisation; they are read by those who may invite."""
    scope.require(CONFIGURE, "read invitations")
    invitation = Invitation.objects.filter(
        organisation=scope.organisation, pk=invitation_id
    ).first()
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation
