import pytest

from sonda.accounts.models import AuditEvent, Membership, Role
from sonda.accounts.services import membership_remove, membership_set
from sonda.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


def test_changing_a_role_is_audited_with_the_previous_role(world):
    membership_set(
        organisation=world.org, user=world.analyst, role=Role.EXECUTIVE, actor=world.admin
    )
    event = AuditEvent.objects.get(action="membership.role_changed")
    assert event.actor == world.admin
    assert event.detail["previous_role"] == "analyst"
    assert event.detail["role"] == "executive"
    assert Membership.objects.get(user=world.analyst).role == Role.EXECUTIVE


def test_a_manager_needs_a_unit(world):
    with pytest.raises(ValidationFailed) as error:
        membership_set(organisation=world.org, user=world.analyst, role=Role.MANAGER)
    assert error.value.errors[0].field == "unit"
    assert Membership.objects.get(user=world.analyst).role == Role.ANALYST


def test_a_manager_cannot_be_given_another_organisations_unit(world):
    with pytest.raises(ValidationFailed):
        membership_set(
            organisation=world.other_org, user=world.outsider, role=Role.MANAGER, unit=world.north
        )
    assert Membership.objects.get(user=world.outsider).role == Role.ADMIN


def test_a_user_in_two_organisations_has_a_role_in_each(world):
    membership_set(organisation=world.other_org, user=world.analyst, role=Role.EXECUTIVE)
    roles = dict(
        Membership.objects.filter(user=world.analyst).values_list("organisation__slug", "role")
    )
    assert roles == {"banca": "analyst", "other": "executive"}


def test_an_admin_removes_a_member_but_not_themselves(world):
    scope = world.scope(world.admin)
    membership = Membership.objects.get(user=world.executive)
    membership_remove(scope=scope, membership_id=membership.pk)
    assert not Membership.objects.filter(user=world.executive).exists()
    assert AuditEvent.objects.filter(action="membership.removed").count() == 1
    own = Membership.objects.get(user=world.admin)
    with pytest.raises(Conflict):
        membership_remove(scope=scope, membership_id=own.pk)


def test_removing_another_organisations_member_is_not_found(world):
    theirs = Membership.objects.get(user=world.outsider)
    with pytest.raises(NotFound):
        membership_remove(scope=world.scope(world.admin), membership_id=theirs.pk)
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_only_admins_remove_members(world):
    membership = Membership.objects.get(user=world.executive)
    with pytest.raises(PermissionDenied):
        membership_remove(scope=world.scope(world.analyst), membership_id=membership.pk)
    assert Membership.objects.filter(pk=membership.pk).exists()
