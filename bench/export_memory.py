"""Peak memory of exporting a million answers to Parquet, against two baselines in the same run.

Builds a scratch SQLite database (migrated like a production Sonda) holding --answers answers
(four per response: an NPS score, a reason, a rating and an open comment), written with plain
`INSERT ... SELECT` over a number series. Then three processes run one after another, each
reporting its own peak resident memory (`getrusage(RUSAGE_SELF).ru_maxrss`) and time:

- count: the same process setup as the export (Django, the export module, pyarrow imported),
  counting the rows the export would write: what any export costs before its first row;
- export: `sonda export answers --format parquet` exactly as the command runs it, streamed in
  chunks of --chunk-size rows;
- in memory: the same rows read whole into memory and written as one Parquet table, the way an
  export that does not stream would do it.

The issue's bar is an export of 1,000,000 answers under 500 MB.

    .venv/bin/python bench/export_memory.py [--answers 1000000] [--chunk-size 20000]
"""

import argparse
import io
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "RESULT "
ORGANISATION = "bench"
STARTED = datetime(2025, 5, 1, tzinfo=UTC)
BAR_MB = 500
MODES = ("count", "export", "in-memory")


@dataclass(frozen=True)
class Run:
    mode: str
    rows: int
    seconds: float
    peak_mb: float


# --- the parent: one process per measurement -----------------------------------------------------


def _child(mode: str, args: argparse.Namespace, var_dir: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SONDA_DATABASE_URL": f"sqlite:///{var_dir}/bench.sqlite3",
        "SONDA_SECRET_KEY": secrets.token_urlsafe(32),
        "SONDA_VAR_DIR": var_dir,
        "SONDA_LOG_LEVEL": "WARNING",
    }
    for name in ("SONDA_DEBUG", "SONDA_TESTING"):
        env.pop(name, None)  # DEBUG would keep every query in memory
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--answers",
        str(args.answers),
        "--chunk-size",
        str(args.chunk_size),
        "--out",
        str(Path(var_dir) / f"{mode}.parquet"),
    ]
    process = subprocess.run(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False
    )
    result = None
    for line in process.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line.removeprefix(RESULT_PREFIX))
        else:
            print(line, flush=True)
    if process.returncode != 0 or result is None:
        raise SystemExit(f"{mode}: the benchmark failed (exit {process.returncode})")
    return result


def parent(args: argparse.Namespace) -> list[Run]:
    with tempfile.TemporaryDirectory(prefix="sonda-bench-") as var_dir:
        built = _child("setup", args, var_dir)
        print(
            f"setup: {built['responses']:,} responses and {built['answers']:,} answers "
            f"in {built['seconds']:.1f} s",
            flush=True,
        )
        runs = [Run(**_child(mode, args, var_dir)) for mode in MODES]
    print()
    print(f"{'mode':<10} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>12}")
    for run in runs:
        rate = run.rows / run.seconds if run.seconds else 0
        print(
            f"{run.mode:<10} {run.rows:>10,} {run.seconds:>8.1f} {rate:>9,.0f} "
            f"{run.peak_mb:>12,.0f}"
        )
    by_mode = {run.mode: run for run in runs}
    export, count, whole = by_mode["export"], by_mode["count"], by_mode["in-memory"]
    print(
        f"streamed export: {export.peak_mb - count.peak_mb:,.0f} MB above the count's process, "
        f"{whole.peak_mb / export.peak_mb:.1f}x less than in memory; "
        f"bar {BAR_MB} MB: {'met' if export.peak_mb < BAR_MB else 'NOT met'}"
    )
    return runs


# --- the children ------------------------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _setup(answers: int) -> dict[str, Any]:
    """Migrate, create an organisation with a survey, and write `answers` answers in SQL."""
    # Django is set up in the child only, with the benchmark's own database.
    from django.core.management import call_command
    from django.db import connection, transaction

    from sonda.accounts.access import scope_for
    from sonda.accounts.models import Role
    from sonda.accounts.services import membership_set, organisation_create, user_create
    from sonda.org.services import unit_create, unit_type_create
    from sonda.surveys import services
    from sonda.surveys.models import Question
    from sonda.surveys.specs import spec_from_json

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    organisation = organisation_create(name="Bench Bank", slug=ORGANISATION)
    admin = user_create(email="admin@bench.example", password=None)
    membership_set(organisation=organisation, user=admin, role=Role.ADMIN)
    scope = scope_for(admin, organisation)
    assert scope is not None
    branch = unit_type_create(scope=scope, code="branch", name="Branch")
    units = [
        unit_create(scope=scope, code=f"B{n}", name=f"Branch {n}", unit_type_id=branch.pk)
        for n in range(1, 11)
    ]
    texts = {"en": "Question", "ro": "Întrebare", "pl": "Pytanie"}
    questions = [
        {"key": "ltr", "kind": "nps", "text": texts},
        {
            "key": "reasons",
            "kind": "multi_choice",
            "text": texts,
            "options": [
                {"code": "waiting", "labels": texts},
                {"code": "fees", "labels": texts},
            ],
        },
        {"key": "speed", "kind": "rating", "scale_max": 5, "text": texts},
        {"key": "comment", "kind": "text", "text": texts},
    ]
    program = services.program_create(scope=scope, name="Service", kind="transactional")
    survey = services.survey_create(
        scope=scope,
        program_id=program.pk,
        name="After a visit",
        languages=["en", "ro", "pl"],
        default_language="ro",
        questions=[spec_from_json(q, index=i) for i, q in enumerate(questions)],
    )
    version = services.survey_publish(scope=scope, survey_id=survey.pk)
    assert Question.objects.filter(version=version).count() == 4
    responses = answers // 4
    now = connection.ops.adapt_datetimefield_value(STARTED)
    unit_case = " ".join(f"WHEN {n} THEN {unit.pk}" for n, unit in enumerate(units))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
            "INSERT INTO surveys_response (organisation_id, created_at, updated_at, survey_id, "
            "version_id, customer_id, unit_id, employee_id, touchpoint, channel, journey, stage, "
            "language, status, source, external_id, current_page, client_key, started_at, "
            "completed_at) "
            "SELECT %s, %s, %s, %s, %s, NULL, "
            f"CASE i % 10 {unit_case} END, NULL, 'branch visit', "
            "CASE i % 3 WHEN 0 THEN 'email' WHEN 1 THEN 'sms' ELSE 'kiosk' END, '', '', "
            "CASE i % 3 WHEN 0 THEN 'en' WHEN 1 THEN 'ro' ELSE 'pl' END, 'complete', 'import', "
            "'bench-' || i, 1, '', datetime(%s, '+' || i || ' minutes'), "
            "datetime(%s, '+' || i || ' minutes') FROM n",
            [responses, organisation.pk, now, now, survey.pk, version.pk, now, now],
        )
        cursor.execute(
            "INSERT INTO surveys_answer (organisation_id, created_at, updated_at, response_id, "
            "question_id, question_key, kind, value_number, value_text, value_choice, program_id, "
            "survey_id, version_id, customer_id, unit_id, unit_path, employee_id, touchpoint, "
            "channel, journey, stage, language, answered_at, local_day, local_hour, "
            "is_complete) "
            "SELECT r.organisation_id, r.created_at, r.updated_at, r.id, q.id, q.key, q.kind, "
            "CASE q.kind WHEN 'nps' THEN r.id % 11 WHEN 'rating' THEN 1 + r.id % 5 END, "
            "CASE q.kind WHEN 'text' THEN 'Am așteptat ' || (r.id % 40) || ' de minute la "
            "ghișeu și nimeni nu mi-a explicat de ce; răspunsul ' || r.id ELSE '' END, "
            "CASE q.kind WHEN 'multi_choice' THEN 'waiting' ELSE '' END, "
            "%s, r.survey_id, r.version_id, NULL, r.unit_id, u.path, NULL, r.touchpoint, "
            "r.channel, '', '', r.language, r.completed_at, "
            "CAST(strftime('%%s', r.completed_at) AS INTEGER) / 86400, "
            "CAST(strftime('%%H', r.completed_at) AS INTEGER), 1 "
            "FROM surveys_response r JOIN surveys_question q ON q.version_id = r.version_id "
            "JOIN org_unit u ON u.id = r.unit_id ORDER BY r.id, q.position",
            [program.pk],
        )
        cursor.execute("SELECT count(*) FROM surveys_answer")
        (written,) = cursor.fetchone()
    return {"responses": responses, "answers": written, "seconds": time.perf_counter() - started}


def _measure(mode: str, out: str, chunk_size: int) -> Run:
    from django.core.management import call_command

    from sonda.imports.selectors import operator_scope
    from sonda.surveys import exports
    from sonda.surveys.response_selectors import ResponseFilters, answer_list

    scope = operator_scope(organisation_slug=ORGANISATION)
    started = time.perf_counter()
    if mode == "count":
        rows = exports.export_count(scope=scope, what="answers", filters=ResponseFilters())
    elif mode == "export":
        call_command(
            "export",
            "answers",
            "--organisation",
            ORGANISATION,
            "--format",
            "parquet",
            "--out",
            out,
            "--chunk-size",
            str(chunk_size),
            stdout=io.StringIO(),
        )
        rows = exports.pq.ParquetFile(out).metadata.num_rows
    else:
        columns = exports.ANSWER_COLUMNS
        values = list(answer_list(scope=scope).values_list(*(column.source for column in columns)))
        table = exports.pa.Table.from_arrays(
            [
                exports.pa.array([row[i] for row in values], type=column.arrow)
                for i, column in enumerate(columns)
            ],
            schema=exports.parquet_schema("answers"),
        )
        exports.pq.write_table(table, out, compression="zstd")
        rows = table.num_rows
    return Run(mode=mode, rows=rows, seconds=time.perf_counter() - started, peak_mb=_peak_mb())


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    if args.child == "setup":
        result = _setup(args.answers)
    else:
        result = _measure(args.child, args.out, args.chunk_size).__dict__
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--child", choices=("setup", *MODES), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.answers < 4:
        parser.error("--answers must be at least 4 (four per response)")
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
