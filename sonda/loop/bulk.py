"""Opening the cases of many completed responses at once: a backfill, the demo, the benchmark.

The decisions are those `sonda.loop.opening` opens one response's case with: the same facts
(`facts_from_rows`), the same winning rule (`rule_winner` over `rules_ordered`), the same codings
from the same option mappings (`problem_mapping_table`, `mapped_problem_ids`), the same owner and
loop (`owner_route`, `loop_decision`) and the same SLA deadlines (`case_deadlines`, computed once
per priority and opening moment). What differs is how the data moves: responses and answers are
read a chunk at a time as plain rows (only the answers a rule or a mapping can look at), and the
cases, their timeline (opened, coded, routed, linked) and their root-cause codings are written in
bulk (`rows_insert`: multi-row INSERTs, and COPY on PostgreSQL).

Idempotent: a response that has a case is skipped, and a case that the sweep opens for one of the
chunk's responses between the read and the write is left as the sweep opened it (the insert does
nothing on the case's unique response). Each chunk commits on its own: a run stopped half-way
leaves whole cases, and running it again opens the rest.

A bulk run announces nothing: its timeline entries are written directly, not through
`case_event_record`, so no notification and no webhook follows. It is for history (months of
imported answers, the demo), where a thousand emails about last spring's detractors would help
nobody. Praise, and the sweep's memory of evaluated responses, stay with the sweep: a response
still within its window is evaluated there again, finds its case and records its praise.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from sonda.accounts.models import Membership
from sonda.loop.conditions import (
    AnswerCondition,
    CompetitorCondition,
    LoyaltyCondition,
    ResponseFacts,
    RuleSpec,
    ScoreCondition,
    WordsCondition,
    rule_winner,
    rules_ordered,
)
from sonda.loop.models import (
    Case,
    CaseEvent,
    CaseEventKind,
    CaseProblem,
    CaseState,
    CodingSource,
    Problem,
)
from sonda.loop.opening import (
    AnswerRow,
    MappingTable,
    alert_rule_specs,
    facts_from_rows,
    mapped_problem_ids,
    problem_mapping_table,
)
from sonda.loop.routing import CodedProblem, loop_decision, owner_route
from sonda.loop.sla import SlaClock, case_deadlines, sla_clock
from sonda.org.models import Person, Unit
from sonda.surveys.models import (
    CHOICE_KINDS,
    Answer,
    Program,
    QuestionKind,
    Response,
    ResponseStatus,
    Survey,
)

# Responses read, evaluated and written per transaction.
CHUNK = 5_000
# Rows per INSERT statement: under SQLite's 32,766 parameters for the widest row (the case's).
ROWS_PER_STATEMENT = 500
# Rows per INSERT ... SELECT FROM unnest(arrays) on PostgreSQL.
ROWS_PER_ARRAY_STATEMENT = 5_000


@dataclass
class BulkOpening:
    """What a bulk run did: responses evaluated, cases opened (by priority), responses skipped
    because they had a case already."""

    evaluated: int = 0
    opened: int = 0
    already: int = 0
    by_priority: Counter[str] = field(default_factory=Counter)
    case_ids: list[int] = field(default_factory=list)


class _Respondent(NamedTuple):
    response_id: int
    survey_id: int
    version_id: int
    customer_id: int | None
    unit_id: int | None
    employee_id: int | None
    language: str
    completed_at: datetime


class _Staff(NamedTuple):
    unit_id: int | None
    supervisor_id: int | None
    user_id: int | None
    is_active: bool


@dataclass
class _Organisation:
    """Everything a chunk's decisions read besides its responses, loaded once per run."""

    organisation_id: int
    rules: list[RuleSpec]
    program_of_survey: Mapping[int, int]
    thresholds: Mapping[int, tuple[int, int]]  # program → (promoter_min, detractor_max)
    people: Mapping[int, _Staff]
    units: Mapping[int, tuple[str, int | None]]  # unit → (path, manager person)
    members: frozenset[int]  # active members' user ids: who may own a case
    problems: Mapping[int, CodedProblem]  # active problems, as routing sees them
    problem_codes: Mapping[int, str]
    clock: SlaClock
    answer_filter: Q
    tables: dict[tuple[int, int], MappingTable] = field(default_factory=dict)
    deadlines: dict[tuple[str, datetime], dict[str, Any]] = field(default_factory=dict)

    def table(self, survey_id: int, version_id: int) -> MappingTable:
        key = (survey_id, version_id)
        if key not in self.tables:
            self.tables[key] = problem_mapping_table(
                organisation_id=self.organisation_id, survey_id=survey_id, version_id=version_id
            )
        return self.tables[key]

    def deadlines_of(self, priority: str, opened_at: datetime) -> dict[str, Any]:
        key = (priority, opened_at)
        if key not in self.deadlines:
            self.deadlines[key] = case_deadlines(
                clock=self.clock, priority=priority, opened_at=opened_at
            )
        return self.deadlines[key]


def _answer_filter(rules: Sequence[RuleSpec]) -> Q:
    """The answers evaluation can look at: the rules' questions, choices (which the mappings
    code), and open answers when a rule reads any of them."""
    keys: set[str] = set()
    every_text = False
    for rule in rules:
        for condition in rule.conditions:
            if isinstance(condition, (LoyaltyCondition, ScoreCondition, AnswerCondition)):
                keys.add(condition.question)
            elif isinstance(condition, (WordsCondition, CompetitorCondition)):
                if condition.question is None:
                    every_text = True
                else:
                    keys.add(condition.question)
    wanted = Q(kind__in=sorted(CHOICE_KINDS))
    if keys:
        wanted |= Q(question_key__in=sorted(keys))
    if every_text:
        wanted |= Q(kind=QuestionKind.TEXT)
    return wanted


def _organisation_load(organisation_id: int) -> _Organisation:
    rules = rules_ordered(alert_rule_specs(organisation_id))
    people = {
        pk: _Staff(unit_id, supervisor_id, user_id, is_active)
        for pk, unit_id, supervisor_id, user_id, is_active in Person.objects.filter(
            organisation_id=organisation_id
        ).values_list("pk", "unit_id", "supervisor_id", "user_id", "is_active")
    }
    units = {
        pk: (path, manager_id)
        for pk, path, manager_id in Unit.objects.filter(organisation_id=organisation_id)
        .values_list("pk", "path", "manager_id")
        .iterator()
    }
    members = frozenset(
        Membership.objects.filter(
            organisation_id=organisation_id, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    problems: dict[int, CodedProblem] = {}
    codes: dict[int, str] = {}
    for pk, code, fixable, function_id, function_active in Problem.objects.filter(
        organisation_id=organisation_id, is_active=True
    ).values_list(
        "pk", "code", "frontline_fixable", "owner_function_id", "owner_function__is_active"
    ):
        problems[pk] = CodedProblem(
            problem_id=pk,
            frontline_fixable=fixable,
            owner_function_id=function_id if function_id is not None and function_active else None,
        )
        codes[pk] = code
    return _Organisation(
        organisation_id=organisation_id,
        rules=rules,
        program_of_survey=dict(
            Survey.objects.filter(organisation_id=organisation_id).values_list("pk", "program_id")
        ),
        thresholds={
            pk: (promoter_min, detractor_max)
            for pk, promoter_min, detractor_max in Program.objects.filter(
                organisation_id=organisation_id
            ).values_list("pk", "promoter_min", "detractor_max")
        },
        people=people,
        units=units,
        members=members,
        problems=problems,
        problem_codes=codes,
        clock=sla_clock(organisation_id),
        answer_filter=_answer_filter(rules),
    )


# Reading ------------------------------------------------------------------------------------------

_RESPONSE_COLUMNS = (
    "pk",
    "survey_id",
    "version_id",
    "customer_id",
    "unit_id",
    "employee_id",
    "language",
    "completed_at",
)


def _completed(organisation_id: int) -> "models.QuerySet[Response]":
    return Response.objects.filter(
        organisation_id=organisation_id, status=ResponseStatus.COMPLETE
    ).order_by("pk")


def _chunks_by_ids(
    organisation_id: int, response_ids: Iterable[int], size: int
) -> Iterator[list[_Respondent]]:
    wanted = sorted(set(response_ids))
    for start in range(0, len(wanted), size):
        part = wanted[start : start + size]
        rows = _completed(organisation_id).filter(pk__in=part).values_list(*_RESPONSE_COLUMNS)
        yield [_Respondent(*row) for row in rows]


def _chunks_by_range(
    organisation_id: int, after_id: int, up_to_id: int | None, size: int
) -> Iterator[list[_Respondent]]:
    cursor = after_id
    while True:
        responses = _completed(organisation_id).filter(pk__gt=cursor)
        if up_to_id is not None:
            responses = responses.filter(pk__lte=up_to_id)
        rows = [_Respondent(*row) for row in responses.values_list(*_RESPONSE_COLUMNS)[:size]]
        if not rows:
            return
        yield rows
        cursor = rows[-1].response_id


def _answers_of(
    org: _Organisation, respondents: Sequence[_Respondent]
) -> dict[int, list[AnswerRow]]:
    """The chunk's answer rows that evaluation looks at, per response, in the single path's order
    (question key, then option), which is the order of the answers' unique index.

    The answers are those of the organisation's completed responses in the chunk (its id range,
    when the ids lie close together), named by a subquery: the query then reads the unique index
    by response, where a filter on the answers' organisation would have SQLite scan every answer
    of the organisation.
    """
    ids = [r.response_id for r in respondents]
    responses = _completed(org.organisation_id)
    if ids[-1] - ids[0] < 2 * len(ids):
        responses = responses.filter(pk__gte=ids[0], pk__lte=ids[-1])
    else:  # ids named far apart: a range would read the answers of every response between
        responses = responses.filter(pk__in=ids)
    query = (
        Answer.objects.filter(org.answer_filter, response_id__in=responses.values("pk"))
        .order_by("response_id", "question_key", "value_choice")
        .values_list(
            "response_id", "question_key", "kind", "value_number", "value_choice", "value_text"
        )
    )
    wanted = set(ids)
    found: dict[int, list[AnswerRow]] = defaultdict(list)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        # Plain rows: these columns need no conversion, and a million responses' answers are
        # read faster without the ORM's per-row work.
        cursor.execute(sql, params)
        for response_id, key, kind, number, choice, text in cursor.fetchall():
            if response_id in wanted:
                found[response_id].append((key, kind, number, choice, text))
    return found


# Deciding -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Opening:
    """One case to open, with what its timeline says."""

    case: dict[str, Any]
    rule: RuleSpec
    coded: tuple[CodedProblem, ...]
    via: str


def _decide(
    org: _Organisation, respondent: _Respondent, rows: Sequence[AnswerRow], opened_at: datetime
) -> _Opening | None:
    program_id = org.program_of_survey.get(respondent.survey_id)
    if program_id is None:
        return None
    promoter_min, detractor_max = org.thresholds[program_id]
    facts: ResponseFacts = facts_from_rows(
        response_id=respondent.response_id,
        program_id=program_id,
        survey_id=respondent.survey_id,
        language=respondent.language,
        promoter_min=promoter_min,
        detractor_max=detractor_max,
        rows=rows,
    )
    rule = rule_winner(org.rules, facts)
    if rule is None:
        return None
    problem_ids = mapped_problem_ids(facts, org.table(respondent.survey_id, respondent.version_id))
    coded = tuple(org.problems[pid] for pid in problem_ids if pid in org.problems)
    employee = org.people.get(respondent.employee_id) if respondent.employee_id else None
    unit_id = respondent.unit_id or (employee.unit_id if employee is not None else None)
    unit = org.units.get(unit_id) if unit_id is not None else None
    supervisor = (
        org.people.get(employee.supervisor_id)
        if employee is not None and employee.supervisor_id is not None
        else None
    )
    manager = org.people.get(unit[1]) if unit is not None and unit[1] is not None else None
    route = owner_route(
        supervisor_user_id=supervisor.user_id if supervisor and supervisor.is_active else None,
        manager_user_id=manager.user_id if manager and manager.is_active else None,
        employee_user_id=employee.user_id if employee is not None else None,
        eligible=org.members,
    )
    loop, function_id = loop_decision(concerns_employee=employee is not None, problems=coded)
    case = {
        "organisation_id": org.organisation_id,
        "response_id": respondent.response_id,
        "program_id": program_id,
        "survey_id": respondent.survey_id,
        "customer_id": respondent.customer_id,
        "unit_id": unit_id if unit is not None else None,
        "unit_path": unit[0] if unit is not None else "",
        "employee_id": respondent.employee_id if employee is not None else None,
        "alert_rule_id": rule.rule_id,
        "priority": rule.priority,
        "state": CaseState.NEW.value,
        "loop": loop.value,
        "owner_id": route.owner_id,
        "owner_function_id": function_id,
        "queue": route.owner_id is None,
        "opened_at": opened_at,
        **org.deadlines_of(rule.priority, opened_at),
    }
    return _Opening(case=case, rule=rule, coded=coded, via=route.via)


def _timeline(org: _Organisation, opening: _Opening, case_id: int) -> list[dict[str, Any]]:
    """The entries the single path records as a case opens, in its order."""
    case = opening.case
    at = case["opened_at"]

    def entry(kind: CaseEventKind, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "organisation_id": org.organisation_id,
            "case_id": case_id,
            "kind": kind.value,
            "data": data,
            "at": at,
        }

    rule = opening.rule
    entries = [entry(CaseEventKind.OPENED, {"alert_rule": rule.rule_id, "priority": rule.priority})]
    if opening.coded:
        codes = [org.problem_codes[c.problem_id] for c in opening.coded]
        entries.append(
            entry(
                CaseEventKind.CODED,
                {
                    "added": codes,
                    "removed": [],
                    "problems": list(codes),
                    "source": CodingSource.ANSWER.value,
                },
            )
        )
    entries.append(
        entry(
            CaseEventKind.ROUTED,
            {"to_owner": case["owner_id"], "via": opening.via, "loop": case["loop"]},
        )
    )
    if case["owner_function_id"] is not None:
        entries.append(
            entry(
                CaseEventKind.LINKED,
                {"from_function": None, "to_function": case["owner_function_id"]},
            )
        )
    return entries


# Writing ------------------------------------------------------------------------------------------


def _sqlite_moment(value: datetime | None) -> str | None:
    """A moment as Django stores it on SQLite (naive UTC text), without its per-value checks."""
    return None if value is None else str(value.astimezone(UTC).replace(tzinfo=None))


def value_adapter(model_field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    """How a value of the field goes into a plain INSERT on this database."""
    ops = connection.ops
    if isinstance(model_field, models.DateTimeField):
        if connection.vendor == "sqlite":
            return _sqlite_moment
        return lambda value: None if value is None else ops.adapt_datetimefield_value(value)
    if isinstance(model_field, models.DateField):
        return lambda value: None if value is None else ops.adapt_datefield_value(value)
    if isinstance(model_field, models.JSONField):
        return lambda value: model_field.get_db_prep_save(value, connection)
    return lambda value: value


def rows_insert(
    model: type[models.Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    stamp: datetime,
    on_conflict: str = "",
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert rows (values by field attname; the rest take their defaults, `created_at` and
    `updated_at` the stamp) with multi-row INSERTs; the `returning` columns of the rows written.

    `on_conflict` is the SQL after ON CONFLICT (`(response_id) WHERE ... DO NOTHING`): rows it
    skips are not returned. On PostgreSQL the rows go by COPY, or, to skip conflicts or return
    columns, as one array per column through `unnest`: a statement of a few parameters that the
    driver does not have to parse for thousands of placeholders. Elsewhere as VALUES lists.
    """
    if not rows:
        return []
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    adapters = [value_adapter(f) for f in fields]
    defaults = {f.attname: f.get_default() for f in fields}
    defaults["created_at"] = defaults["updated_at"] = stamp
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    tail = f" ON CONFLICT {on_conflict}" if on_conflict else ""
    if returning:
        tail += " RETURNING " + ", ".join(quote(name) for name in returning)
    postgresql = connection.vendor == "postgresql"
    if postgresql and not tail:
        # Nothing to skip or return: COPY, the fastest way in, its rows encoded by the driver.
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(
                    [
                        adapt(row.get(f.attname, defaults[f.attname]))
                        for f, adapt in zip(fields, adapters, strict=True)
                    ]
                )
        return []
    arrays = postgresql
    if arrays:
        typed = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        statement = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({typed}){tail}"  # noqa: S608
        size = ROWS_PER_ARRAY_STATEMENT
    else:
        one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        size = ROWS_PER_STATEMENT
    written: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            if arrays:
                params: list[Any] = [
                    [adapt(row.get(f.attname, defaults[f.attname])) for row in part]
                    for f, adapt in zip(fields, adapters, strict=True)
                ]
            else:
                statement = (
                    f"INSERT INTO {table} ({columns}) "  # noqa: S608
                    f"VALUES {', '.join([one_row] * len(part))}{tail}"
                )
                params = [
                    adapt(row.get(f.attname, defaults[f.attname]))
                    for row in part
                    for f, adapt in zip(fields, adapters, strict=True)
                ]
            cursor.execute(statement, params)
            if returning:
                written.extend(tuple(row) for row in cursor.fetchall())
    return written


# A case opened meanwhile for one of the chunk's responses (by the sweep) stays as it is.
_ONE_PER_RESPONSE = "(response_id) WHERE response_id IS NOT NULL DO NOTHING"


def _chunk_write(
    org: _Organisation, openings: Sequence[_Opening], result: BulkOpening, stamp: datetime
) -> None:
    written = rows_insert(
        Case,
        [o.case for o in openings],
        stamp=stamp,
        on_conflict=_ONE_PER_RESPONSE,
        returning=("id", "response_id"),
    )
    case_of = {response_id: case_id for case_id, response_id in written}
    events: list[dict[str, Any]] = []
    codings: list[dict[str, Any]] = []
    for opening in openings:
        case_id = case_of.get(opening.case["response_id"])
        if case_id is None:
            result.already += 1
            continue
        events += _timeline(org, opening, case_id)
        codings += [
            {
                "organisation_id": org.organisation_id,
                "case_id": case_id,
                "problem_id": coded.problem_id,
                "source": CodingSource.ANSWER.value,
            }
            for coded in opening.coded
        ]
        result.opened += 1
        result.by_priority[opening.case["priority"]] += 1
        result.case_ids.append(case_id)
    rows_insert(CaseEvent, events, stamp=stamp)
    rows_insert(CaseProblem, codings, stamp=stamp)


def cases_open_bulk(
    *,
    organisation_id: int,
    response_ids: Iterable[int] | None = None,
    after_id: int = 0,
    up_to_id: int | None = None,
    now: datetime | None = None,
    opened_after_completion: timedelta | None = None,
    chunk: int = CHUNK,
) -> BulkOpening:
    """Evaluate the organisation's completed responses and open the cases the rules call for.

    Either the responses named by `response_ids`, or those with ids after `after_id` and up to
    `up_to_id` (every one, left out). Other organisations' responses and unfinished ones are
    passed over. Cases open at `now`, as the single path opens them; with
    `opened_after_completion`, each that long after its response was completed instead, as the
    sweep would have opened them at the time (a backfill of history).
    """
    at = now or timezone.now()
    stamp = timezone.now()
    result = BulkOpening()
    org = _organisation_load(organisation_id)
    if not org.rules:
        return result
    chunks = (
        _chunks_by_range(organisation_id, after_id, up_to_id, chunk)
        if response_ids is None
        else _chunks_by_ids(organisation_id, response_ids, chunk)
    )
    for respondents in chunks:
        if not respondents:
            continue
        result.evaluated += len(respondents)
        ids = [r.response_id for r in respondents]
        with transaction.atomic():
            # A range reads the index of the case's unique response like an IN list would,
            # without sending the chunk's ids twice.
            wanted = set(ids)
            has_case = wanted & set(
                Case.objects.filter(response_id__gte=ids[0], response_id__lte=ids[-1]).values_list(
                    "response_id", flat=True
                )
            )
            result.already += len(has_case)
            fresh = [r for r in respondents if r.response_id not in has_case]
            answers = _answers_of(org, fresh) if fresh else {}
            openings = []
            for respondent in fresh:
                opened_at = (
                    respondent.completed_at + opened_after_completion
                    if opened_after_completion is not None
                    else at
                )
                opening = _decide(
                    org, respondent, answers.get(respondent.response_id, ()), opened_at
                )
                if opening is not None:
                    openings.append(opening)
            _chunk_write(org, openings, result, stamp)
    return result
