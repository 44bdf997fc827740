"""The one guarded way in: a Scope says whose data a request may see.

Every selector of tenant data takes a Scope. Outside it, objects are "not found", never "forbidden",
so that their existence is not disclosed.
"""

from dataclasses import dataclass

from sonda.accounts.models import Membership, Organisation, Role, User
from sonda.core.errors import PermissionDenied

# What each role may do. Roles read as the domain describes them (see docs/architecture.md).
READ_WHOLE_ORGANISATION = frozenset({Role.ADMIN, Role.ANALYST, Role.EXECUTIVE})
CONFIGURE = frozenset({Role.ADMIN, Role.ANALYST})
ADMINISTER = frozenset({Role.ADMIN})
READ_CUSTOMERS = frozenset({Role.ADMIN, Role.ANALYST, Role.EXECUTIVE})


@dataclass(frozen=True)
class Scope:
    """The acting user in one organisation, with the role and unit subtree that bound their view."""

    organisation: Organisation
    user: User
    role: Role
    unit_path: str | None = None  # managers: the path prefix of their subtree
    membership_id: int | None = None

    @property
    def organisation_id(self) -> int:
        return self.organisation.pk

    @property
    def sees_whole_organisation(self) -> bool:
        return self.role in READ_WHOLE_ORGANISATION

    @property
    def can_configure(self) -> bool:
        return self.role in CONFIGURE

    @property
    def is_admin(self) -> bool:
        return self.role in ADMINISTER

    @property
    def can_read_customers(self) -> bool:
        return self.role in READ_CUSTOMERS

    def require(self, roles: frozenset[Role], action: str) -> None:
        """Raise PermissionDenied unless the role allows `action`."""
        if self.role not in roles:
            raise PermissionDenied(f"Your role ({self.role}) may not {action}.")


def scope_for(user: User, organisation: Organisation) -> Scope | None:
    """The user's scope in the organisation, or None when they are not a member."""
    membership = (
        Membership.objects.select_related("unit", "organisation", "user")
        .filter(user=user, organisation=organisation)
        .first()
    )
    if membership is None:
        return None
    return scope_from_membership(membership)


def scope_from_membership(membership: Membership) -> Scope:
    return Scope(
        organisation=membership.organisation,
        user=membership.user,
        role=Role(membership.role),
        unit_path=membership.unit.path if membership.unit is not None else None,
        membership_id=membership.pk,
    )
