"""`manage.py import_csv units|people|customers|responses FILE --organisation SLUG`.

Every row or none; responses also take `--survey ID --mapping M.json` and may `--skip-invalid`.
"""

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sonda.core.errors import RowErrors, SondaError
from sonda.imports.jobs import import_file
from sonda.imports.models import ImportKind
from sonda.imports.selectors import operator_scope

USAGE_ERROR = 2
OPTION_OF_FIELD = {
    "region": "--region",
    "kind": "KIND",
    "file": "FILE",
    "survey": "--survey",
    "mapping": "--mapping",
}


class Command(BaseCommand):
    help = (
        "Import units, people or customers from a CSV file with a header row. Every row is checked "
        "first: if any is wrong, nothing is written and each problem is listed by row and column. "
        "Importing the same file again updates in place."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("kind", choices=ImportKind.values, help="what the file holds")
        parser.add_argument("file", help="the CSV file (UTF-8); - reads standard input")
        parser.add_argument(
            "--organisation", required=True, metavar="SLUG", help="the organisation to import into"
        )
        parser.add_argument(
            "--user",
            metavar="EMAIL",
            help="the admin or analyst to act as (default: the organisation's first admin)",
        )
        parser.add_argument(
            "--region",
            metavar="CC",
            help="customers: country of phone numbers written without +code (default RO)",
        )
        parser.add_argument(
            "--survey", type=int, metavar="ID", help="responses: the survey they answer"
        )
        parser.add_argument(
            "--mapping",
            metavar="M.json",
            help="responses: the JSON mapping of the file's columns (docs/response-import.md)",
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="responses: import the valid rows and report the invalid ones",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count, but write nothing"
        )

    def handle(
        self,
        *,
        kind: str,
        file: str,
        organisation: str,
        user: str | None,
        region: str | None,
        dry_run: bool,
        survey: int | None = None,
        mapping: str | None = None,
        skip_invalid: bool = False,
        **options: Any,
    ) -> None:
        if region and kind != ImportKind.CUSTOMERS:
            raise CommandError(
                "--region: only customer imports read phone numbers", returncode=USAGE_ERROR
            )
        responses = kind == ImportKind.RESPONSES
        for given, option in ((survey, "--survey"), (mapping, "--mapping")):
            if responses and given is None:
                raise CommandError(f"{option}: a response import needs it", returncode=USAGE_ERROR)
            if not responses and given is not None:
                raise CommandError(
                    f"{option}: only response imports take it", returncode=USAGE_ERROR
                )
        if skip_invalid and not responses:
            raise CommandError(
                "--skip-invalid: only response imports take it", returncode=USAGE_ERROR
            )
        mapping_json = _read_mapping(mapping) if mapping is not None else None
        text = _read(file)
        try:
            scope = operator_scope(organisation_slug=organisation, user_email=user)
            result = import_file(
                scope=scope,
                kind=kind,
                text=text,
                region=region,
                dry_run=dry_run,
                survey_id=survey,
                mapping=mapping_json,
                skip_invalid=skip_invalid,
            )
        except RowErrors as exc:
            count = len(exc.errors)
            raise CommandError(
                f"{file}: nothing was imported; {count} problem{'s' if count != 1 else ''}:\n{exc}",
                returncode=USAGE_ERROR,
            ) from exc
        except SondaError as exc:
            raise CommandError(_option_message(exc), returncode=USAGE_ERROR) from exc
        counts = f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        if dry_run:
            self.stdout.write(
                f"Dry run, nothing written: {result.rows} {kind} rows would import ({counts})."
            )
        else:
            self.stdout.write(f"Imported {result.rows} {kind} rows ({counts}).")
        if result.skipped:
            count = len(result.skipped)
            self.stdout.write(
                f"Skipped the invalid rows; {count} problem{'s' if count != 1 else ''}:\n"
                + "\n".join(f"row {e.row}, column {e.field}: {e.message}" for e in result.skipped)
            )


def _read(file: str) -> str:
    try:
        if file == "-":
            return sys.stdin.buffer.read().decode("utf-8-sig")
        return Path(file).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CommandError(
            f"FILE: cannot read {file}: {exc.strerror}", returncode=USAGE_ERROR
        ) from exc
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"FILE: {file} is not UTF-8 text (save it as CSV UTF-8)", returncode=USAGE_ERROR
        ) from exc


def _read_mapping(path: str) -> Any:
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise CommandError(
            f"--mapping: cannot read {path}: {exc.strerror}", returncode=USAGE_ERROR
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(
            f"--mapping: {path} is not JSON ({exc})", returncode=USAGE_ERROR
        ) from exc


def _option_message(error: SondaError) -> str:
    if not error.errors:
        return error.detail
    return "; ".join(f"{_option(e.field)}: {e.message}" for e in error.errors)


def _option(field: str) -> str:
    """The command-line option a service's field comes from; a mapping's mistake says where."""
    if field.startswith("mapping."):
        return f"--mapping: {field.removeprefix('mapping.')}"
    return OPTION_OF_FIELD.get(field, field)
