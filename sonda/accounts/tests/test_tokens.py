from datetime import timedelta

import pytest
from django.utils import timezone

from sonda.accounts.models import ApiToken, AuditEvent, Membership
from sonda.accounts.services import api_token_authenticate, api_token_create, api_token_revoke
from sonda.core.errors import NotFound, ValidationFailed


def test_a_token_secret_is_shown_once_and_stored_only_as_a_hash(world):
    issued = api_token_create(scope=world.scope(world.analyst), name="CRM sync")
    stored = ApiToken.objects.get(pk=issued.token.pk)
    assert issued.secret.startswith(f"sonda_{stored.prefix}_")
    assert issued.secret not in {stored.secret_hash, stored.prefix, stored.name}
    assert len(issued.secret) >= 40
    authenticated = api_token_authenticate(issued.secret)
    assert authenticated is not None
    assert authenticated.pk == stored.pk


def test_creating_and_revoking_a_token_is_audited(world):
    scope = world.scope(world.analyst)
    issued = api_token_create(scope=scope, name="CRM sync")
    api_token_revoke(scope=scope, token_id=issued.token.pk)
    actions = list(
        AuditEvent.objects.filter(organisation=world.org, actor=world.analyst)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert actions == ["api_token.created", "api_token.revoked"]
    assert api_token_authenticate(issued.secret) is None


def test_an_expired_token_does_not_authenticate(world):
    issued = api_token_create(
        scope=world.scope(world.analyst),
        name="old",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert api_token_authenticate(issued.secret) is None


@pytest.mark.parametrize("secret", ["", "sonda_", "sonda_abcd_wrong", "Bearer x", "x" * 300])
def test_wrong_secrets_do_not_authenticate(world, secret):
    api_token_create(scope=world.scope(world.analyst), name="real")
    assert api_token_authenticate(secret) is None


def test_a_user_cannot_revoke_someone_elses_token(world):
    issued = api_token_create(scope=world.scope(world.analyst), name="CRM sync")
    with pytest.raises(NotFound):
        api_token_revoke(scope=world.scope(world.executive), token_id=issued.token.pk)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


def test_an_admin_may_revoke_any_token_in_the_organisation(world):
    issued = api_token_create(scope=world.scope(world.analyst), name="CRM sync")
    api_token_revoke(scope=world.scope(world.admin), token_id=issued.token.pk)
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None


def test_another_organisations_admin_cannot_revoke_our_tokens(world):
    issued = api_token_create(scope=world.scope(world.analyst), name="CRM sync")
    with pytest.raises(NotFound):
        api_token_revoke(
            scope=world.scope(world.outsider, world.other_org), token_id=issued.token.pk
        )
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


def test_a_token_needs_a_name(world):
    with pytest.raises(ValidationFailed) as error:
        api_token_create(scope=world.scope(world.analyst), name="  ")
    assert error.value.errors[0].field == "name"
    assert not ApiToken.objects.exists()


def test_a_token_stops_working_when_its_user_leaves_the_organisation(world):
    issued = api_token_create(scope=world.scope(world.analyst), name="CRM sync")
    Membership.objects.filter(user=world.analyst).delete()
    token = api_token_authenticate(issued.secret)
    # The token row still matches; the API resolves the membership on every call and finds none.
    assert token is not None
    assert not Membership.objects.filter(user=token.user, organisation=token.organisation).exists()
