"""Writing the demo's responses and answers in bulk, and a checksum of what was written.

Hundreds of thousands of responses and over a million answers must take seconds, so they bypass the
ORM: plain inserts on SQLite, COPY on PostgreSQL. Answers are staged with only what differs from
answer to answer (response, question, value) and then copied into the answers table by one
INSERT … SELECT that takes every context column from the answer's response, the way
sonda.surveys.responses copies it for answers given on the survey pages: unit path, answered at
completion (or at the start of a partial response), complete or not.
"""

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection, models

from sonda.customers.models import CustomerIdentity
from sonda.demo.writing import insert_rows
from sonda.org.models import Person, Unit
from sonda.surveys.models import (
    Answer,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
    SurveyVersion,
)

RESPONSE_COLUMNS = (
    "organisation",
    "created_at",
    "updated_at",
    "survey",
    "version",
    "open_link",
    "customer",
    "unit",
    "employee",
    "touchpoint",
    "channel",
    "journey",
    "stage",
    "language",
    "status",
    "source",
    "external_id",
    "current_page",
    "client_key",
    "started_at",
    "completed_at",
)
STAGE = "demo_staged_answer"
# (column, type) of a staged answer; `seq` keeps the answers' order.
STAGE_COLUMNS = (
    ("seq", "bigint"),
    ("response_id", "bigint"),
    ("question_id", "bigint"),
    ("question_key", "varchar(40)"),
    ("kind", "varchar(16)"),
    ("value_number", "double precision"),
    ("value_text", "text"),
    ("value_choice", "varchar(64)"),
    ("local_day", "integer"),  # of the answer's time, on the organisation's calendar
    ("local_hour", "integer"),
)


def timestamp_adapter() -> Callable[[datetime], Any]:
    """How a UTC timestamp goes into a plain insert on this database."""
    if connection.vendor == "sqlite":
        # Django stores naive UTC text on SQLite; the same text sorts and compares the same way.
        return lambda value: value.replace(tzinfo=None).isoformat(sep=" ")
    return lambda value: value


def _copy(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def bulk_insert(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows of plain values (columns named by field): COPY on PostgreSQL."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        insert_rows(model, columns, rows)
        return
    fields = [model._meta.get_field(c) for c in columns]
    _copy(model._meta.db_table, [f.column for f in fields if isinstance(f, models.Field)], rows)


@contextmanager
def answers_staged() -> Iterator[None]:
    """A temporary table to stage answers in, for the length of the load."""
    quote = connection.ops.quote_name
    definition = ", ".join(f"{quote(name)} {kind}" for name, kind in STAGE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {quote(STAGE)} ({definition})")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {quote(STAGE)}")


def answers_write(rows: Sequence[Sequence[Any]]) -> int:
    """Write staged answers (seq, response, question, key, kind, number, text, choice, local
    day, local hour) with their
    responses' context; how many were written."""
    if not rows:
        return 0
    quote = connection.ops.quote_name
    names = [name for name, _ in STAGE_COLUMNS]
    if connection.vendor == "postgresql":
        _copy(STAGE, names, rows)
    else:
        marks = ", ".join(["%s"] * len(names))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {quote(STAGE)} ({', '.join(map(quote, names))}) "  # noqa: S608
                f"VALUES ({marks})",
                rows,
            )
    column = {f.name: f.column for f in Answer._meta.concrete_fields}
    copied = {
        "organisation": "r.organisation_id",
        "created_at": "COALESCE(r.completed_at, r.started_at)",
        "updated_at": "COALESCE(r.completed_at, r.started_at)",
        "response": "a.response_id",
        "question": "a.question_id",
        "question_key": "a.question_key",
        "kind": "a.kind",
        "value_number": "a.value_number",
        "value_text": "a.value_text",
        "value_choice": "a.value_choice",
        "program": "s.program_id",
        "survey": "r.survey_id",
        "version": "r.version_id",
        "customer": "r.customer_id",
        "unit": "r.unit_id",
        "unit_path": "COALESCE(u.path, '')",
        "employee": "r.employee_id",
        "touchpoint": "r.touchpoint",
        "channel": "r.channel",
        "journey": "r.journey",
        "stage": "r.stage",
        "language": "r.language",
        "answered_at": "COALESCE(r.completed_at, r.started_at)",
        "local_day": "a.local_day",
        "local_hour": "a.local_hour",
        "is_complete": "r.status = %s",
    }
    targets = ", ".join(quote(column[name]) for name in copied)
    sources = ", ".join(copied.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Answer._meta.db_table)} ({targets}) "  # noqa: S608
            f"SELECT {sources} FROM {quote(STAGE)} a "
            f"JOIN {quote(Response._meta.db_table)} r ON r.id = a.response_id "
            f"JOIN {quote(Survey._meta.db_table)} s ON s.id = r.survey_id "
            f"LEFT JOIN {quote(Unit._meta.db_table)} u ON u.id = r.unit_id "
            "ORDER BY a.seq",
            [ResponseStatus.COMPLETE.value],
        )
        written = cursor.rowcount
        cursor.execute(f"DELETE FROM {quote(STAGE)}")  # noqa: S608
    return written


@contextmanager
def indexes_deferred(*models_: type[models.Model]) -> Iterator[None]:
    """On SQLite, drop the tables' secondary indexes for a bulk load and build them after it.

    Building an index once over a million rows costs a fraction of updating it row by row. The
    caller holds the transaction, and SQLite's schema changes are transactional: a failed load
    leaves the indexes as they were. Unique constraints stay (their indexes cannot be dropped).
    Other databases load as they are: PostgreSQL's COPY is fast enough, and dropping an index
    there would lock out every other tenant's reads of the table.
    """
    if connection.vendor != "sqlite":
        yield
        return
    tables = [model._meta.db_table for model in models_]
    marks = ", ".join(["%s"] * len(tables))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608
            f"AND tbl_name IN ({marks}) ORDER BY name",
            tables,
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for _, sql in indexes:
            cursor.execute(sql)


def response_ids_after(organisation_id: int, last_id: int, count: int) -> list[int]:
    """The ids of the `count` responses just inserted for the organisation, in insertion order.

    The demo organisation is new and only this transaction writes to it, so its responses above
    `last_id` are exactly the ones just inserted.
    """
    ids = list(
        Response.objects.filter(organisation_id=organisation_id, pk__gt=last_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(ids) != count:
        raise RuntimeError(f"expected {count} new responses, found {len(ids)}")
    return ids


def feedback_checksum(organisation_id: int) -> str:
    """A checksum of the organisation's generated responses and answers, by value.

    Database ids and tokens differ from run to run; customers are named by their CRM id, units
    by code, employees by number, surveys by name, so the same seed gives the same checksum.
    """
    crm = dict(
        CustomerIdentity.objects.filter(
            organisation_id=organisation_id, kind="external", source="crm"
        ).values_list("customer_id", "value")
    )
    units = dict(Unit.objects.filter(organisation_id=organisation_id).values_list("pk", "code"))
    people = dict(
        Person.objects.filter(organisation_id=organisation_id).values_list("pk", "employee_number")
    )
    surveys = dict(Survey.objects.filter(organisation_id=organisation_id).values_list("pk", "name"))
    versions = dict(
        SurveyVersion.objects.filter(organisation_id=organisation_id).values_list("pk", "number")
    )
    digest = hashlib.sha256()
    responses = Response.objects.filter(
        organisation_id=organisation_id, source=ResponseSource.DEMO
    ).order_by("pk")
    fields = (
        "survey",
        "version",
        "customer",
        "unit",
        "employee",
        "open_link__name",
        "touchpoint",
        "channel",
        "journey",
        "stage",
        "language",
        "status",
        "current_page",
        "started_at",
        "completed_at",
        "created_at",
        "updated_at",
    )
    for row in responses.values_list(*fields).iterator(chunk_size=5000):
        survey, version, customer, unit, employee, *rest = row
        named = (
            surveys[survey],
            versions[version],
            crm.get(customer) if customer else None,
            units.get(unit) if unit else None,
            people.get(employee) if employee else None,
            *rest,
        )
        digest.update(repr(named).encode())
    answers = Answer.objects.filter(
        organisation_id=organisation_id, response__source=ResponseSource.DEMO
    ).order_by("pk")
    answer_fields = (
        "question__key",
        "question_key",
        "kind",
        "value_number",
        "value_text",
        "value_choice",
        "program__name",
        "survey",
        "version",
        "customer",
        "unit",
        "unit_path",
        "employee",
        "touchpoint",
        "channel",
        "journey",
        "stage",
        "language",
        "answered_at",
        "is_complete",
        "created_at",
        "updated_at",
    )
    for row in answers.values_list(*answer_fields).iterator(chunk_size=5000):
        (
            question,
            key,
            kind,
            number,
            text,
            choice,
            program,
            survey,
            version,
            customer,
            unit,
            unit_path,
            employee,
            *rest,
        ) = row
        path = [units[int(part)] for part in unit_path.strip(".").split(".")] if unit_path else []
        named = (
            question,
            key,
            kind,
            number,
            text,
            choice,
            program,
            surveys[survey],
            versions[version],
            crm.get(customer) if customer else None,
            units.get(unit) if unit else None,
            path,
            people.get(employee) if employee else None,
            *rest,
        )
        digest.update(repr(named).encode())
    return digest.hexdigest()
