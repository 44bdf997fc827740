"""Helpers for the import tests: files from lines, errors as (row, column, message)."""

from sonda.core.errors import RowErrors


def csv_file(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def problems(error: RowErrors) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.field, e.message) for e in error.errors]
