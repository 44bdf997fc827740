"""What the customer_export and customer_erase commands share: the organisation and the customer
chosen on the command line, with errors that name the option."""

from argparse import ArgumentParser, Namespace
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.core.management.base import CommandError

from sonda.accounts.models import Organisation
from sonda.core.errors import NotFound, PermissionDenied, ValidationFailed
from sonda.privacy.actors import OrganisationSystem
from sonda.privacy.selectors import customer_holding

T = TypeVar("T")

# Usage errors exit with 2, as argparse's own do.
USAGE = 2


def add_customer_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--organisation", required=True, metavar="SLUG")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--customer-id", type=int, metavar="N", help="the customer's number")
    which.add_argument("--email", metavar="E")
    which.add_argument("--phone", metavar="P", help="in international form: +40721234567")
    which.add_argument("--external", metavar="SOURCE:ID", help="an id in a source system: crm:C-17")


def organisation_system(options: Namespace | dict[str, object]) -> OrganisationSystem:
    """The organisation named by --organisation, acting through the command line."""
    slug = str(_get(options, "organisation"))
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise CommandError(f"--organisation: no organisation '{slug}'", returncode=USAGE)
    return OrganisationSystem(organisation=organisation, via="cli")


def chosen_customer(system: OrganisationSystem, options: Namespace | dict[str, object]) -> int:
    """The number of the customer chosen by --customer-id, --email, --phone or --external."""
    customer_id = _get(options, "customer_id")
    if customer_id is not None:
        return int(str(customer_id))
    for option, kind in (("email", "email"), ("phone", "phone"), ("external", "external")):
        given = _get(options, option)
        if given is None:
            continue
        value, source = str(given), ""
        if kind == "external":
            source, _, value = value.partition(":")
            if not source or not value:
                raise CommandError(
                    "--external: write the source system and the id, e.g. crm:C-17",
                    returncode=USAGE,
                )
        return command_errors(
            f"--{option}",
            partial(customer_holding, scope=system, kind=kind, value=value, source=source),
        )
    raise CommandError(
        "choose the customer with --customer-id, --email, --phone or --external", returncode=USAGE
    )


def command_errors(option: str, action: Callable[[], T]) -> T:
    """Run `action`, turning the domain's errors into command errors naming the option."""
    try:
        return action()
    except NotFound as exc:
        raise CommandError(f"{option}: {exc.detail}", returncode=USAGE) from exc
    except (ValidationFailed, PermissionDenied) as exc:
        messages = "; ".join(e.message for e in exc.errors) or exc.detail
        raise CommandError(f"{option}: {messages}", returncode=USAGE) from exc


def _get(options: Namespace | dict[str, object], name: str) -> object:
    if isinstance(options, dict):
        return options.get(name)
    return getattr(options, name, None)
