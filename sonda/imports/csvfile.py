"""Reading an import file: the header checked, rows numbered as a spreadsheet numbers them.

Row numbers count the header as row 1, so "row 7" is the seventh line a spreadsheet shows. Every
problem is collected before anything is written; an import either writes all its rows or nothing.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sonda.core.errors import FieldError, RowErrors, SondaError

TRUE_WORDS = frozenset({"yes", "true", "1", "y"})
FALSE_WORDS = frozenset({"no", "false", "0", "n"})
HEADER_ROW = 1

T = TypeVar("T")


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, on a dry run, would have done)."""

    kind: str
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool = False
    # Rows left out because they were invalid (responses imported with skip_invalid).
    skipped: tuple[FieldError, ...] = ()


@dataclass(frozen=True)
class CsvRow:
    number: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass(frozen=True)
class CsvTable:
    """The file's columns (as normalised names) and its non-blank rows."""

    columns: tuple[str, ...]
    rows: tuple[CsvRow, ...]

    def has(self, column: str) -> bool:
        return column in self.columns


@dataclass
class RowErrorList:
    """Problems found so far, each naming its row and column."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, row: int, column: str, message: str) -> None:
        self.errors.append(FieldError(field=column, message=message, row=row))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise RowErrors(sorted(self.errors, key=lambda e: e.row or 0))


def column_name(raw: str) -> str:
    """`Parent_Code ` → `parent_code`; `Attr:Tier` → `attr:Tier` (attribute names keep case)."""
    name = raw.strip()
    prefix, colon, rest = name.partition(":")
    if colon:
        prefix = prefix.strip().lower()
        rest = rest.strip()
        return f"{prefix}:{rest if prefix == 'attr' else rest.lower()}"
    return name.lower()


def read_table(
    text: str,
    *,
    required: Sequence[str],
    optional: Iterable[str] = (),
    prefixes: Iterable[str] = (),
) -> CsvTable:
    """Parse `text` as CSV with a header row; raise RowErrors for a header this kind cannot read.

    A column is accepted when it is required, optional, or starts with one of `prefixes`
    (`external:`, `attr:` ...). Values are trimmed; a row shorter than the header has empty values
    for the missing columns; completely blank rows are skipped but still counted.
    """
    errors = RowErrorList()
    text = text.removeprefix("\ufeff")  # spreadsheets write a byte-order mark
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        errors.add(HEADER_ROW, "file", f"not a readable CSV file ({exc})")
        errors.raise_if_any()
    header = records[0] if records else []
    columns = tuple(column_name(raw) for raw in header)
    known = set(required) | set(optional)
    prefix_list = tuple(prefixes)
    seen: set[str] = set()
    for index, name in enumerate(columns, start=1):
        if not name:
            errors.add(HEADER_ROW, f"column {index}", "the header has an empty column name")
        elif name in seen:
            errors.add(HEADER_ROW, name, "the column appears twice in the header")
        elif name not in known and not any(name.startswith(p) for p in prefix_list):
            expected = ", ".join(
                [*required, *sorted(set(optional)), *(f"{p}…" for p in prefix_list)]
            )
            errors.add(HEADER_ROW, name, f"unknown column (expected: {expected})")
        seen.add(name)
    for name in required:
        if name not in seen:
            errors.add(HEADER_ROW, name, "the required column is missing from the header")
    errors.raise_if_any()

    rows = []
    for number, record in enumerate(records[1:], start=HEADER_ROW + 1):
        values = [value.strip() for value in record]
        if not any(values):
            continue
        if len(values) > len(columns):
            errors.add(
                number,
                f"column {len(columns) + 1}",
                f"the row has {len(values)} values but the header has {len(columns)} columns",
            )
            continue
        values += [""] * (len(columns) - len(values))
        rows.append(CsvRow(number=number, values=dict(zip(columns, values, strict=True))))
    errors.raise_if_any()
    return CsvTable(columns=columns, rows=tuple(rows))


def text_value(
    row: CsvRow,
    column: str,
    errors: RowErrorList,
    *,
    max_length: int,
    required: bool = False,
) -> str | None:
    """The column's value, or None (with an error recorded) when it is missing or too long."""
    value = row.get(column)
    if required and not value:
        errors.add(row.number, column, "a value is required")
        return None
    if len(value) > max_length:
        errors.add(row.number, column, f"is longer than {max_length} characters")
        return None
    return value


def yes_no_value(row: CsvRow, column: str, errors: RowErrorList) -> bool | None:
    """yes/no/true/false/1/0 as a bool; None when the cell is empty or unreadable."""
    value = row.get(column).lower()
    if not value:
        return None
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    errors.add(row.number, column, f"'{row.get(column)}' is not yes or no (yes/no/true/false/1/0)")
    return None


def find_cycle(start: str, parent_of: dict[str, str | None]) -> list[str] | None:
    """The loop `start → … → start` that following `parent_of` makes, if it comes back to start."""
    chain = [start]
    seen = {start}
    current = parent_of.get(start)
    while current is not None:
        if current == start:
            return [*chain, start]
        if current in seen:
            return None  # a loop further up, reported on the rows that form it
        chain.append(current)
        seen.add(current)
        current = parent_of.get(current)
    return None


def depth_of(code: str, parent_of: dict[str, str | None], memo: dict[str, int]) -> int:
    """How many ancestors `code` has in the (acyclic) `parent_of` tree."""
    path = []
    current: str | None = code
    while current is not None and current not in memo:
        path.append(current)
        current = parent_of.get(current)
    depth = memo[current] + 1 if current is not None else 0
    for node in reversed(path):
        memo[node] = depth
        depth += 1
    return memo[code]


def chunks(items: Sequence[T], size: int = 900) -> Iterable[Sequence[T]]:
    """`items` in slices small enough for one SQL `IN (...)` on every database."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def on_row(number: int, columns: Mapping[str, str], default_column: str) -> Iterator[None]:
    """Turn a service's error while writing row `number` into a row error naming the column.

    `columns` maps the service's argument names (`parent_id`) to the file's (`parent_code`).
    """
    try:
        yield
    except SondaError as exc:
        failures = exc.errors or [FieldError(field=default_column, message=exc.detail)]
        raise RowErrors(
            [
                FieldError(field=columns.get(f.field, f.field), message=f.message, row=number)
                for f in failures
            ]
        ) from exc
