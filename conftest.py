"""Fixtures shared by every app's tests: a small organisation with a user in every role."""

from dataclasses import dataclass

import pytest

from sonda.accounts.access import Scope, scope_for
from sonda.accounts.models import Organisation, Role, User
from sonda.accounts.tests.factories import MembershipFactory, OrganisationFactory, UserFactory
from sonda.core.testing.smtp import Mailbox, smtp_server
from sonda.org.models import Person, Unit
from sonda.org.tests.factories import PersonFactory, UnitFactory, UnitTypeFactory

PASSWORD = "correct horse battery"  # noqa: S105 - test users only


@dataclass
class World:
    """One bank with two regions, a branch in each, a user per role, and a stranger organisation.

    north (region) ── north-1 (branch): manager_north manages north; frontline works in north-1
    south (region) ── south-1 (branch)
    """

    org: Organisation
    other_org: Organisation
    hq: Unit
    north: Unit
    north_branch: Unit
    south: Unit
    south_branch: Unit
    admin: User
    analyst: User
    executive: User
    manager_north: User
    manager_south: User
    frontline: User
    frontline_person: Person
    outsider: User  # admin of the other organisation

    def scope(self, user: User, org: Organisation | None = None) -> Scope:
        scope = scope_for(user, org or self.org)
        assert scope is not None
        return scope

    @property
    def users_by_role(self) -> dict[str, User]:
        return {
            "admin": self.admin,
            "analyst": self.analyst,
            "executive": self.executive,
            "manager_north": self.manager_north,
            "manager_south": self.manager_south,
            "frontline": self.frontline,
            "outsider": self.outsider,
        }


@pytest.fixture
def world(db) -> World:
    org = OrganisationFactory(name="Banca Demo", slug="banca")
    other = OrganisationFactory(name="Other Bank", slug="other")
    company = UnitTypeFactory(organisation=org, code="company", name="Company")
    region = UnitTypeFactory(organisation=org, code="region", name="Region")
    branch = UnitTypeFactory(organisation=org, code="branch", name="Branch")
    hq = UnitFactory(organisation=org, code="HQ", name="Head office", unit_type=company)
    north = UnitFactory(organisation=org, code="N", name="North", unit_type=region, parent=hq)
    north_branch = UnitFactory(
        organisation=org, code="N1", name="North 1", unit_type=branch, parent=north
    )
    south = UnitFactory(organisation=org, code="S", name="South", unit_type=region, parent=hq)
    south_branch = UnitFactory(
        organisation=org, code="S1", name="South 1", unit_type=branch, parent=south
    )

    def member(email: str, role: Role, unit: Unit | None = None, organisation=org) -> User:
        user = UserFactory(email=email)
        MembershipFactory(organisation=organisation, user=user, role=role, unit=unit)
        return user

    frontline = member("frontline@banca.example", Role.FRONTLINE)
    return World(
        org=org,
        other_org=other,
        hq=hq,
        north=north,
        north_branch=north_branch,
        south=south,
        south_branch=south_branch,
        admin=member("admin@banca.example", Role.ADMIN),
        analyst=member("analyst@banca.example", Role.ANALYST),
        executive=member("executive@banca.example", Role.EXECUTIVE),
        manager_north=member("north@banca.example", Role.MANAGER, north),
        manager_south=member("south@banca.example", Role.MANAGER, south),
        frontline=frontline,
        frontline_person=PersonFactory(
            organisation=org, unit=north_branch, user=frontline, full_name="Ana Frontline"
        ),
        outsider=member("admin@other.example", Role.ADMIN, organisation=other),
    )


@pytest.fixture
def mailbox(settings):
    """A real SMTP server on loopback; Django sends to it over SMTP."""
    with smtp_server() as (box, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        yield box


__all__ = ["PASSWORD", "Mailbox", "World"]
