"""`manage.py token create|revoke|list`: personal API tokens from the command line."""

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sonda.accounts.access import Scope, scope_for, scope_from_membership
from sonda.accounts.models import ApiToken, Membership, Organisation, Role, User
from sonda.accounts.selectors import api_token_list
from sonda.accounts.services import api_token_create, api_token_revoke
from sonda.core.errors import SondaError

USAGE_ERROR = 2


class Command(BaseCommand):
    help = "Create, revoke or list personal API tokens of an organisation's members."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser(
            "create", help="issue a token for a member; its secret is printed once"
        )
        create.add_argument("--organisation", required=True, metavar="SLUG")
        create.add_argument(
            "--user", required=True, metavar="EMAIL", help="the member the token acts as"
        )
        create.add_argument("--name", required=True, help="what the token is for")
        revoke = actions.add_parser("revoke", help="revoke a token by its id")
        revoke.add_argument("--organisation", required=True, metavar="SLUG")
        revoke.add_argument("--id", required=True, type=int, dest="token_id", metavar="N")
        listing = actions.add_parser("list", help="list the organisation's tokens")
        listing.add_argument("--organisation", required=True, metavar="SLUG")

    def handle(self, *args: Any, action: str, organisation: str, **options: Any) -> None:
        org = Organisation.objects.filter(slug=organisation).first()
        if org is None:
            raise CommandError(
                f"--organisation: no organisation '{organisation}'", returncode=USAGE_ERROR
            )
        try:
            if action == "create":
                self._create(org, email=options["user"], name=options["name"])
            elif action == "revoke":
                self._revoke(org, token_id=options["token_id"])
            else:
                self._list(org)
        except SondaError as exc:
            fields = "; ".join(f"--{e.field}: {e.message}" for e in exc.errors)
            raise CommandError(fields or exc.detail, returncode=USAGE_ERROR) from exc

    def _create(self, organisation: Organisation, *, email: str, name: str) -> None:
        user = User.objects.filter(email=email.strip().lower()).first()
        scope = scope_for(user, organisation) if user is not None else None
        if scope is None:
            raise CommandError(
                f"--user: {email} is not a member of '{organisation.slug}'",
                returncode=USAGE_ERROR,
            )
        issued = api_token_create(scope=scope, name=name)
        # The secret alone goes to standard output, so that `$(sonda token create ...)` is it.
        sys.stderr.write(
            f"Created API token {issued.token.pk} '{issued.token.name}' for {scope.user.email} "
            f"in {organisation.slug}. Keep the secret now: it is not shown again.\n"
        )
        self.stdout.write(issued.secret)

    def _revoke(self, organisation: Organisation, *, token_id: int) -> None:
        owner = (
            ApiToken.objects.filter(organisation=organisation, pk=token_id)
            .values_list("user", flat=True)
            .first()
        )
        if owner is None:
            raise CommandError(
                f"--id: no API token {token_id} in '{organisation.slug}'", returncode=USAGE_ERROR
            )
        scope = _revoker(organisation, owner)
        token = api_token_revoke(scope=scope, token_id=token_id)
        self.stdout.write(f"Revoked API token {token.pk} '{token.name}' ({token.prefix}…).")

    def _list(self, organisation: Organisation) -> None:
        admin = _first_admin(organisation)
        for token in api_token_list(scope=admin, everyone=True):
            state = "active" if token.is_active else "revoked" if token.revoked_at else "expired"
            self.stdout.write(
                f"{token.pk}\t{token.name}\t{token.prefix}…\t{token.user.email}\t"
                f"{token.created_at:%Y-%m-%d}\t{state}"
            )


def _first_admin(organisation: Organisation) -> Scope:
    membership = (
        Membership.objects.filter(organisation=organisation, role=Role.ADMIN)
        .select_related("user", "unit", "organisation")
        .order_by("created_at", "pk")
        .first()
    )
    if membership is None:
        raise CommandError(f"'{organisation.slug}' has no admin", returncode=USAGE_ERROR)
    return scope_from_membership(membership)


def _revoker(organisation: Organisation, owner_id: int) -> Scope:
    """The token's owner revokes it while they are a member; otherwise the first admin does."""
    membership = (
        Membership.objects.filter(organisation=organisation, user_id=owner_id)
        .select_related("user", "unit", "organisation")
        .first()
    )
    if membership is not None:
        return scope_from_membership(membership)
    return _first_admin(organisation)
