"""`manage.py customer_erase`: erase one customer's personal data, found by number or identity."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sonda.privacy.cli import (
    USAGE,
    add_customer_arguments,
    chosen_customer,
    command_errors,
    organisation_system,
)
from sonda.privacy.services import customer_erase_by_id


class Command(BaseCommand):
    help = (
        "Erase a customer's identities and profile data in every part of Sonda, keeping answers "
        "only in anonymous form. Cannot be undone: needs --yes. Audited as the organisation's "
        "system."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_customer_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"]:
            raise CommandError(
                "--yes: confirm the erasure with --yes; it cannot be undone", returncode=USAGE
            )
        system = organisation_system(options)
        customer_id = chosen_customer(system, options)
        result = command_errors(
            "--customer-id", lambda: customer_erase_by_id(scope=system, customer_id=customer_id)
        )
        rows = ", ".join(f"{source} {count}" for source, count in result.rows.items())
        self.stdout.write(f"Erased customer {result.customer_id} (rows per source: {rows}).")
