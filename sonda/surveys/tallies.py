# ruff: noqa: S608 - every statement here is built from this module's constant names
"""The daily tallies of scored answers (`DailyTally`), kept by database triggers.

Each answer with a number counts in one row of `surveys_dailytally`: its organisation, question,
kind, survey, unit (0 for none), unit path, local day and completeness. The triggers installed
here (by migration 0002, and again by `tallies_install` for a database set up otherwise) add an
inserted answer to its row, take a deleted one from it, and move an updated one, in the
statement's own transaction: the counts are exact whoever writes the answers and however (the
ORM, `COPY`, plain SQL, a cascade), and concurrent writers add up (an upsert per row key, taken
in key order on PostgreSQL, so two transactions lock shared rows in the same order).

PostgreSQL runs one statement-level trigger per statement over its transition tables (a bulk
insert of 10,000 answers makes one grouped upsert, not 10,000); SQLite, which has no
statement-level triggers, one small upsert per answer.

`tallies_rebuild` recounts an organisation's rows from its answers (after a change of calendar,
or to load a database whose answers were written with the triggers off), and `tally_drift`
lists the rows whose counts differ from a recount: what the tests check after every writer.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from sonda.core.calendar import offset_changes, zone

TABLE = "surveys_dailytally"
KEY = (
    "organisation_id",
    "question_key",
    "kind",
    "survey_id",
    "unit_id",
    "unit_path",
    "local_day",
    "is_complete",
)
POINTS = tuple(range(11))
COUNTS = ("n", "total", "squares", *(f"c{p}" for p in POINTS))
TRIGGER_COLUMNS = (
    "organisation_id",
    "question_key",
    "kind",
    "program_id",
    "survey_id",
    "unit_id",
    "unit_path",
    "local_day",
    "is_complete",
    "value_number",
)


def _key_values(row: str) -> list[str]:
    """The key of an answer `row` (a table alias or NEW/OLD), unit 0 for none."""
    return [
        f"COALESCE({row}.unit_id, 0)" if column == "unit_id" else f"{row}.{column}"
        for column in KEY
    ]


def _counted(row: str, sign: str) -> list[str]:
    value = f"{row}.value_number"
    return [
        sign,
        f"{sign} * {value}",
        f"{sign} * {value} * {value}",
        *(f"{sign} * (CASE WHEN {value} = {p} THEN 1 ELSE 0 END)" for p in POINTS),
    ]


def _upsert_clause(table_alias: str) -> str:
    conflict = ", ".join(KEY)
    updates = ", ".join(f"{c} = {table_alias}.{c} + excluded.{c}" for c in COUNTS)
    return f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"


_INSERT_COLUMNS = (*KEY, "program_id", *COUNTS)


def _grouped_select(source: str, signed: bool) -> str:
    """Rows of the tally table counted from `source` (answers, with a `sign` column when
    `signed`), grouped by key and in key order."""
    keys = _key_values("a")
    sign = "a.sign" if signed else "1"
    counted = _counted("a", sign)
    sums = [f"SUM({expr})" for expr in counted]
    group = ", ".join(keys)
    return (
        f"SELECT {', '.join(keys)}, MIN(a.program_id), {', '.join(sums)} "
        f"FROM {source} a WHERE a.value_number IS NOT NULL "
        f"GROUP BY {group} ORDER BY {group}"
    )


# --- SQLite: row triggers ----------------------------------------------------------------------


def _sqlite_row_upsert(row: str, sign: str) -> str:
    values = [*_key_values(row), f"{row}.program_id", *_counted(row, sign)]
    return (
        f"INSERT INTO {TABLE} ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join(values)}) "
        f"{_upsert_clause(TABLE)};"
    )


def _sqlite_triggers() -> list[str]:
    columns = ", ".join(TRIGGER_COLUMNS)
    return [
        (
            "CREATE TRIGGER surveys_answer_tally_insert AFTER INSERT ON surveys_answer "
            f"WHEN NEW.value_number IS NOT NULL BEGIN {_sqlite_row_upsert('NEW', '1')} END"
        ),
        (
            "CREATE TRIGGER surveys_answer_tally_delete AFTER DELETE ON surveys_answer "
            f"WHEN OLD.value_number IS NOT NULL BEGIN {_sqlite_row_upsert('OLD', '-1')} END"
        ),
        # An update takes the old row out and puts the new one in (two triggers: each has its
        # own condition); only updates of the columns that the tally reads fire them.
        (
            f"CREATE TRIGGER surveys_answer_tally_update_old AFTER UPDATE OF {columns} "
            "ON surveys_answer WHEN OLD.value_number IS NOT NULL "
            f"BEGIN {_sqlite_row_upsert('OLD', '-1')} END"
        ),
        (
            f"CREATE TRIGGER surveys_answer_tally_update_new AFTER UPDATE OF {columns} "
            "ON surveys_answer WHEN NEW.value_number IS NOT NULL "
            f"BEGIN {_sqlite_row_upsert('NEW', '1')} END"
        ),
    ]


_SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS surveys_answer_tally_{name}"
    for name in ("insert", "delete", "update_old", "update_new")
]


# --- PostgreSQL: statement triggers over transition tables --------------------------------------


def _postgres_function(name: str, source: str) -> str:
    body = (
        f"INSERT INTO {TABLE} AS t ({', '.join(_INSERT_COLUMNS)}) "
        f"{_grouped_select(source, signed=True)} {_upsert_clause('t')};"
    )
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$"
    )


def _postgres_triggers() -> list[str]:
    changed = " OR ".join(f"o.{column} IS DISTINCT FROM n.{column}" for column in TRIGGER_COLUMNS)
    moved = (
        "(SELECT -1 AS sign, o.* FROM old_rows o JOIN new_rows n ON n.id = o.id "
        f"WHERE {changed} "
        "UNION ALL "
        "SELECT 1 AS sign, n.* FROM new_rows n JOIN old_rows o ON o.id = n.id "
        f"WHERE {changed})"
    )
    return [
        _postgres_function("surveys_answer_tally_add", "(SELECT 1 AS sign, r.* FROM new_rows r)"),
        _postgres_function(
            "surveys_answer_tally_remove", "(SELECT -1 AS sign, r.* FROM old_rows r)"
        ),
        _postgres_function("surveys_answer_tally_move", moved),
        (
            "CREATE TRIGGER surveys_answer_tally_insert AFTER INSERT ON surveys_answer "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION surveys_answer_tally_add()"
        ),
        (
            "CREATE TRIGGER surveys_answer_tally_delete AFTER DELETE ON surveys_answer "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION surveys_answer_tally_remove()"
        ),
        (
            "CREATE TRIGGER surveys_answer_tally_update AFTER UPDATE ON surveys_answer "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION surveys_answer_tally_move()"
        ),
    ]


_POSTGRES_DROP = [
    *(
        f"DROP TRIGGER IF EXISTS surveys_answer_tally_{name} ON surveys_answer"
        for name in ("insert", "delete", "update")
    ),
    *(
        f"DROP FUNCTION IF EXISTS surveys_answer_tally_{name}()"
        for name in ("add", "remove", "move")
    ),
]


def _statements(vendor: str, *, install: bool) -> list[str]:
    if vendor == "postgresql":
        return [*_POSTGRES_DROP, *(_postgres_triggers() if install else [])]
    if vendor == "sqlite":
        return [*_SQLITE_DROP, *(_sqlite_triggers() if install else [])]
    raise NotImplementedError(f"daily tallies need SQLite or PostgreSQL, not {vendor}")


def tallies_install(db: BaseDatabaseWrapper | None = None) -> None:
    """(Re)create the triggers that keep the daily tallies."""
    db = db or connection
    with db.cursor() as cursor:
        for statement in _statements(db.vendor, install=True):
            cursor.execute(statement)


def tallies_uninstall(db: BaseDatabaseWrapper | None = None) -> None:
    """Drop the triggers (a bulk load does without them, then calls `tallies_rebuild`)."""
    db = db or connection
    with db.cursor() as cursor:
        for statement in _statements(db.vendor, install=False):
            cursor.execute(statement)


def tallies_rebuild(*, organisation_id: int | None = None) -> int:
    """Recount the tallies of one organisation (all when None) from its answers; the number
    of rows written."""
    where = "" if organisation_id is None else " WHERE organisation_id = %s"
    params: list[int] = [] if organisation_id is None else [organisation_id]
    source = "(SELECT * FROM surveys_answer" + where + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}{where}", params)
        cursor.execute(
            f"INSERT INTO {TABLE} ({', '.join(_INSERT_COLUMNS)}) "
            + _grouped_select(source, signed=False),
            params,
        )
        return cursor.rowcount


@dataclass(frozen=True)
class Drift:
    key: tuple[object, ...]
    stored: tuple[float, ...]
    recounted: tuple[float, ...]


def tally_drift(*, organisation_id: int) -> list[Drift]:
    """The tally rows of an organisation whose counts differ from its answers (rows that
    count nothing are the same as no row). Empty when the tallies are exact."""
    keys = ", ".join(KEY)
    counts = ", ".join(COUNTS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {keys}, {counts} FROM {TABLE} WHERE organisation_id = %s AND n <> 0",
            [organisation_id],
        )
        stored = {tuple(row[: len(KEY)]): tuple(row[len(KEY) :]) for row in cursor.fetchall()}
        source = "(SELECT * FROM surveys_answer WHERE organisation_id = %s)"
        cursor.execute(_grouped_select(source, signed=False), [organisation_id])
        recounted = {
            tuple(row[: len(KEY)]): tuple(row[len(KEY) + 1 :]) for row in cursor.fetchall()
        }
    drift = []
    for key in sorted(set(stored) | set(recounted), key=repr):
        have = _normal(stored.get(key))
        want = _normal(recounted.get(key))
        if have != want:
            drift.append(Drift(key=key, stored=have, recounted=want))
    return drift


def _normal(counts: Sequence[object] | None) -> tuple[float, ...]:
    if counts is None:
        return tuple(0.0 for _ in COUNTS)
    return tuple(round(float(c or 0), 6) for c in counts)  # type: ignore[arg-type]


# --- Local days -------------------------------------------------------------------------------


def _epoch_expression(vendor: str) -> str:
    if vendor == "postgresql":
        return "CAST(FLOOR(EXTRACT(EPOCH FROM answered_at)) AS BIGINT)"
    return "CAST(strftime('%%s', answered_at) AS INTEGER)"


def answers_recalendar(
    *, organisation_id: int, time_zone: str, fields: Sequence[str] = ("local_day", "local_hour")
) -> int:
    """Set the local day and hour (`fields`) of every answer of an organisation from its time
    and `time_zone` (after the organisation's zone changed; the triggers move the tallies with
    the answers). One UPDATE per stretch of the zone's UTC offset; the number of answers
    updated."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MIN(answered_at), MAX(answered_at) FROM surveys_answer "
            "WHERE organisation_id = %s",
            [organisation_id],
        )
        low, high = cursor.fetchone()
    if low is None:
        return 0
    low, high = _aware(low), _aware(high)
    changes = offset_changes(zone(time_zone), int(low.timestamp()), int(high.timestamp()) + 1)
    epoch = _epoch_expression(connection.vendor)
    local = f"({epoch} + %s)"
    day = f"FLOOR({local} / 86400.0)"
    values = {
        "local_day": (f"CAST({day} AS INTEGER)", 1),
        "local_hour": (f"CAST(FLOOR(({local} - {day} * 86400) / 3600.0) AS INTEGER)", 2),
    }
    updated = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for index, (since, offset) in enumerate(changes):
            assignments = ", ".join(f"{name} = {values[name][0]}" for name in fields)
            params: list[int | datetime] = [
                offset for name in fields for _ in range(values[name][1])
            ]
            conditions = ["organisation_id = %s"]
            params.append(organisation_id)
            if index > 0:
                conditions.append("answered_at >= %s")
                params.append(datetime.fromtimestamp(since, tz=UTC))
            if index + 1 < len(changes):
                conditions.append("answered_at < %s")
                params.append(datetime.fromtimestamp(changes[index + 1][0], tz=UTC))
            cursor.execute(
                f"UPDATE surveys_answer SET {assignments} WHERE {' AND '.join(conditions)}",
                params,
            )
            updated += cursor.rowcount
    return updated


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite without converters
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
