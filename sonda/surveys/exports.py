"""Exporting answers and responses to CSV and Parquet, streamed, and audited.

Rows are read in keyset-paginated chunks (`id > last ORDER BY id LIMIT n`) and written as they
come: CSV rows, or one Parquet row group per chunk under a fixed schema. Memory stays at one
chunk whatever the size of the export (a million answers in well under 500 MB, see
bench/export_memory.py). Every export is recorded in the audit log with its filters and row count,
never with personal data.
"""

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import pyarrow as pa
import pyarrow.parquet as pq
from django.db.models import Model, QuerySet

from sonda.accounts.access import Scope
from sonda.accounts.services import audit_record
from sonda.core.errors import ValidationFailed
from sonda.surveys.response_selectors import ResponseFilters, answer_list, response_list

DEFAULT_CHUNK = 20_000
WHAT = ("answers", "responses")
FORMATS = ("csv", "parquet")
UTC_MICROSECONDS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    """An exported column: its name in the file, where it is read from, its Parquet type."""

    name: str
    source: str
    arrow: pa.DataType


ANSWER_COLUMNS = (
    Column("response_id", "response_id", pa.int64()),
    Column("question_key", "question_key", pa.string()),
    Column("kind", "kind", pa.string()),
    Column("number", "value_number", pa.float64()),
    Column("text", "value_text", pa.string()),
    Column("choice", "value_choice", pa.string()),
    Column("answered_at", "answered_at", UTC_MICROSECONDS),
    # The day (days since 1970-01-01) and hour on the organisation's clock, as analytics
    # counts them.
    Column("local_day", "local_day", pa.int32()),
    Column("local_hour", "local_hour", pa.int8()),
    Column("is_complete", "is_complete", pa.bool_()),
    Column("survey_id", "survey_id", pa.int64()),
    Column("program_id", "program_id", pa.int64()),
    Column("version", "version__number", pa.int32()),
    Column("unit_id", "unit_id", pa.int64()),
    Column("unit_code", "unit__code", pa.string()),
    Column("employee_id", "employee_id", pa.int64()),
    Column("customer_id", "customer_id", pa.int64()),
    Column("touchpoint", "touchpoint", pa.string()),
    Column("channel", "channel", pa.string()),
    Column("journey", "journey", pa.string()),
    Column("stage", "stage", pa.string()),
    Column("language", "language", pa.string()),
)

RESPONSE_COLUMNS = (
    Column("response_id", "id", pa.int64()),
    Column("survey_id", "survey_id", pa.int64()),
    Column("program_id", "survey__program_id", pa.int64()),
    Column("version", "version__number", pa.int32()),
    Column("status", "status", pa.string()),
    Column("source", "source", pa.string()),
    Column("external_id", "external_id", pa.string()),
    Column("customer_id", "customer_id", pa.int64()),
    Column("unit_id", "unit_id", pa.int64()),
    Column("unit_code", "unit__code", pa.string()),
    Column("employee_id", "employee_id", pa.int64()),
    Column("touchpoint", "touchpoint", pa.string()),
    Column("channel", "channel", pa.string()),
    Column("journey", "journey", pa.string()),
    Column("stage", "stage", pa.string()),
    Column("language", "language", pa.string()),
    Column("invitation_id", "invitation_id", pa.int64()),
    Column("started_at", "started_at", UTC_MICROSECONDS),
    Column("completed_at", "completed_at", UTC_MICROSECONDS),
)


def columns_of(what: str) -> tuple[Column, ...]:
    if what not in WHAT:
        raise ValidationFailed.on("what", f"answers or responses, not '{what}'")
    return ANSWER_COLUMNS if what == "answers" else RESPONSE_COLUMNS


def export_rows(*, scope: Scope, what: str, filters: ResponseFilters) -> QuerySet[Any]:
    """The answers or responses an export of `what` holds: the caller's scope, the filters."""
    columns_of(what)
    if what == "answers":
        return answer_list(scope=scope, filters=filters)
    return response_list(scope=scope, filters=filters)


def export_count(*, scope: Scope, what: str, filters: ResponseFilters) -> int:
    return export_rows(scope=scope, what=what, filters=filters).order_by().count()


def _chunks(
    rows: QuerySet[Model], columns: Sequence[Column], chunk_size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows' values, `chunk_size` at a time, by ascending id (keyset pagination).

    Unlike an offset, `id > last` costs the same on the last chunk as on the first, and holds no
    cursor open between chunks.
    """
    sources = ["pk", *(column.source for column in columns)]
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).order_by("pk").values_list(*sources)[:chunk_size])
        if not batch:
            return
        last = batch[-1][0]
        yield [row[1:] for row in batch]


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class _Lines:
    """A file-like sink that hands back what csv.writer wrote, line by line."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _csv_pieces(
    *,
    scope: Scope,
    what: str,
    filters: ResponseFilters,
    chunk_size: int,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[str, int]]:
    """(CSV text, rows in it): the header, then one piece per chunk; audited once it ends.

    An export stopped half-way (a download the browser closed) is audited with the rows sent.
    """
    columns = columns_of(what)
    rows = export_rows(scope=scope, what=what, filters=filters)
    sink = _Lines()
    writer = csv.writer(sink, lineterminator="\n")
    written = 0
    try:
        writer.writerow([column.name for column in columns])
        yield sink.take(), 0
        for chunk in _chunks(rows, columns, chunk_size):
            writer.writerows([_csv_value(v) for v in row] for row in chunk)
            written += len(chunk)
            yield sink.take(), len(chunk)
            if progress is not None:
                progress(len(chunk))
    finally:
        _audit(scope, what=what, file_format="csv", filters=filters, rows=written)


def csv_stream(
    *, scope: Scope, what: str, filters: ResponseFilters, chunk_size: int = DEFAULT_CHUNK
) -> Iterator[str]:
    """The CSV text of an export, piece by piece (for a streamed download)."""
    for text, _ in _csv_pieces(
        scope=scope, what=what, filters=filters, chunk_size=chunk_size, progress=None
    ):
        yield text


def export_csv(
    *,
    scope: Scope,
    what: str,
    filters: ResponseFilters,
    out: TextIO,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export as CSV to `out`; the number of rows."""
    total = 0
    for text, rows in _csv_pieces(
        scope=scope, what=what, filters=filters, chunk_size=chunk_size, progress=progress
    ):
        out.write(text)
        total += rows
    return total


def parquet_schema(what: str) -> pa.Schema:
    return pa.schema([pa.field(column.name, column.arrow) for column in columns_of(what)])


def export_parquet(
    *,
    scope: Scope,
    what: str,
    filters: ResponseFilters,
    out: str | Path | BinaryIO,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export as Parquet to `out`, one row group per chunk; the number of rows."""
    columns = columns_of(what)
    schema = parquet_schema(what)
    rows = export_rows(scope=scope, what=what, filters=filters)
    written = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        try:
            for chunk in _chunks(rows, columns, chunk_size):
                arrays = [
                    pa.array([row[index] for row in chunk], type=column.arrow)
                    for index, column in enumerate(columns)
                ]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                written += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        finally:
            _audit(scope, what=what, file_format="parquet", filters=filters, rows=written)
    return written


def _audit(
    scope: Scope, *, what: str, file_format: str, filters: ResponseFilters, rows: int
) -> None:
    # Ids and filter values only: an audit entry must not become a copy of personal data.
    audit_record(
        action=f"export.{what}",
        organisation=scope.organisation,
        actor=scope.user,
        detail={"format": file_format, "filters": filters.given(), "rows": rows},
    )
