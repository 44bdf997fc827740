"""`manage.py customer_export`: write everything held about one customer as JSON."""

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from sonda.privacy.cli import (
    USAGE,
    add_customer_arguments,
    chosen_customer,
    command_errors,
    organisation_system,
)
from sonda.privacy.services import customer_data_export


class Command(BaseCommand):
    help = (
        "Export everything the organisation holds about a customer (JSON), found by number or "
        "by any identity. Audited as the organisation's system."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_customer_arguments(parser)
        parser.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        system = organisation_system(options)
        customer_id = chosen_customer(system, options)
        out = Path(options["out"]) if options["out"] else None
        if out is not None and not out.parent.is_dir():
            raise CommandError(f"--out: no directory {out.parent}", returncode=USAGE)
        document = command_errors(
            "--customer-id",
            lambda: customer_data_export(scope=system, customer_id=customer_id),
        )
        text = json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        if out is None:
            self.stdout.write(text)
            return
        out.write_text(text + "\n", encoding="utf-8")
        self.stdout.write(f"Exported customer {document['customer_id']} to {out}.")
