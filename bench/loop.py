"""Closing the loop in bulk: alert rules evaluated over completed responses, and the cases they
call for opened and routed, per second, on PostgreSQL and SQLite.

Builds an organisation like a retail bank's: 12 regions of 24 branches, each branch with a
manager who has an account (every twelfth has none, so its cases wait in the queue) and four
frontline employees who report to them; a transactional program with a survey after a branch
visit and one after a call, in en/ro/pl; a small problem taxonomy owned by HQ functions, with
the reasons' options mapped to it; and 8 alert rules: rude words in three languages (urgent),
angry detractors (0–3), the staff-attitude reason and a competitor named (high), detractors and
a low CSAT on calls (normal), passives with a middling CSAT (low), and a non-response rule,
which evaluates accounts, not responses. Then it writes --responses completed responses over the
last 180 days with their answers by INSERT ... SELECT over a number series (indexes dropped
during the load and built after it, as a restore does): the recommendation (25% detractors),
one or two reasons for detractors, a CSAT on calls, and an open answer for a third of them (some
rude, some naming a competitor), 80% about an employee. Each value is a function of the
response's number, so every run writes the same answers.

Measured: `sonda.loop.bulk.cases_open_bulk` over all of them, as the organisation's chunks of
5,000: answers read, rules evaluated, cases inserted with their timeline (opened, coded, routed,
linked), option codings and SLA deadlines. The baseline, in the same run: the very case rows it
wrote, read back, deleted with their timeline and written again by bare multi-row INSERTs (500
rows a statement on SQLite; on PostgreSQL 5,000 as arrays through `unnest`, as the evaluator
writes them; 5,000 a transaction): the least any evaluator must do to store those cases.
Then a second run of the evaluator over the same responses, which must open nothing.

    .venv/bin/python bench/loop.py [--responses N] [--engine sqlite|postgresql|both]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

N defaults to 1,000,000 on PostgreSQL and 200,000 on SQLite. SQLite runs on a temporary file;
PostgreSQL on a scratch database (`sonda_bench_loop`) created and dropped around the run. Each
engine runs in its own process, set up like a production Sonda (settings from the environment,
`manage.py migrate`).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from scratch import child_environment, postgres_drop, postgres_scratch

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = os.environ.get(
    "SONDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SCRATCH_DATABASE = "sonda_bench_loop"
RESULT_PREFIX = "RESULT "
DEFAULT_RESPONSES = {"postgresql": 1_000_000, "sqlite": 200_000}
REGIONS = 12
BRANCHES_PER_REGION = 24
BRANCHES = REGIONS * BRANCHES_PER_REGION
STAFF_PER_BRANCH = 4
NOW = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
SPAN_S = 180 * 86_400
BASELINE_STATEMENT = 500
BASELINE_TRANSACTION = 5_000
# Recommendation k for a percentile below CUTS[k]; 10 above the last: 25% detractors.
CUTS = (3, 5, 8, 11, 14, 18, 25, 38, 55, 75)
REASONS = ("waiting", "staff", "fees", "app", "paperwork")
COMMENTS = {  # language → what the open answer says, by h2 % 10 (0: rude, 1: a competitor)
    "en": ("The cashier was rude to me.", "I am moving to Danubia Bank.", "Thank you."),
    "ro": ("Casierul a fost nepoliticos.", "Trec la Danubia Bank.", "Mulțumesc."),
    "pl": ("Kasjerka była niegrzeczna.", "Przechodzę do Danubia Bank.", "Dziękuję."),
}


# --- the parent: one child process per engine ----------------------------------------------------


@dataclass(frozen=True)
class Run:
    engine: str
    responses: int
    load_s: float
    evaluate_s: float
    opened: int
    events: int
    codings: int
    baseline_s: float
    again_s: float
    by_priority: dict[str, int] = field(default_factory=dict)

    @property
    def response_rate(self) -> float:
        return self.responses / self.evaluate_s

    @property
    def case_rate(self) -> float:
        return self.opened / self.evaluate_s

    @property
    def baseline_rate(self) -> float:
        return self.opened / self.baseline_s


def _child(engine: str, url: str, responses: int, var_dir: str) -> Run:
    env = child_environment(url, var_dir)
    command = [sys.executable, __file__, "--child", engine, "--responses", str(responses)]
    process = subprocess.run(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False
    )
    result = None
    for line in process.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = Run(**json.loads(line.removeprefix(RESULT_PREFIX)))
        else:
            print(line, flush=True)
    if process.returncode != 0 or result is None:
        raise SystemExit(f"{engine}: the benchmark failed (exit {process.returncode})")
    return result


def parent(args: argparse.Namespace) -> list[Run]:
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    runs = []
    for engine in engines:
        responses = args.responses or DEFAULT_RESPONSES[engine]
        with tempfile.TemporaryDirectory(prefix="sonda-bench-") as var_dir:
            if engine == "sqlite":
                url = f"sqlite:///{var_dir}/bench.sqlite3"
                runs.append(_child(engine, url, responses, var_dir))
                continue
            try:
                url = postgres_scratch(args.postgres_url, SCRATCH_DATABASE)
            except psycopg.OperationalError as exc:
                print(f"SKIPPED PostgreSQL: no server answers at {args.postgres_url} ({exc})")
                continue
            try:
                runs.append(_child(engine, url, responses, var_dir))
            finally:
                postgres_drop(args.postgres_url, SCRATCH_DATABASE)
    print()
    print(
        f"{'engine':<11} {'responses':>10} {'responses/s':>12} {'cases':>8} {'cases/s':>8} "
        f"{'bare insert/s':>14} {'ratio':>6} {'again s':>8}"
    )
    for run in runs:
        print(
            f"{run.engine:<11} {run.responses:>10,} {run.response_rate:>12,.0f} "
            f"{run.opened:>8,} {run.case_rate:>8,.0f} {run.baseline_rate:>14,.0f} "
            f"{run.case_rate / run.baseline_rate:>6.3f} {run.again_s:>8.1f}"
        )
    print(
        "responses/s = completed responses evaluated per second; cases/s = cases opened and "
        "routed per second (with their timeline, codings and deadlines); ratio = cases/s / bare "
        "insert/s of the same case rows; again = a second run over the same responses (opens "
        "nothing)"
    )
    return runs


# --- the child: one engine -----------------------------------------------------------------------


@dataclass
class World:
    organisation_id: int
    program_id: int
    surveys: dict[str, dict[str, int]]  # visit / call → survey, version and question ids
    branches: list[tuple[int, str, list[int]]]  # unit id, path, frontline people


def _world() -> World:
    """Migrate; the bank, its people and accounts, surveys, taxonomy and alert rules."""
    from django.core.management import call_command

    from sonda.accounts.access import scope_for
    from sonda.accounts.models import Role
    from sonda.accounts.services import membership_set, organisation_create, user_create
    from sonda.loop.rules import alert_rule_create
    from sonda.loop.taxonomy import function_create, problem_create, problem_mapping_set
    from sonda.org.models import Person, Unit
    from sonda.org.services import unit_create, unit_type_create
    from sonda.surveys import services
    from sonda.surveys.models import Question
    from sonda.surveys.specs import spec_from_json

    call_command("migrate", verbosity=0)
    organisation = organisation_create(name="Bench Bank", slug="bench", time_zone="UTC")
    admin = user_create(email="admin@bench.example", password=None)
    membership_set(organisation=organisation, user=admin, role=Role.ADMIN)
    scope = scope_for(admin, organisation)
    assert scope is not None
    region_type = unit_type_create(scope=scope, code="region", name="Region")
    branch_type = unit_type_create(scope=scope, code="branch", name="Branch")
    branches: list[tuple[int, str, list[int]]] = []
    for r in range(REGIONS):
        region = unit_create(
            scope=scope, code=f"R{r}", name=f"Region {r}", unit_type_id=region_type.pk
        )
        for b in range(BRANCHES_PER_REGION):
            branch = unit_create(
                scope=scope,
                code=f"R{r}B{b}",
                name=f"Branch {r}-{b}",
                unit_type_id=branch_type.pk,
                parent_id=region.pk,
            )
            number = len(branches)
            user = None
            if number % 12 != 11:
                user = user_create(email=f"manager{number}@bench.example", password=None)
                membership_set(organisation=organisation, user=user, role=Role.MANAGER, unit=branch)
            manager = Person.objects.create(
                organisation=organisation,
                employee_number=f"M{number}",
                full_name=f"Manager {number}",
                unit=branch,
                user=user,
            )
            Unit.objects.filter(pk=branch.pk).update(manager=manager)
            staff = Person.objects.bulk_create(
                Person(
                    organisation=organisation,
                    employee_number=f"E{number}-{n}",
                    full_name=f"Employee {number}-{n}",
                    unit=branch,
                    supervisor=manager,
                )
                for n in range(STAFF_PER_BRANCH)
            )
            branches.append((branch.pk, branch.path, [p.pk for p in staff]))
    program = services.program_create(scope=scope, name="Service", kind="transactional")

    def text(en: str) -> dict[str, str]:
        return {"en": en, "ro": en, "pl": en}

    def option(code: str) -> dict[str, Any]:
        return {"code": code, "labels": text(code.title())}

    questions = [
        {"key": "ltr", "kind": "nps", "required": True, "text": text("Recommend us?")},
        {
            "key": "reasons",
            "kind": "multi_choice",
            "text": text("What went wrong?"),
            "options": [option(code) for code in REASONS],
            "condition": {"question": "ltr", "op": "lte", "value": 6},
        },
        {"key": "comment", "kind": "text", "page": 2, "text": text("Anything else?")},
    ]
    csat = {"key": "csat", "kind": "csat", "page": 2, "scale_max": 5, "text": text("Satisfied?")}
    surveys: dict[str, dict[str, int]] = {}
    for name, asked in (("visit", questions), ("call", [*questions, csat])):
        survey = services.survey_create(
            scope=scope,
            program_id=program.pk,
            name=f"After a {name}",
            languages=["en", "ro", "pl"],
            default_language="en",
            questions=[spec_from_json(q, index=i) for i, q in enumerate(asked)],
        )
        version = services.survey_publish(scope=scope, survey_id=survey.pk)
        surveys[name] = {"survey": survey.pk, "version": version.pk}
        for key, pk in Question.objects.filter(version=version).values_list("key", "pk"):
            surveys[name][key] = pk

    retail = function_create(scope=scope, name="Retail operations")
    pricing = function_create(scope=scope, name="Pricing")
    digital = function_create(scope=scope, name="Digital")
    owners = {
        "waiting": (retail, False),
        "staff": (retail, True),
        "fees": (pricing, False),
        "app": (digital, False),
        "paperwork": (retail, False),
    }
    for code, (function, fixable) in owners.items():
        problem = problem_create(
            scope=scope,
            code=code,
            labels=text(code.title()),
            owner_function_id=function.pk,
            frontline_fixable=fixable,
        )
        problem_mapping_set(
            scope=scope, question_key="reasons", option_code=code, problem_id=problem.pk
        )
    rules: list[tuple[str, list[dict[str, Any]], str, dict[str, Any]]] = [
        (
            "Rude",
            [
                {
                    "kind": "words",
                    "phrases": {"en": ["rude"], "ro": ["nepoliticos*"], "pl": ["niegrzeczn*"]},
                }
            ],
            "urgent",
            {},
        ),
        ("Angry", [{"kind": "score", "question": "ltr", "max": 3}], "high", {}),
        (
            "Staff attitude",
            [{"kind": "answer", "question": "reasons", "options": ["staff"]}],
            "high",
            {},
        ),
        ("Competitor", [{"kind": "competitor", "names": ["Danubia Bank"]}], "high", {}),
        (
            "Detractors",
            [{"kind": "loyalty", "question": "ltr", "classes": ["detractor"]}],
            "normal",
            {},
        ),
        (
            "Low CSAT",
            [{"kind": "score", "question": "csat", "max": 2}],
            "normal",
            {"survey_id": surveys["call"]["survey"]},
        ),
        (
            "Lukewarm",
            [
                {"kind": "loyalty", "question": "ltr", "classes": ["passive"]},
                {"kind": "score", "question": "csat", "max": 3},
            ],
            "low",
            {"survey_id": surveys["call"]["survey"]},
        ),
        ("Gone quiet", [{"kind": "non_response", "days": 90}], "low", {"program_id": program.pk}),
    ]
    for position, (name, conditions, priority, where) in enumerate(rules):
        alert_rule_create(
            scope=scope,
            name=name,
            conditions=conditions,
            priority=priority,
            position=position,
            **where,
        )
    return World(organisation.pk, program.pk, surveys, branches)


def _indexes(cursor: Any, vendor: str, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the tables' plain indexes: not those behind a constraint."""
    names = ", ".join(f"'{table}'" for table in tables)
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            f"AND tbl_name IN ({names}) AND sql IS NOT NULL"
        )
    else:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            f"({names}) AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    return [(name, sql) for name, sql in cursor.fetchall() if " UNIQUE " not in sql.upper()]


def _hash(i: str, salt: int, multiplier: int) -> str:
    """A percentile (0–99) of response number `i`, as SQL: a multiplicative hash."""
    return f"((({i}) + {salt}) * {multiplier} % 4294967296 / 65536 % 100)"


def _load(world: World, count: int) -> float:
    """Write `count` completed responses and their answers; seconds taken."""
    from django.db import connection, transaction

    from sonda.surveys.tallies import tallies_install, tallies_uninstall

    vendor = connection.vendor
    started = time.perf_counter()
    stamp = connection.ops.adapt_datetimefield_value(NOW)
    start = int((NOW - timedelta(seconds=SPAN_S)).timestamp())
    if vendor == "sqlite":
        series = (
            f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1})"
        )
        source, number = "n", "i"
        epoch = f"({start} + i * {SPAN_S} / {count})"
        at = f"datetime({epoch}, 'unixepoch')"
    else:
        series, source, number = "", f"generate_series(0, {count - 1}) AS n(i)", "i::bigint"
        epoch = f"({start} + i::bigint * {SPAN_S} / {count})"
        at = f"to_timestamp({epoch})"
    h1 = _hash(number, 1, 2654435761)
    h2 = _hash(number, 7, 2246822519)
    h3 = _hash(number, 13, 3266489917)
    score = "CASE " + " ".join(f"WHEN {h1} < {cut} THEN {k}" for k, cut in enumerate(CUTS))
    score += " ELSE 10 END"
    employee = f"CASE ({number} / {BRANCHES}) % 5 " + " ".join(
        f"WHEN {slot} THEN u.e{slot}" for slot in range(STAFF_PER_BRANCH)
    )
    employee += " ELSE NULL END"
    language = f"CASE WHEN {h3} % 10 < 5 THEN 'ro' WHEN {h3} % 10 < 8 THEN 'pl' ELSE 'en' END"
    staff = ", ".join(f"e{slot} bigint" for slot in range(STAFF_PER_BRANCH))
    visit, call = world.surveys["visit"], world.surveys["call"]
    # Like a restore: the rows are right by construction, so foreign keys are not checked row by
    # row and indexes are built once at the end; the daily tallies' triggers are left out of the
    # load (nothing here reads the tallies, so they are not counted afterwards either).
    tallies_uninstall()
    with connection.cursor() as cursor:
        cursor.execute(
            "PRAGMA foreign_keys = OFF"
            if vendor == "sqlite"
            else "SET session_replication_role = replica"
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE bench_unit (idx integer, id bigint, path text, {staff})"
        )
        cursor.executemany(
            f"INSERT INTO bench_unit VALUES (%s, %s, %s, {', '.join(['%s'] * STAFF_PER_BRANCH)})",
            [(n, unit, path, *people) for n, (unit, path, people) in enumerate(world.branches)],
        )
        cursor.execute("CREATE TEMPORARY TABLE bench_comment (language text, k integer, body text)")
        cursor.executemany(
            "INSERT INTO bench_comment VALUES (%s, %s, %s)",
            [(lang, k, texts[min(k, 2)]) for lang, texts in COMMENTS.items() for k in range(10)],
        )
        # Each response's drawn facts, once: number, unit, employee, survey, score, language.
        cursor.execute(
            f"CREATE TEMPORARY TABLE bench_response AS {series} "
            f"SELECT {number} + 1 AS id, u.id AS unit_id, u.path AS unit_path, "
            f"{employee} AS employee_id, {number} % 3 = 0 AS is_call, {score} AS score, "
            f"{language} AS language, {h2} AS h2, {h3} AS h3, {at} AS answered, "
            f"{epoch} / 86400 AS local_day, {epoch} % 86400 / 3600 AS local_hour "
            f"FROM {source} JOIN bench_unit u ON u.idx = {number} % {BRANCHES}"
        )
        dropped = _indexes(cursor, vendor, ("surveys_response", "surveys_answer"))
        for name, _sql in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
        survey_of = f"CASE WHEN r.is_call THEN {call['survey']} ELSE {visit['survey']} END"
        version_of = f"CASE WHEN r.is_call THEN {call['version']} ELSE {visit['version']} END"
        cursor.execute(
            "INSERT INTO surveys_response (id, organisation_id, created_at, updated_at, "
            "survey_id, version_id, customer_id, unit_id, employee_id, touchpoint, channel, "
            "journey, stage, language, status, source, external_id, current_page, client_key, "
            "started_at, completed_at) "
            f"SELECT r.id, %s, %s, %s, {survey_of}, {version_of}, NULL, r.unit_id, "
            "r.employee_id, CASE WHEN r.is_call THEN 'call' ELSE 'branch visit' END, 'email', "
            "'', '', r.language, 'complete', 'import', '', 2, '', r.answered, r.answered "
            "FROM bench_response r",
            [world.organisation_id, stamp, stamp],
        )

        def answers(
            key: str, kind: str, number_sql: str, choice: str, text: str, where: str
        ) -> None:
            question = f"CASE WHEN r.is_call THEN {call[key]} ELSE {visit.get(key, call[key])} END"
            cursor.execute(
                "INSERT INTO surveys_answer (organisation_id, created_at, updated_at, "
                "response_id, question_id, question_key, kind, value_number, value_text, "
                "value_choice, program_id, survey_id, version_id, customer_id, unit_id, "
                "unit_path, employee_id, touchpoint, channel, journey, stage, language, "
                "answered_at, local_day, local_hour, is_complete) "
                f"SELECT %s, %s, %s, r.id, {question}, '{key}', '{kind}', {number_sql}, {text}, "
                f"{choice}, %s, {survey_of}, {version_of}, NULL, r.unit_id, r.unit_path, "
                "r.employee_id, CASE WHEN r.is_call THEN 'call' ELSE 'branch visit' END, "
                "'email', '', '', r.language, r.answered, r.local_day, r.local_hour, %s "
                f"FROM bench_response r LEFT JOIN bench_comment c ON c.language = r.language "
                f"AND c.k = r.h2 %% 10 WHERE {where}",
                [world.organisation_id, stamp, stamp, world.program_id, True],
            )

        def reason(offset: int) -> str:
            return (
                f"CASE (r.h2 + {offset}) %% 5 "  # %% is a percent sign once the params go in
                + " ".join(f"WHEN {n} THEN '{code}'" for n, code in enumerate(REASONS))
                + " END"
            )

        answers("ltr", "nps", "r.score", "''", "''", "1 = 1")
        answers("reasons", "multi_choice", "NULL", reason(0), "''", "r.score <= 6")
        answers("reasons", "multi_choice", "NULL", reason(2), "''", "r.score <= 6 AND r.h2 >= 60")
        answers("csat", "csat", "r.score * 4 / 10 + 1", "''", "''", "r.is_call")
        answers("comment", "text", "NULL", "''", "c.body", "r.h3 < 35")
        for _name, sql in dropped:
            cursor.execute(sql)
        cursor.execute("DROP TABLE bench_response")
        cursor.execute("DROP TABLE bench_comment")
        cursor.execute("DROP TABLE bench_unit")
        if vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('surveys_response', 'id'), %s)", [count]
            )
    with connection.cursor() as cursor:
        cursor.execute(
            "PRAGMA foreign_keys = ON"
            if vendor == "sqlite"
            else "SET session_replication_role = DEFAULT"
        )
    tallies_install()
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("surveys_response", "surveys_answer"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def _baseline(organisation_id: int) -> tuple[float, int]:
    """Read the cases back, delete them with their timeline and codings, and time writing the
    same case rows again by bare multi-row INSERTs; (seconds, rows)."""
    from django.db import connection, transaction

    from sonda.loop.bulk import value_adapter
    from sonda.loop.models import Case

    fields = [f for f in Case._meta.concrete_fields if not f.primary_key]
    adapters = [value_adapter(f) for f in fields]
    rows = [
        [adapt(value) for adapt, value in zip(adapters, row, strict=True)]
        for row in Case.objects.filter(organisation_id=organisation_id)
        .order_by("pk")
        .values_list(*(f.attname for f in fields))
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        # Plain SQL: the ORM's cascade would list every id.
        for table in ("loop_caseevent", "loop_caseproblem", "loop_case"):
            cursor.execute(f"DELETE FROM {table} WHERE organisation_id = %s", [organisation_id])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("loop_caseevent", "loop_caseproblem", "loop_case"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        # The evaluator's own way on PostgreSQL: one array per column, no placeholders to parse.
        typed = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        statement, per_statement = (
            f"INSERT INTO loop_case ({columns}) SELECT * FROM unnest({typed})",
            BASELINE_TRANSACTION,
        )
    else:
        one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        per_statement = BASELINE_STATEMENT
    started = time.perf_counter()
    for start in range(0, len(rows), BASELINE_TRANSACTION):
        batch = rows[start : start + BASELINE_TRANSACTION]
        with transaction.atomic(), connection.cursor() as cursor:
            for part_start in range(0, len(batch), per_statement):
                part = batch[part_start : part_start + per_statement]
                if postgresql:
                    cursor.execute(statement, [list(column) for column in zip(*part, strict=True)])
                else:
                    cursor.execute(
                        f"INSERT INTO loop_case ({columns}) VALUES "
                        f"{', '.join([one_row] * len(part))}",
                        [value for row in part for value in row],
                    )
    return time.perf_counter() - started, len(rows)


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from sonda.loop.bulk import cases_open_bulk
    from sonda.loop.models import Case, CaseEvent, CaseProblem
    from sonda.surveys.models import Answer

    engine = args.child
    started = time.perf_counter()
    world = _world()
    setup_s = time.perf_counter() - started
    load_s = _load(world, args.responses)
    answers = Answer.objects.filter(organisation_id=world.organisation_id).count()
    print(
        f"{engine}: {BRANCHES} branches, {BRANCHES * (STAFF_PER_BRANCH + 1):,} people, 8 alert "
        f"rules in {setup_s:.1f} s; {args.responses:,} completed responses with {answers:,} "
        f"answers written in {load_s:.1f} s",
        flush=True,
    )

    started = time.perf_counter()
    result = cases_open_bulk(organisation_id=world.organisation_id, now=NOW)
    evaluate_s = time.perf_counter() - started
    events = CaseEvent.objects.filter(organisation_id=world.organisation_id).count()
    codings = CaseProblem.objects.filter(organisation_id=world.organisation_id).count()
    assert result.evaluated == args.responses, result.evaluated
    assert result.opened == Case.objects.filter(organisation_id=world.organisation_id).count()
    queued = Case.objects.filter(organisation_id=world.organisation_id, queue=True).count()
    priorities = ", ".join(f"{p} {n:,}" for p, n in sorted(result.by_priority.items()))
    print(
        f"{engine}: evaluated {result.evaluated:,} responses in {evaluate_s:.2f} s: "
        f"{result.opened:,} cases ({priorities}; {queued:,} in the queue), {events:,} timeline "
        f"entries, {codings:,} root-cause codings",
        flush=True,
    )

    baseline_s, rows = _baseline(world.organisation_id)
    assert rows == result.opened
    print(f"{engine}: bare insert of the {rows:,} case rows in {baseline_s:.2f} s", flush=True)

    started = time.perf_counter()
    again = cases_open_bulk(organisation_id=world.organisation_id, now=NOW + timedelta(hours=1))
    again_s = time.perf_counter() - started
    assert again.opened == 0, again.opened
    assert again.already == result.opened, (again.already, result.opened)
    print(
        f"{engine}: a second run over the same responses opened {again.opened} cases "
        f"in {again_s:.2f} s",
        flush=True,
    )
    run = Run(
        engine=engine,
        responses=args.responses,
        load_s=load_s,
        evaluate_s=evaluate_s,
        opened=result.opened,
        events=events,
        codings=codings,
        baseline_s=baseline_s,
        again_s=again_s,
        by_priority=dict(Counter(result.by_priority)),
    )
    print(RESULT_PREFIX + json.dumps(run.__dict__), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--responses",
        type=int,
        default=None,
        help="completed responses to evaluate (default: 1,000,000 on PostgreSQL, 200,000 on "
        "SQLite)",
    )
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.responses is not None and args.responses < BRANCHES:
        parser.error(f"--responses must be at least {BRANCHES} (one per branch)")
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
