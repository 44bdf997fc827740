"""`manage.py export answers|responses --organisation SLUG --format csv|parquet --out FILE`."""

import argparse
import os
from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sonda.core.errors import SondaError
from sonda.imports.selectors import operator_scope
from sonda.surveys.exports import (
    DEFAULT_CHUNK,
    FORMATS,
    WHAT,
    export_count,
    export_csv,
    export_parquet,
)
from sonda.surveys.response_selectors import ResponseFilters, survey_in_organisation

USAGE_ERROR = 2


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date like 2026-10-31") from exc


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


class Command(BaseCommand):
    help = (
        "Export answers (one row per answered field) or responses to CSV or Parquet, streamed "
        "in chunks so that memory stays flat however many rows there are. Dates select "
        "responses completed on those days (inclusive, in the organisation's time zone). Every "
        "export is recorded in the audit log."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("what", choices=WHAT, help="answers or responses")
        parser.add_argument("--organisation", required=True, metavar="SLUG")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="file_format")
        parser.add_argument("--out", required=True, metavar="FILE", help="the file to write")
        parser.add_argument("--survey", type=int, metavar="ID", help="one survey only")
        parser.add_argument("--from", type=_day, dest="date_from", metavar="DATE")
        parser.add_argument("--to", type=_day, dest="date_to", metavar="DATE")
        parser.add_argument(
            "--user", metavar="EMAIL", help="the member to act as (default: the first admin)"
        )
        parser.add_argument(
            "--chunk-size",
            type=_positive,
            default=DEFAULT_CHUNK,
            metavar="N",
            help=f"rows read and written at a time ({DEFAULT_CHUNK})",
        )

    def handle(
        self,
        *,
        what: str,
        organisation: str,
        file_format: str,
        out: str,
        survey: int | None,
        date_from: date | None,
        date_to: date | None,
        user: str | None,
        chunk_size: int,
        **options: Any,
    ) -> None:
        if date_from and date_to and date_from > date_to:
            raise CommandError("--from: must not be after --to", returncode=USAGE_ERROR)
        try:
            scope = operator_scope(organisation_slug=organisation, user_email=user)
        except SondaError as exc:
            raise CommandError(exc.detail, returncode=USAGE_ERROR) from exc
        if survey is not None and survey_in_organisation(scope=scope, survey_id=survey) is None:
            raise CommandError(
                f"--survey: '{organisation}' has no survey {survey}", returncode=USAGE_ERROR
            )
        filters = ResponseFilters(survey_id=survey, completed_from=date_from, completed_to=date_to)
        target = Path(out)
        # Written beside the target and renamed at the end: a stopped export leaves no half file.
        partial = target.with_name(f".{target.name}.partial")
        total = export_count(scope=scope, what=what, filters=filters)
        try:
            with tqdm(total=total, unit=" rows", desc=f"Exporting {what}", disable=None) as bar:
                if file_format == "csv":
                    with partial.open("w", encoding="utf-8", newline="") as stream:
                        rows = export_csv(
                            scope=scope,
                            what=what,
                            filters=filters,
                            out=stream,
                            chunk_size=chunk_size,
                            progress=bar.update,
                        )
                else:
                    rows = export_parquet(
                        scope=scope,
                        what=what,
                        filters=filters,
                        out=partial,
                        chunk_size=chunk_size,
                        progress=bar.update,
                    )
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(
                f"--out: cannot write {out}: {exc.strerror}", returncode=USAGE_ERROR
            ) from exc
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self.stdout.write(f"Exported {rows} {what} to {out} ({file_format}).")
