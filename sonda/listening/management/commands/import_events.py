"""`manage.py import_events FILE --organisation SLUG [--format csv|ndjson|parquet] [--user EMAIL]`.

Events from a file, through the same checks and storage as the API, in chunks of 2,000: each
chunk is stored (and its new events decided) in its own transaction, so a large file streams and
an interrupted import can simply be run again: what was stored is recognised as duplicates.
"""

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sonda.accounts.access import Scope
from sonda.core.errors import SondaError
from sonda.imports.selectors import operator_scope
from sonda.listening.event_files import FORMATS, FileProblem, Record, column_of, format_of, records
from sonda.listening.ingest import CHUNK, IngestResult, events_ingest

USAGE_ERROR = 2
ROWS_INVALID = 1


class Command(BaseCommand):
    help = (
        "Import interaction events from a CSV, NDJSON or Parquet file. CSV and Parquet columns: "
        "type, occurred_at, email, phone, external_source, external_id, customer_id, unit_id, "
        "unit_code, employee_email, channel, touchpoint, journey, stage, idempotency_key, source, "
        "source_id and attr.<name> for attributes; NDJSON lines are the API's event objects. "
        "Events already stored (same idempotency key, source id or content) are skipped, and new "
        "events go through the trigger rules."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the events file")
        parser.add_argument(
            "--organisation", required=True, metavar="SLUG", help="the organisation"
        )
        parser.add_argument(
            "--format",
            dest="file_format",
            choices=FORMATS,
            help="the file's format (default: from its extension)",
        )
        parser.add_argument(
            "--user",
            metavar="EMAIL",
            help="the admin or analyst to act as (default: the organisation's first admin)",
        )

    def handle(
        self,
        *,
        file: str,
        organisation: str,
        file_format: str | None,
        user: str | None,
        **options: Any,
    ) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"FILE: no file at {path}", returncode=USAGE_ERROR)
        try:
            chosen = format_of(path, file_format)
        except FileProblem as exc:
            raise CommandError(f"--format: {exc}", returncode=USAGE_ERROR) from exc
        try:
            scope = operator_scope(organisation_slug=organisation, user_email=user)
        except SondaError as exc:
            message = "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.detail
            raise CommandError(message, returncode=USAGE_ERROR) from exc
        if not scope.can_configure:
            raise CommandError(
                f"--user: {scope.user.email} is {scope.role}; an admin or analyst sends events",
                returncode=USAGE_ERROR,
            )
        try:
            totals = self._import(scope, records(path, chosen), chosen)
        except FileProblem as exc:
            raise CommandError(f"{path}: {exc}", returncode=USAGE_ERROR) from exc
        self.stdout.write(
            f"{path.name}: {totals.created} created, {totals.duplicates} duplicates, "
            f"{totals.invalid} invalid, {totals.invitations} invitations"
        )
        if totals.invalid:
            raise CommandError(
                f"{totals.invalid} rows were not imported (see above)", returncode=ROWS_INVALID
            )

    def _import(self, scope: Scope, stream: Any, file_format: str) -> "Totals":
        totals = Totals()
        chunk: list[Record] = []
        with tqdm(unit=" events", desc="Importing events", disable=None, file=sys.stderr) as bar:
            for record in stream:
                chunk.append(record)
                if len(chunk) == CHUNK:
                    self._chunk(scope, chunk, file_format, totals)
                    bar.update(len(chunk))
                    chunk = []
            if chunk:
                self._chunk(scope, chunk, file_format, totals)
                bar.update(len(chunk))
        return totals

    def _chunk(self, scope: Scope, chunk: list[Record], file_format: str, totals: "Totals") -> None:
        result = events_ingest(scope=scope, items=[r.item for r in chunk], max_items=None)
        totals.add(result)
        for error in result.errors:
            row = chunk[error.index].row
            column = column_of(error.field, file_format)
            self.stderr.write(f"row {row}, column {column}: {error.message}")


class Totals:
    def __init__(self) -> None:
        self.created = self.duplicates = self.invalid = self.invitations = 0

    def add(self, result: IngestResult) -> None:
        self.created += result.created
        self.duplicates += result.duplicates
        self.invalid += result.invalid
        self.invitations += result.invitations
