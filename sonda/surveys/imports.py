"""Importing responses exported from another survey tool: a CSV file and a mapping.

The mapping (JSON, described in docs/response-import.md) says which column holds the response's
id, its date, the customer's identities, the unit, the employee, the rest of the context, and the
answer to each question, with the file's words for choices and yes/no mapped to Sonda's codes.

Every row is checked before anything is written; each problem names its row (the header is row 1)
and its column. Nothing is written when a row is wrong, unless `skip_invalid` asks for the valid
rows to be written and the others reported. The response id makes the import idempotent: a row
whose id the survey already holds is left alone, so the same file imported twice writes nothing
the second time.

Fifty thousand rows must import in seconds, so the look-ups (units, employees, identities, ids
already imported) are batched and responses and answers are written in bulk. The answers follow
the rules of `sonda.surveys.responses` exactly: each cell is read by `parse_answer`, a question
that display logic hides keeps no answer (`is_shown`), a shown required question must be answered,
and every answer row carries its response's context.
"""

import csv
import io
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.calendar import day_number, hour_of, zone
from sonda.core.errors import Conflict, ValidationFailed
from sonda.customers.identities import IdentityKey, identity_normalise
from sonda.customers.services import customers_resolve_bulk
from sonda.imports.csvfile import HEADER_ROW, CsvRow, ImportResult, RowErrorList, chunks
from sonda.imports.selectors import customer_owners_by_identity
from sonda.org.models import Person, Unit
from sonda.surveys.definition import (
    CHOICE_SOURCES,
    AnswerValue,
    QuestionSpec,
    is_shown,
    parse_answer,
)
from sonda.surveys.import_mapping import (
    CONTEXT_FIELDS,
    DateSource,
    ResponseMapping,
    Source,
    SurveyQuestions,
    mapping_read,
    survey_questions,
)
from sonda.surveys.models import (
    Answer,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
)

BATCH = 2000
EXTERNAL_ID_MAX = 100
CLOCK_SKEW = timedelta(minutes=5)


# The file -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    columns: tuple[str, ...]
    rows: tuple[CsvRow, ...]


def _read(text: str, mapping: ResponseMapping) -> _Table:
    """The file's rows, keyed by the mapping's column names; RowErrors for a header it lacks."""
    errors = RowErrorList()
    text = text.removeprefix("\ufeff")
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        errors.add(HEADER_ROW, "file", f"not a readable CSV file ({exc})")
        errors.raise_if_any()
    header = [name.strip() for name in (records[0] if records else [])]
    # The mapping may spell a column in another case than the file's header.
    position: dict[str, int] = {}
    by_fold = {name.casefold(): index for index, name in enumerate(header)}
    for column in mapping.columns():
        index = header.index(column) if column in header else by_fold.get(column.casefold())
        if index is None:
            errors.add(HEADER_ROW, column, "the mapping names this column but the file lacks it")
        else:
            position[column] = index
    errors.raise_if_any()
    rows = []
    for number, record in enumerate(records[1:], start=HEADER_ROW + 1):
        if not any(value.strip() for value in record):
            continue
        if len(record) > len(header):
            errors.add(
                number,
                str(len(header) + 1),
                f"the row has {len(record)} values but the header has {len(header)} columns",
            )
            continue
        values = {
            column: record[index].strip() if index < len(record) else ""
            for column, index in position.items()
        }
        rows.append(CsvRow(number=number, values=values))
    errors.raise_if_any()
    return _Table(columns=tuple(position), rows=tuple(rows))


# Checking rows --------------------------------------------------------------------------------


@dataclass
class PlannedResponse:
    row: int
    external_id: str
    completed_at: datetime
    started_at: datetime
    identities: list[IdentityKey]
    language: str
    context: dict[str, str]
    answers: dict[str, list[AnswerValue]]
    customer_id: int | None = None
    unit_id: int | None = None
    unit_path: str = ""
    employee_id: int | None = None


def _date(
    row: CsvRow, source: DateSource, errors: RowErrorList, latest: datetime
) -> datetime | None:
    text = row.get(source.column)
    if not text:
        errors.add(row.number, source.column, "a date is required")
        return None
    try:
        found = source.read(text)
    except ValueError:
        expected = source.format or "ISO 8601 (2026-10-31 14:05)"
        errors.add(row.number, source.column, f"'{text}' is not a date in the format {expected}")
        return None
    if found > latest:
        errors.add(row.number, source.column, f"'{text}' is in the future")
        return None
    return found


def _choice_cell(text: str, source: Source, spec: QuestionSpec, words: Mapping[str, str]) -> Any:
    """A choice cell as option codes: split, each word translated by the mapping's values or
    matched to an option's code or label in any of the survey's languages."""
    parts = (
        [part.strip() for part in text.split(source.separator)]
        if spec.kind == "multi_choice" and source.separator
        else [text]
    )
    codes: list[Any] = []
    for part in parts:
        if not part:
            continue
        found, value = source.lookup(part)
        if not found:
            value = words.get(part.casefold(), part)
        if isinstance(value, list):
            codes.extend(value)
        elif value not in (None, ""):
            codes.append(value)
    if spec.kind == "multi_choice":
        return codes
    return codes if len(codes) > 1 else (codes[0] if codes else "")


def _row_answers(
    row: CsvRow, mapping: ResponseMapping, questions: SurveyQuestions, errors: RowErrorList
) -> dict[str, list[AnswerValue]]:
    """The row's answers, read as `sonda.surveys.responses` reads a whole response."""
    answers: dict[str, list[AnswerValue]] = {}
    parsed: dict[str, list[AnswerValue]] = {}
    for spec in questions.specs:
        source = mapping.answers.get(spec.key)
        where = source.column if source is not None and source.column else spec.key
        if not is_shown(spec, answers):
            continue
        raw: Any = None
        if source is not None and spec.kind in CHOICE_SOURCES:
            words = questions.option_words.get(spec.key, {})
            raw = _choice_cell(row.get(source.column), source, spec, words)
        elif source is not None:
            raw = source.cell(row)
        try:
            values = parse_answer(spec, raw, field=where)
        except ValidationFailed as exc:
            for error in exc.errors:
                errors.add(row.number, where, error.message)
            continue
        if spec.required and not values:
            errors.add(row.number, where, f"an answer to {spec.key} is required")
            continue
        if values:
            parsed[spec.key] = values
            answers[spec.key] = values
    return parsed


def _plan(
    row: CsvRow,
    mapping: ResponseMapping,
    questions: SurveyQuestions,
    errors: RowErrorList,
    seen_ids: dict[str, int],
    latest: datetime,
) -> PlannedResponse | None:
    before = len(errors.errors)
    external_id = row.get(mapping.external_id)
    if not external_id:
        errors.add(row.number, mapping.external_id, "the response id is required")
    elif len(external_id) > EXTERNAL_ID_MAX:
        errors.add(row.number, mapping.external_id, f"longer than {EXTERNAL_ID_MAX} characters")
    elif external_id in seen_ids:
        errors.add(
            row.number, mapping.external_id, f"{external_id} is also on row {seen_ids[external_id]}"
        )
    else:
        seen_ids[external_id] = row.number
    completed_at = _date(row, mapping.completed_at, errors, latest)
    started_at = (
        _date(row, mapping.started_at, errors, latest)
        if mapping.started_at is not None and row.get(mapping.started_at.column)
        else completed_at
    )
    if started_at and completed_at and started_at > completed_at:
        assert mapping.started_at is not None
        errors.add(row.number, mapping.started_at.column, "is after the completion date")
    identities = []
    for kind, system, column in mapping.identities:
        value = row.get(column)
        if not value:
            continue
        try:
            identities.append(
                identity_normalise(
                    kind=kind,
                    value=value,
                    source=system,
                    default_region=mapping.region,
                    field=column,
                )
            )
        except ValidationFailed as exc:
            errors.add(row.number, column, exc.errors[0].message if exc.errors else exc.detail)
    context: dict[str, str] = {}
    for name, given in mapping.context.items():
        cell = given.cell(row)
        text = "" if cell is None else str(cell).strip()
        if len(text) > CONTEXT_FIELDS[name]:
            errors.add(row.number, given.column, f"longer than {CONTEXT_FIELDS[name]} characters")
        context[name] = text
    language = context.pop("language", "") or questions.survey.default_language
    if language not in questions.survey.languages:
        errors.add(
            row.number,
            mapping.context["language"].column,
            f"'{language}' is not a language of the survey {questions.survey.languages}",
        )
    answers = _row_answers(row, mapping, questions, errors)
    if not answers and len(errors.errors) == before:
        errors.add(row.number, next(iter(mapping.answers.values())).column, "no question answered")
    if len(errors.errors) != before or completed_at is None or started_at is None:
        return None
    return PlannedResponse(
        row=row.number,
        external_id=external_id,
        completed_at=completed_at,
        started_at=started_at,
        identities=identities,
        language=language,
        context=context,
        answers=answers,
    )


# Batched look-ups -----------------------------------------------------------------------------


def _already_imported(survey: Survey, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for batch in chunks(sorted(ids)):
        found.update(
            Response.objects.filter(
                organisation_id=survey.organisation_id, survey=survey, external_id__in=batch
            )
            # Spelt like the unique index's condition, so that SQLite may search that index.
            .exclude(external_id="")
            .order_by()
            .values_list("external_id", flat=True)
        )
    return found


def _units_by_code(scope: Scope, codes: Iterable[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for batch in chunks(sorted(set(codes) - {""})):
        rows = Unit.objects.filter(organisation=scope.organisation, code__in=batch)
        found.update(
            {code: (pk, path) for code, pk, path in rows.values_list("code", "pk", "path")}
        )
    return found


def _people_by_number(scope: Scope, numbers: Iterable[str]) -> dict[str, tuple[int, int, str]]:
    """(person, their unit, the unit's path) by employee number."""
    found: dict[str, tuple[int, int, str]] = {}
    for batch in chunks(sorted(set(numbers) - {""})):
        rows = Person.objects.filter(organisation=scope.organisation, employee_number__in=batch)
        found.update(
            {
                number: (pk, unit_id, path)
                for number, pk, unit_id, path in rows.values_list(
                    "employee_number", "pk", "unit_id", "unit__path"
                )
            }
        )
    return found


def _resolve_context(
    scope: Scope, plans: list[PlannedResponse], mapping: ResponseMapping, errors: RowErrorList
) -> list[PlannedResponse]:
    """Units and employees by their codes; the plans whose codes all exist."""
    units = _units_by_code(scope, (p.context.get("unit_code", "") for p in plans))
    people = _people_by_number(scope, (p.context.get("employee_number", "") for p in plans))
    valid = []
    for plan in plans:
        ok = True
        code = plan.context.pop("unit_code", "")
        number = plan.context.pop("employee_number", "")
        if code:
            if code in units:
                plan.unit_id, plan.unit_path = units[code]
            else:
                errors.add(plan.row, _column_of(mapping, "unit_code"), f"no unit with code {code}")
                ok = False
        if number:
            if number in people:
                plan.employee_id, unit_id, unit_path = people[number]
                if plan.unit_id is None:
                    # A response about an employee's work counts for the unit they work in.
                    plan.unit_id, plan.unit_path = unit_id, unit_path
            else:
                errors.add(
                    plan.row,
                    _column_of(mapping, "employee_number"),
                    f"no employee with number {number}",
                )
                ok = False
        if ok:
            valid.append(plan)
    return valid


def _column_of(mapping: ResponseMapping, name: str) -> str:
    return mapping.context[name].column or name


def _resolve_customers(scope: Scope, plans: list[PlannedResponse]) -> None:
    """Each plan's customer: the owner of its first known identity, else new from its first."""
    owners = customer_owners_by_identity(
        scope=scope, keys=[key for plan in plans for key in plan.identities]
    )
    unknown = []
    for plan in plans:
        plan.customer_id = next((owners[k] for k in plan.identities if k in owners), None)
        if plan.customer_id is None and plan.identities:
            unknown.append(plan)
    if unknown:
        created = customers_resolve_bulk(
            organisation=scope.organisation, identities=[plan.identities[0] for plan in unknown]
        )
        for plan, customer_id in zip(unknown, created, strict=True):
            plan.customer_id = customer_id


# Writing --------------------------------------------------------------------------------------


# Responses and answers go in as plain multi-row INSERTs: building a model instance and preparing
# each of its fields cost ten times what the database's own work did (see bench/RESULTS.md).


def _statement_rows(columns: int) -> int:
    """How many rows of `columns` values one SQLite INSERT may carry."""
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(limit, 30_000) // columns)


RESPONSE_COLUMNS = (
    "organisation_id",
    "created_at",
    "updated_at",
    "survey_id",
    "version_id",
    "customer_id",
    "unit_id",
    "employee_id",
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
# An imported response comes from no invitation and no open link.
RESPONSE_NULL_COLUMNS = ("invitation_id", "open_link_id")
ANSWER_COLUMNS = (
    "organisation_id",
    "created_at",
    "updated_at",
    "response_id",
    "program_id",
    "survey_id",
    "version_id",
    "customer_id",
    "unit_id",
    "unit_path",
    "employee_id",
    "touchpoint",
    "channel",
    "journey",
    "stage",
    "language",
    "answered_at",
    "local_day",
    "local_hour",
    "is_complete",
    "question_id",
    "question_key",
    "kind",
    "value_number",
    "value_text",
    "value_choice",
)


def _insert(
    model: type[Response] | type[Answer],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    nulls: Sequence[str] = (),
    key: str = "",
) -> dict[Any, int]:
    """Insert `rows` (database values in the order of `columns`; `nulls` are left NULL).

    With `key`, the new ids by each row's value of that column. Every concrete field but the id
    must be named, so that a field added to the model cannot be left out silently. PostgreSQL
    takes the rows by COPY, with ids drawn from the table's sequence beforehand: a multi-row
    VALUES list would cost the driver more to quote than the server to store. SQLite takes
    multi-row VALUES lists.
    """
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    if set(fields) != {*columns, *nulls}:
        missing = sorted(set(fields) - {*columns, *nulls})
        raise RuntimeError(f"the bulk insert of {model.__name__} misses fields {missing}")
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = [quote(fields[name].column) for name in columns]
    at = columns.index(key) if key else -1
    ids: dict[Any, int] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if key:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [model._meta.db_table, len(rows)],
                )
                new_ids = [int(found) for (found,) in cursor.fetchall()]
                ids = {row[at]: pk for row, pk in zip(rows, new_ids, strict=True)}
                names = [quote("id"), *names]
                rows = [(pk, *row) for pk, row in zip(new_ids, rows, strict=True)]
            with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return ids
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        returning = f" RETURNING id, {names[at]}" if key else ""
        for chunk in chunks(rows, _statement_rows(len(columns))):
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608 - the model's names
                f"VALUES {', '.join([placeholder] * len(chunk))}{returning}",
                [value for row in chunk for value in row],
            )
            if key:
                ids.update({value: int(pk) for pk, value in cursor.fetchall()})
    return ids


def _write(questions: SurveyQuestions, plans: list[PlannedResponse]) -> int:
    """Store the planned responses and their answers; how many responses went in."""
    survey = questions.survey
    db_time = connection.ops.adapt_datetimefield_value
    now = db_time(timezone.now())
    last_page = max((s.page for s in questions.specs), default=1)
    organisation_id = survey.organisation_id
    time_zone = zone(survey.organisation.time_zone)
    created = 0
    for batch in chunks(plans, BATCH):
        completed = {plan.external_id: db_time(plan.completed_at) for plan in batch}
        ids = _insert(
            Response,
            RESPONSE_COLUMNS,
            [
                (
                    organisation_id,
                    now,
                    now,
                    survey.pk,
                    questions.version_id,
                    plan.customer_id,
                    plan.unit_id,
                    plan.employee_id,
                    plan.context.get("touchpoint", ""),
                    plan.context.get("channel", ""),
                    plan.context.get("journey", ""),
                    plan.context.get("stage", ""),
                    plan.language,
                    ResponseStatus.COMPLETE.value,
                    ResponseSource.IMPORT.value,
                    plan.external_id,
                    last_page,
                    "",
                    db_time(plan.started_at),
                    completed[plan.external_id],
                )
                for plan in batch
            ],
            nulls=RESPONSE_NULL_COLUMNS,
            key="external_id",
        )
        created += len(ids)
        answers: list[tuple[Any, ...]] = []
        for plan in batch:
            response_id = ids[plan.external_id]
            # The response's context, copied onto each of its answers as
            # sonda.surveys.responses does; answered when the response was completed.
            context = (
                organisation_id,
                now,
                now,
                response_id,
                survey.program_id,
                survey.pk,
                questions.version_id,
                plan.customer_id,
                plan.unit_id,
                plan.unit_path,
                plan.employee_id,
                plan.context.get("touchpoint", ""),
                plan.context.get("channel", ""),
                plan.context.get("journey", ""),
                plan.context.get("stage", ""),
                plan.language,
                completed[plan.external_id],
                day_number(plan.completed_at, time_zone),
                hour_of(plan.completed_at, time_zone),
                True,
            )
            for key, values in plan.answers.items():
                question = questions.rows[key]
                answers.extend(
                    (
                        *context,
                        question.pk,
                        key,
                        question.kind,
                        value.number,
                        value.text,
                        value.choice,
                    )
                    for value in values
                )
        _insert(Answer, ANSWER_COLUMNS, answers)
    return created


def responses_import(
    *,
    scope: Scope,
    survey_id: int,
    mapping: Any,
    text: str,
    skip_invalid: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ImportResult:
    """Import the responses of a CSV file to a survey: all rows or none (RowErrors says why).

    With `skip_invalid`, the valid rows are written and the invalid ones listed in `skipped`.
    """
    scope.require(CONFIGURE, "import responses")
    survey = (
        Survey.objects.filter(organisation=scope.organisation, pk=survey_id)
        .select_related("program")
        .first()
    )
    if survey is None:
        raise ValidationFailed.on("survey", f"no survey with id {survey_id}")
    questions = survey_questions(survey)
    read = mapping_read(
        mapping, questions=questions, default_time_zone=scope.organisation.time_zone or "UTC"
    )
    table = _read(text, read)
    errors = RowErrorList()
    latest = (now or timezone.now()) + CLOCK_SKEW
    seen: dict[str, int] = {}
    plans = [
        plan
        for row in table.rows
        if (plan := _plan(row, read, questions, errors, seen, latest)) is not None
    ]
    done = _already_imported(survey, [plan.external_id for plan in plans])
    fresh = [plan for plan in plans if plan.external_id not in done]
    new = _resolve_context(scope, fresh, read, errors)
    if errors and not skip_invalid:
        errors.raise_if_any()
    try:
        with transaction.atomic():
            _resolve_customers(scope, new)
            created = _write(questions, new)
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError as exc:
        # Another import stored some of these response ids since they were checked: a second
        # attempt finds them stored and leaves them alone.
        raise Conflict.on(
            "file", "another import stored some of these responses meanwhile; import it again"
        ) from exc
    skipped = tuple(sorted(errors.errors, key=lambda e: e.row or 0))
    return ImportResult(
        kind="responses",
        rows=len(table.rows),
        created=created,
        updated=0,
        unchanged=len(plans) - len(fresh),
        dry_run=dry_run,
        skipped=skipped,
    )


def mapping_check(*, scope: Scope, survey_id: int, mapping: Any) -> None:
    """Raise ValidationFailed when the mapping cannot serve the survey (before a job is queued)."""
    survey = Survey.objects.filter(organisation=scope.organisation, pk=survey_id).first()
    if survey is None:
        raise ValidationFailed.on("survey", f"no survey with id {survey_id}")
    mapping_read(
        mapping,
        questions=survey_questions(survey),
        default_time_zone=scope.organisation.time_zone or "UTC",
    )
