"""Scoped reads for imports: jobs, and the batch look-ups that keep an import to a few queries."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from sonda.accounts.access import CONFIGURE, Scope, scope_from_membership
from sonda.accounts.models import Membership, Organisation, Role, User
from sonda.core.errors import NotFound, ValidationFailed
from sonda.customers.identities import IdentityKey
from sonda.customers.models import CustomerIdentity
from sonda.imports.csvfile import chunks
from sonda.imports.models import ImportJob


def import_job_list(*, scope: Scope) -> QuerySet[ImportJob]:
    """The organisation's import jobs, newest first (admins and analysts only)."""
    scope.require(CONFIGURE, "import data")
    return (
        ImportJob.objects.filter(organisation=scope.organisation)
        .select_related("created_by")
        .defer("content")
        .order_by("-created_at", "-id")
    )


def import_job_get(*, scope: Scope, job_id: int) -> ImportJob:
    scope.require(CONFIGURE, "import data")
    job = (
        ImportJob.objects.filter(organisation=scope.organisation, pk=job_id)
        .select_related("created_by", "survey")
        .defer("content")
        .first()
    )
    if job is None:
        raise NotFound("No such import.")
    return job


def member_users_by_email(*, scope: Scope, emails: Iterable[str]) -> dict[str, User]:
    """Users of this organisation by lower-case email, for linking people to their accounts."""
    wanted = sorted({email.lower() for email in emails})
    users: dict[str, User] = {}
    for batch in chunks(wanted):
        for membership in Membership.objects.filter(
            organisation=scope.organisation, user__email__in=batch
        ).select_related("user"):
            users[membership.user.email.lower()] = membership.user
    return users


def customer_owners_by_identity(
    *, scope: Scope, keys: Iterable[IdentityKey]
) -> dict[IdentityKey, int]:
    """The live customer id holding each known identity (merged profiles lead to the survivor)."""
    by_kind: dict[tuple[str, str], set[str]] = {}
    for key in keys:
        by_kind.setdefault((key.kind, key.source), set()).add(key.value)
    owners: dict[IdentityKey, int] = {}
    for (kind, source), values in by_kind.items():
        for batch in chunks(sorted(values)):
            rows = (
                CustomerIdentity.objects.filter(
                    Q(kind=kind, source=source, value__in=batch), organisation=scope.organisation
                )
                .order_by()
                .values_list("value", "customer_id", "customer__merged_into_id")
            )
            for value, customer_id, merged_into_id in rows:
                owners[IdentityKey(kind, source, value)] = merged_into_id or customer_id
    return owners


def operator_scope(*, organisation_slug: str, user_email: str | None = None) -> Scope:
    """Whom a command-line import acts as: the given member, else the organisation's first admin.

    Whoever runs the `sonda` command already holds the installation; acting through a member keeps
    every write going through the same role checks as the pages and the API.
    """
    organisation = Organisation.objects.filter(slug=organisation_slug).first()
    if organisation is None:
        raise ValidationFailed.on("--organisation", f"no organisation '{organisation_slug}'")
    memberships = Membership.objects.filter(organisation=organisation).select_related(
        "user", "unit", "organisation"
    )
    if user_email:
        membership = memberships.filter(user__email=user_email.strip().lower()).first()
        if membership is None:
            raise ValidationFailed.on(
                "--user", f"{user_email} is not a member of '{organisation_slug}'"
            )
    else:
        membership = memberships.filter(role=Role.ADMIN).order_by("created_at", "pk").first()
        if membership is None:
            raise ValidationFailed.on(
                "--user", f"'{organisation_slug}' has no admin; name a member with --user"
            )
    return scope_from_membership(membership)
