"""`manage.py report --organisation SLUG --period 2026-Q3 --out report.html [--csv table.csv]`."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sonda.analytics.report import report_build, report_write
from sonda.core.errors import SondaError
from sonda.imports.selectors import operator_scope

USAGE_ERROR = 2
OPTION_OF_FIELD = {"period": "--period", "unit": "--unit", "question": "--question"}


class Command(BaseCommand):
    help = (
        "Write a period's report as one self-contained HTML file (headline measures with n, "
        "intervals and change against the previous period, the units with below/above flags, "
        "a monthly trend), and optionally the by-unit table as CSV."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--organisation", required=True, metavar="SLUG")
        parser.add_argument(
            "--period", required=True, help="2026-Q3, 2026-09, 2026 or the ISO week 2026-W36"
        )
        parser.add_argument("--unit", default="", metavar="CODE", help="a unit and its subtree")
        parser.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
        parser.add_argument("--csv", default=None, metavar="FILE", help="also the table as CSV")
        parser.add_argument(
            "--question", default="", metavar="KEY", help="the main question (default: NPS)"
        )
        parser.add_argument(
            "--user",
            metavar="EMAIL",
            help="the member to report as (default: the organisation's first admin); a "
            "manager's report covers their subtree",
        )

    def handle(
        self,
        *,
        organisation: str,
        period: str,
        unit: str,
        out: str,
        csv: str | None,
        question: str,
        user: str | None,
        **options: Any,
    ) -> None:
        try:
            scope = operator_scope(organisation_slug=organisation, user_email=user)
            report = report_build(scope=scope, period=period, unit_code=unit, question=question)
        except SondaError as exc:
            raise CommandError(_option_message(exc), returncode=USAGE_ERROR) from exc
        try:
            report_write(report, out=Path(out), csv_out=Path(csv) if csv else None)
        except OSError as exc:
            raise CommandError(f"cannot write: {exc}", returncode=USAGE_ERROR) from exc
        self.stdout.write(f"Wrote {out}" + (f" and {csv}" if csv else "") + ".")


def _option_message(error: SondaError) -> str:
    if not error.errors:
        return error.detail
    return "; ".join(f"{OPTION_OF_FIELD.get(e.field, e.field)}: {e.message}" for e in error.errors)
