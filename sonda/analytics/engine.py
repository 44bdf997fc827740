"""Where analytics queries run: the operational database, DuckDB over Parquet, or Spark.

Every engine offers the same relation, the answers table with the columns in `ANSWER_SCHEMA`,
so that one Ibis expression runs unchanged on each and gives the same numbers (the parity test);
the operational database and DuckDB also offer the daily tallies (`TALLY_SCHEMA`: kept by
triggers in the database, counted once from the export in DuckDB). The relations are private:
the only way to query them is through `sonda.analytics.scope`, which applies the caller's
access scope first.

- `operational_engine()` queries Django's own database connection (SQLite or PostgreSQL, as
  `DATABASES` configures it). Sharing the connection, rather than opening a second one from the
  same settings, means the figures see the request's own transaction (and the test database,
  which on SQLite is in memory and visible to no other connection).
- `duckdb_engine(path, organisation_id=…)` reads a Parquet file written by
  `sonda export answers --format parquet` (sonda.surveys.exports) into DuckDB's memory.
- `pyspark_engine(path, organisation_id=…, session=…)` reads the same file with Spark (local mode
  by default).

A Parquet export holds one organisation's rows but neither the organisation nor the units'
paths, so the caller names the organisation it was exported from and the paths are joined from
the organisation's current units. Nothing is downloaded or `INSTALL`ed at run time.
"""

import contextlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
from django.db import connection
from ibis.backends.sqlite import Backend as SQLiteBackend

from sonda.core.errors import ValidationFailed
from sonda.surveys.models import Answer, DailyTally

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

# The columns analytics reads, named as the operational table names them. Timestamps are UTC.
ANSWER_SCHEMA = ibis.schema(
    {
        "id": "int64",
        "organisation_id": "int64",
        "response_id": "int64",
        "question_key": "string",
        "kind": "string",
        "value_number": "float64",
        "value_choice": "string",
        "answered_at": "timestamp",
        "local_day": "int64",  # days since 1970-01-01 on the organisation's calendar
        "local_hour": "int64",  # 0…23 on the organisation's clock
        "is_complete": "boolean",
        "survey_id": "int64",
        "program_id": "int64",
        "unit_id": "int64",
        "unit_path": "string",
        "employee_id": "int64",
        "customer_id": "int64",
        "touchpoint": "string",
        "channel": "string",
        "journey": "string",
        "stage": "string",
        "language": "string",
    }
)

# The daily tallies of scored answers (sonda.surveys.tallies): per organisation, question,
# survey, unit (0 for none) and local day, how many answers, their sum and sum of squares, and
# how many gave each point 0…10.
TALLY_POINTS = tuple(range(11))
TALLY_SCHEMA = ibis.schema(
    {
        "organisation_id": "int64",
        "question_key": "string",
        "kind": "string",
        "program_id": "int64",
        "survey_id": "int64",
        "unit_id": "int64",
        "unit_path": "string",
        "local_day": "int64",
        "is_complete": "boolean",
        "n": "int64",
        "total": "float64",
        "squares": "float64",
        **{f"c{point}": "int64" for point in TALLY_POINTS},
    }
)

# Compiled SQL by (backend name, expression); see Engine.compile.
_COMPILED: "OrderedDict[tuple[str, Any], str]" = OrderedDict()
_COMPILED_LOCK = threading.Lock()
_COMPILED_MAX = 2_048

# Export column → analytics column, where the export names it differently.
_EXPORT_RENAMES = {"value_number": "number", "value_choice": "choice"}
_UNITS_SCHEMA = ibis.schema({"unit_id": "int64", "unit_path": "string"})


@dataclass(frozen=True)
class Engine:
    """A backend and the answers relation it reads. `name` is the backend's: sqlite, postgres,
    duckdb or pyspark."""

    name: str
    backend: "BaseBackend"
    _answers: Callable[[], ir.Table] = field(repr=False)
    _fetch: Callable[["Engine", ir.Table], list[dict[str, Any]]] = field(repr=False)
    # An export's single organisation; None where the relation holds every organisation.
    exported_organisation_id: int | None = None
    # The daily tallies, where the engine has them (not Spark: it reads the answers).
    _tallies: Callable[[], ir.Table] | None = field(default=None, repr=False)
    # The same tallies summed per local month (days are each month's first day), where the
    # engine keeps them: DuckDB, which counts its tallies when it starts.
    _monthly_tallies: Callable[[], ir.Table] | None = field(default=None, repr=False)

    def run(self, expr: ir.Table) -> list[dict[str, Any]]:
        """Execute a (scoped) table expression; its rows as dicts of plain Python values."""
        return self._fetch(self, expr)

    def columns(self, expr: ir.Table) -> dict[str, Sequence[Any]]:
        """Execute a (scoped) table expression; its columns in row order, name → plain Python
        values, or a numpy array for a numeric column without nulls (what a many-row result is
        turned into arrays from, without a dict per row)."""
        if self.name == "duckdb":
            table = _duckdb_arrow(self, expr)
            return {name: _arrow_values(table.column(name)) for name in table.column_names}
        names = list(expr.schema().names)
        rows = self.run(expr)
        return {name: [row[name] for row in rows] for name in names}

    def compile(self, expr: ir.Table) -> str:
        """The SQL this engine runs for `expr` (to read, and to check in tests).

        Compiling costs Ibis some milliseconds per query (a dashboard runs a dozen), while the
        same expression comes back with every view of the same page: the SQL is kept per
        backend kind and expression (Ibis expressions compare and hash by structure, literals
        included), the most recent `_COMPILED_MAX`."""
        key = (self.backend.name, expr.op())
        with _COMPILED_LOCK:
            found = _COMPILED.get(key)
            if found is not None:
                _COMPILED.move_to_end(key)
                return found
        sql = str(self.backend.compile(expr))
        with _COMPILED_LOCK:
            _COMPILED[key] = sql
            while len(_COMPILED) > _COMPILED_MAX:
                _COMPILED.popitem(last=False)
        return sql


def answers_relation(engine: Engine) -> ir.Table:
    """The unscoped answers relation of an engine. Only `sonda.analytics.scope` may call this:
    every other reader goes through a ScopedAnswers."""
    return engine._answers()


def tallies_relation(engine: Engine) -> ir.Table | None:
    """The unscoped daily tallies of an engine, None where it has none. Only
    `sonda.analytics.scope` may call this."""
    return engine._tallies() if engine._tallies is not None else None


def monthly_tallies_relation(engine: Engine) -> ir.Table | None:
    """The unscoped monthly tallies of an engine, None where it has none. Only
    `sonda.analytics.scope` may call this."""
    return engine._monthly_tallies() if engine._monthly_tallies is not None else None


def _tallied(answers: ir.Table) -> ir.Table:
    """The daily tallies counted from an answers relation (as the triggers keep them)."""
    scored = answers.filter(answers.value_number.notnull())
    value = scored.value_number
    return scored.group_by(
        "organisation_id",
        "question_key",
        "kind",
        "survey_id",
        unit_id=scored.unit_id.fill_null(0),
        unit_path=scored.unit_path,
        local_day=scored.local_day,
        is_complete=scored.is_complete,
    ).aggregate(
        program_id=scored.program_id.min(),
        n=scored.count(),
        total=value.sum(),
        squares=(value * value).sum(),
        **{f"c{p}": (value == p).ifelse(1, 0).sum() for p in TALLY_POINTS},
    )


# --- The operational database -------------------------------------------------------------------


def _fetch_with_django(engine: Engine, expr: ir.Table) -> list[dict[str, Any]]:
    # Through Django's cursor rather than Ibis's own execution: the query joins the request's
    # transaction and Django's query log (so tests can bound query counts), and the rows skip a
    # pandas round trip.
    sql = engine.compile(expr)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class _SharedSQLiteBackend(SQLiteBackend):
    """Ibis's SQLite backend on Django's connection, leaving its transaction to Django.

    Ibis commits (or rolls back) its own metadata reads, e.g. `backend.table(name)`; on a shared
    connection that would end the request's transaction (and a test's, leaking its rows).
    """

    @contextlib.contextmanager
    def begin(self) -> Iterator[sqlite3.Cursor]:
        cursor = self.con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def operational_engine() -> Engine:
    """The engine over Django's default database connection (SQLite or PostgreSQL)."""
    connection.ensure_connection()
    raw = connection.connection
    # Declared, not read from the database: the schema is the same on every engine, and looking
    # it up would make Ibis commit on the shared connection.
    table = ibis.table(ANSWER_SCHEMA, name=Answer._meta.db_table)
    tallies = ibis.table(TALLY_SCHEMA, name=DailyTally._meta.db_table)
    if connection.vendor == "sqlite":
        backend: BaseBackend = _SharedSQLiteBackend.from_connection(raw)
        # Ibis makes LIKE case-sensitive on the connection it is given; Django's lookups on the
        # same connection (icontains…) rely on SQLite's default, so put it back. Analytics only
        # matches unit paths (digits and dots) with LIKE, where case does not matter.
        raw.execute("PRAGMA case_sensitive_like = OFF")
    elif connection.vendor == "postgresql":
        backend = ibis.postgres.from_connection(raw)
    else:  # pragma: no cover - Sonda runs on SQLite or PostgreSQL only
        raise RuntimeError(f"No analytics engine for the {connection.vendor} database")
    return Engine(
        name=backend.name,
        backend=backend,
        _answers=lambda: table,
        _fetch=_fetch_with_django,
        _tallies=lambda: tallies,
    )


# --- Parquet exports: DuckDB and Spark ----------------------------------------------------------


def _duckdb_arrow(engine: Engine, expr: ir.Table) -> Any:
    # The kept SQL on DuckDB's own connection: Ibis's to_pyarrow would compile the expression
    # again on every call (tens of milliseconds). The cast gives the columns the types Ibis
    # promises (DuckDB sums integers as 128-bit decimals).
    result = engine.backend.con.execute(engine.compile(expr)).to_arrow_table()
    return result.cast(expr.schema().to_pyarrow())


def _arrow_values(column: Any) -> Sequence[Any]:
    import pyarrow as pa

    if column.null_count == 0 and (
        pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    ):
        values: Sequence[Any] = column.to_numpy()
        return values
    listed: list[Any] = column.to_pylist()
    return listed


def _fetch_arrow(engine: Engine, expr: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = _duckdb_arrow(engine, expr).to_pylist()
    return rows


def _fetch_spark(engine: Engine, expr: ir.Table) -> list[dict[str, Any]]:
    # Ibis's PySpark to_pyarrow goes through pandas; collecting Spark's rows is direct. The
    # pre-execute hook registers the in-memory units table the relation joins.
    engine.backend._run_pre_execute_hooks(expr)
    session = engine.backend._session
    return [row.asDict() for row in session.sql(engine.compile(expr)).collect()]


def _unit_paths(organisation_id: int) -> Mapping[int, str]:
    from sonda.org.models import Unit

    return dict(
        Unit.objects.filter(organisation_id=organisation_id).values_list("pk", "path").order_by()
    )


def _from_export(
    exported: ir.Table, *, organisation_id: int, unit_paths: Mapping[int, str]
) -> ir.Table:
    """The analytics relation of an exported answers table: the same columns, the same types."""
    units = ibis.memtable(
        {"unit_id": list(unit_paths), "unit_path": list(unit_paths.values())},
        schema=_UNITS_SCHEMA,
    )
    if "local_day" not in exported.columns or "local_hour" not in exported.columns:
        raise ValidationFailed.on(
            "path", "the export has no local days (written by an older Sonda): export it again"
        )
    # Exports carry no answer id; the row's position is not needed by any measure, so 0.
    with_paths = exported.left_join(units, "unit_id")
    columns: dict[str, ir.Value] = {}
    for name, dtype in ANSWER_SCHEMA.items():
        if name == "id":
            value: ir.Value = ibis.literal(0, type="int64")
        elif name == "organisation_id":
            value = ibis.literal(organisation_id, type="int64")
        elif name == "unit_path":
            value = with_paths.unit_path.fill_null("")
        else:
            value = with_paths[_EXPORT_RENAMES.get(name, name)]
        columns[name] = value.cast(dtype)
    return with_paths.select(**columns)


def duckdb_engine(
    path: str | Path,
    *,
    organisation_id: int,
    unit_paths: Mapping[int, str] | None = None,
) -> Engine:
    """DuckDB (in memory) over a Parquet export of `organisation_id`'s answers."""
    backend = ibis.duckdb.connect()
    # Day and hour arithmetic is done on UTC epoch seconds; keep the session in UTC as well.
    backend.raw_sql("SET TimeZone = 'UTC'")
    exported = backend.read_parquet(str(path))
    paths = _unit_paths(organisation_id) if unit_paths is None else unit_paths
    # Copied into DuckDB's memory once, the unit paths joined: each query then scans DuckDB's own
    # columns instead of decoding the Parquet file and joining the paths again (the join alone
    # took seconds per query over ten million answers).
    relation = backend.create_table(
        "sonda_answers",
        _from_export(exported, organisation_id=organisation_id, unit_paths=paths),
        temp=True,
    )
    # Its daily tallies too, counted once here as the operational database keeps them.
    backend.create_table("sonda_tallies_counted", _tallied(relation), temp=True)
    tallies = _compact_tallies(backend)
    monthly = _monthly(backend)
    return Engine(
        name="duckdb",
        backend=backend,
        _answers=lambda: relation,
        _fetch=_fetch_arrow,
        exported_organisation_id=organisation_id,
        _tallies=lambda: tallies,
        _monthly_tallies=lambda: monthly,
    )


def _compact_tallies(backend: Any) -> ir.Table:
    """The counted tallies again, in the narrowest types that hold them: question keys and kinds
    as DuckDB enums (a query's filter on them compares small integers, not strings), days and
    counts as 32-bit integers (a day's count of one scale point in one unit is far below 2³¹).
    Half the bytes to scan: the tallies' queries take about two thirds of the time."""
    con = backend.con

    def enum(column: str) -> str:
        # Column names are this function's own; values are quoted with their quotes doubled.
        found = con.execute(
            f"SELECT DISTINCT {column} FROM sonda_tallies_counted WHERE {column} IS NOT NULL"  # noqa: S608
        ).fetchall()
        quoted = ", ".join("'" + str(value).replace("'", "''") + "'" for (value,) in found)
        return f"{column}::ENUM({quoted}) AS {column}" if found else column

    narrow = [f"{c}::INTEGER AS {c}" for c in ("local_day", "n", *(f"c{p}" for p in TALLY_POINTS))]
    kept = "organisation_id, survey_id, unit_id, unit_path, is_complete, program_id, total, squares"
    select = f"SELECT {enum('question_key')}, {enum('kind')}, {kept}, {', '.join(narrow)}"
    con.execute(
        f"CREATE TEMP TABLE sonda_tallies AS {select} FROM sonda_tallies_counted "
        "ORDER BY question_key, unit_id, local_day"
    )
    con.execute("DROP TABLE sonda_tallies_counted")
    return backend.table("sonda_tallies", database=("temp", "main"))


def _monthly(backend: Any) -> ir.Table:
    """The daily tallies summed per local month, each month's row on its first day: a query of
    whole months (a year of units by month, every unit over two years) reads a thirtieth of
    the rows. Sums of the same counts, so exactly the daily tallies' figures."""
    counts = ", ".join(f"SUM(c{p})::BIGINT AS c{p}" for p in TALLY_POINTS)
    month = (
        "date_diff('day', DATE '1970-01-01', date_trunc('month', DATE '1970-01-01' + local_day))"
    )
    sql = (
        "CREATE TEMP TABLE sonda_tallies_monthly AS SELECT "  # noqa: S608 (own columns)
        "question_key, kind, organisation_id, survey_id, unit_id, unit_path, is_complete, "
        f"{month}::INTEGER AS local_day, "
        "MIN(program_id) AS program_id, SUM(n)::BIGINT AS n, SUM(total) AS total, "
        f"SUM(squares) AS squares, {counts} FROM sonda_tallies "
        "GROUP BY ALL ORDER BY question_key, unit_id, local_day"
    )
    backend.con.execute(sql)
    return backend.table("sonda_tallies_monthly", database=("temp", "main"))


def spark_session() -> Any:
    """A local Spark session in UTC (Java 17 needed; starting takes some seconds)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName("sonda-analytics")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        # Few partitions: on one machine more only add scheduling per query.
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .getOrCreate()
    )


def pyspark_engine(
    path: str | Path,
    *,
    organisation_id: int,
    session: Any = None,
    unit_paths: Mapping[int, str] | None = None,
) -> Engine:
    """Spark (local mode unless a session is given) over a Parquet export of one organisation."""
    backend = ibis.pyspark.connect(session if session is not None else spark_session())
    exported = backend.read_parquet(str(path))
    paths = _unit_paths(organisation_id) if unit_paths is None else unit_paths
    relation = _from_export(exported, organisation_id=organisation_id, unit_paths=paths)
    return Engine(
        name="pyspark",
        backend=backend,
        _answers=lambda: relation,
        _fetch=_fetch_spark,
        exported_organisation_id=organisation_id,
    )
