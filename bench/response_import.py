"""How long importing a response file takes: 50,000 rows by default, on SQLite and PostgreSQL.

Each engine gets a fresh database migrated like a production Sonda, an organisation with ten
branches and the four-question survey of docs/examples, and a CSV file of --rows responses in the
format of docs/examples/responses.csv (a new customer's email on every row, a branch code, a
channel and language to translate, a score, reasons for low scores, a rating and a comment). The
file is imported with `sonda.surveys.imports.responses_import`, then imported again: the second
run finds every response id imported and writes nothing. Prints the seconds and rows/s of both.

    .venv/bin/python bench/response_import.py [--rows 50000] [--engines sqlite,postgresql]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
"""

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from scratch import child_environment, postgres_drop, postgres_scratch

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "docs" / "examples"
DEFAULT_POSTGRES_URL = os.environ.get(
    "SONDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SCRATCH_DATABASE = "sonda_bench_import"
RESULT_PREFIX = "RESULT "
HEADER = (
    "Response ID,Submitted,Email,Phone,Client no,Branch,Agent,Channel,Language,"
    "Q1 Recommend,Q2 What went wrong,Q3 Speed of service,Q4 Comments"
)
LANGUAGES = ("Română", "Polski", "English")
CHANNELS = ("Email", "SMS", "Kiosk")


def csv_text(rows: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER.split(","))
    for n in range(rows):
        score = n % 11
        writer.writerow(
            [
                f"R-{n}",
                f"{1 + n % 28:02d}/10/2026 {8 + n % 10:02d}:{n % 60:02d}",
                f"c{n}@bench.example",
                "",
                "",
                f"B{1 + n % 10}",
                "",
                CHANNELS[n % 3],
                LANGUAGES[n % 3],
                score,
                "Waiting time;Fees" if score <= 6 else "",
                1 + n % 5,
                f"Am așteptat {n % 40} de minute la ghișeu, răspunsul {n}" if n % 3 else "",
            ]
        )
    return out.getvalue()


# --- the parent: one child process per engine ----------------------------------------------------


def _child(engine: str, url: str, rows: int, var_dir: str) -> dict[str, Any]:
    env = child_environment(url, var_dir)
    command = [sys.executable, __file__, "--child", engine, "--rows", str(rows)]
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
        raise SystemExit(f"{engine}: the benchmark failed (exit {process.returncode})")
    return result


def parent(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs = []
    for engine in args.engines.split(","):
        with tempfile.TemporaryDirectory(prefix="sonda-bench-") as var_dir:
            if engine == "sqlite":
                url = f"sqlite:///{var_dir}/bench.sqlite3"
                runs.append(_child(engine, url, args.rows, var_dir))
            elif engine == "postgresql":
                try:
                    url = postgres_scratch(args.postgres_url, SCRATCH_DATABASE)
                except psycopg.OperationalError as exc:
                    print(f"SKIPPED PostgreSQL: no server answers at {args.postgres_url} ({exc})")
                    continue
                try:
                    runs.append(_child(engine, url, args.rows, var_dir))
                finally:
                    postgres_drop(args.postgres_url, SCRATCH_DATABASE)
            else:
                raise SystemExit(f"--engines: unknown engine '{engine}' (sqlite, postgresql)")
    print()
    print(f"{'engine':<11} {'rows':>7} {'import s':>9} {'rows/s':>8} {'again s':>8} {'rows/s':>8}")
    for run in runs:
        print(
            f"{run['engine']:<11} {run['rows']:>7,} {run['first_s']:>9.1f} "
            f"{run['rows'] / run['first_s']:>8,.0f} {run['again_s']:>8.1f} "
            f"{run['rows'] / run['again_s']:>8,.0f}"
        )
    return runs


# --- the child: one engine -----------------------------------------------------------------------


def child(engine: str, rows: int) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    # Django is set up in the child only, with the benchmark's own database.
    from django.core.management import call_command

    from sonda.accounts.access import scope_for
    from sonda.accounts.models import Role
    from sonda.accounts.services import membership_set, organisation_create, user_create
    from sonda.org.services import unit_create, unit_type_create
    from sonda.surveys.imports import responses_import
    from sonda.surveys.models import Answer
    from sonda.surveys.tests.factories import make_published_survey

    call_command("migrate", verbosity=0)
    organisation = organisation_create(
        name="Bench Bank", slug="bench", time_zone="Europe/Bucharest"
    )
    admin = user_create(email="admin@bench.example", password=None)
    membership_set(organisation=organisation, user=admin, role=Role.ADMIN)
    scope = scope_for(admin, organisation)
    assert scope is not None
    branch = unit_type_create(scope=scope, code="branch", name="Branch")
    for n in range(1, 11):
        unit_create(scope=scope, code=f"B{n}", name=f"Branch {n}", unit_type_id=branch.pk)
    survey = make_published_survey(scope)
    mapping = json.loads((EXAMPLES / "responses-mapping.json").read_text())
    text = csv_text(rows)
    timings = []
    for attempt in ("first", "again"):
        started = time.perf_counter()
        result = responses_import(scope=scope, survey_id=survey.pk, mapping=mapping, text=text)
        timings.append(time.perf_counter() - started)
        print(
            f"{engine}: {attempt} import of {rows:,} rows: {result.created:,} created, "
            f"{result.unchanged:,} unchanged, {len(result.skipped)} problems",
            flush=True,
        )
    answers = Answer.objects.count()
    print(f"{engine}: {answers:,} answers stored", flush=True)
    print(
        RESULT_PREFIX
        + json.dumps(
            {"engine": engine, "rows": rows, "first_s": timings[0], "again_s": timings[1]}
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--child", choices=("sqlite", "postgresql"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if args.child:
        child(args.child, args.rows)
    else:
        parent(args)


if __name__ == "__main__":
    main()
