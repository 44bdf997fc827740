"""Identity resolution throughput against a large customer base, on SQLite and PostgreSQL.

Builds a base of --base customers with one identity each (emails, phones and CRM ids in turn),
then resolves --incoming identities (half new, half known, shuffled) with
`sonda.customers.services.customers_resolve_bulk`. The baseline, in the same run and on the same
base, is a bare bulk `INSERT ... ON CONFLICT DO NOTHING` of the same identity rows in batches of
the same size: the least any resolution must do to write the new identities. Both commit per
batch, as ingestion does. Prints identities/s for both and their ratio.

    .venv/bin/python bench/identity_resolution.py [--base 1000000] [--incoming 100000]
        [--engines sqlite,postgresql] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

SQLite runs on a temporary file; PostgreSQL on a scratch database (`sonda_bench`) created and
dropped around the run. Each engine runs in its own process, set up like a production Sonda
(settings from the environment, `manage.py migrate`).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from scratch import child_environment, postgres_drop, postgres_scratch

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = os.environ.get(
    "SONDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SCRATCH_DATABASE = "sonda_bench"
BATCH = 2000  # customers_resolve_bulk's default batch size, used by the baseline too
RESULT_PREFIX = "RESULT "
CREATED_AT = datetime(2026, 11, 1, tzinfo=UTC)


# --- the parent: one child process per engine ----------------------------------------------------


@dataclass(frozen=True)
class Run:
    engine: str
    base: int
    incoming: int
    setup_s: float
    resolve_s: float
    insert_s: float

    @property
    def resolve_rate(self) -> float:
        return self.incoming / self.resolve_s

    @property
    def insert_rate(self) -> float:
        return self.incoming / self.insert_s


def _child(engine: str, url: str, args: argparse.Namespace, var_dir: str) -> Run:
    env = child_environment(url, var_dir)
    command = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--base",
        str(args.base),
        "--incoming",
        str(args.incoming),
        "--seed",
        str(args.seed),
    ]
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
    runs = []
    for engine in args.engines.split(","):
        with tempfile.TemporaryDirectory(prefix="sonda-bench-") as var_dir:
            if engine == "sqlite":
                runs.append(_child(engine, f"sqlite:///{var_dir}/bench.sqlite3", args, var_dir))
            elif engine == "postgresql":
                try:
                    url = postgres_scratch(args.postgres_url, SCRATCH_DATABASE)
                except psycopg.OperationalError as exc:
                    print(f"SKIPPED PostgreSQL: no server answers at {args.postgres_url} ({exc})")
                    continue
                try:
                    runs.append(_child(engine, url, args, var_dir))
                finally:
                    postgres_drop(args.postgres_url, SCRATCH_DATABASE)
            else:
                raise SystemExit(f"--engines: unknown engine '{engine}' (sqlite, postgresql)")
    print()
    print(
        f"{'engine':<11} {'base':>10} {'incoming':>9} {'resolve ids/s':>14} "
        f"{'bare insert ids/s':>18} {'ratio':>6}"
    )
    for run in runs:
        print(
            f"{run.engine:<11} {run.base:>10,} {run.incoming:>9,} {run.resolve_rate:>14,.0f} "
            f"{run.insert_rate:>18,.0f} {run.resolve_rate / run.insert_rate:>6.2f}"
        )
    print(
        "ratio = resolve rate / bare insert rate (1.00: resolution costs no more than the insert)"
    )
    return runs


# --- the child: one engine -----------------------------------------------------------------------


def _identity(i: int) -> tuple[str, str, str]:
    """The i-th identity of the benchmark; the SQL that builds the base writes the same ones."""
    if i % 3 == 0:
        return ("email", "", f"c{i}@bench.example")
    if i % 3 == 1:
        return ("phone", "", f"+4072{i:07d}")
    return ("external", "crm", f"C{i}")


# The base: rows 1..N of a number series become N customers and their N identities, in SQL.
SERIES = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %(n)s) ",
    "postgresql": "",
}
FROM_SERIES = {
    "sqlite": "FROM n",
    "postgresql": "FROM generate_series(1, %(n)s) AS n(i)",
}
PADDED = {
    "sqlite": "printf('%%07d', i)",
    "postgresql": "lpad(i::text, 7, '0')",
}


def _build_base(vendor: str, organisation_id: int, base: int) -> None:
    from django.db import connection, transaction  # Django is set up in the child only

    now = connection.ops.adapt_datetimefield_value(CREATED_AT)
    params = {"n": base, "org": organisation_id, "now": now}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            SERIES[vendor] + "INSERT INTO customers_customer (id, organisation_id, created_at, "
            "updated_at, full_name, preferred_language, time_zone, attributes, do_not_contact) "
            "SELECT i, %(org)s, %(now)s, %(now)s, '', '', '', '{}', false " + FROM_SERIES[vendor],
            params,
        )
        cursor.execute(
            SERIES[vendor] + "INSERT INTO customers_customeridentity (organisation_id, "
            "customer_id, created_at, updated_at, kind, source, value) "
            "SELECT %(org)s, i, %(now)s, %(now)s, "
            "CASE i %% 3 WHEN 0 THEN 'email' WHEN 1 THEN 'phone' ELSE 'external' END, "
            "CASE i %% 3 WHEN 2 THEN 'crm' ELSE '' END, "
            "CASE i %% 3 WHEN 0 THEN 'c' || i || '@bench.example' "
            f"WHEN 1 THEN '+4072' || {PADDED[vendor]} ELSE 'C' || i END " + FROM_SERIES[vendor],
            params,
        )
        if vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %(n)s)", params
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _bare_insert(organisation_id: int, customer_id: int, rows: list[tuple[str, str, str]]) -> None:
    """The baseline: the same identity rows, multi-row INSERT ... ON CONFLICT DO NOTHING."""
    from django.db import connection, transaction  # Django is set up in the child only

    now = connection.ops.adapt_datetimefield_value(CREATED_AT)
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        values = ", ".join(f"({organisation_id}, {customer_id}, %s, %s, %s, %s, %s)" for _ in batch)
        params: list[Any] = []
        for kind, source, value in batch:
            params.extend((now, now, kind, source, value))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO customers_customeridentity (organisation_id, customer_id, "
                f"created_at, updated_at, kind, source, value) VALUES {values} "
                "ON CONFLICT (organisation_id, kind, source, value) DO NOTHING",
                params,
            )


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    # The parent set the environment (database URL, settings) before this process started;
    # Django's modules can be imported only once it is set up with it.
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from sonda.accounts.models import Organisation
    from sonda.customers.identities import IdentityKey
    from sonda.customers.models import Customer, CustomerIdentity
    from sonda.customers.services import customers_resolve_bulk

    engine = args.child
    call_command("migrate", verbosity=0)
    organisation = Organisation.objects.create(name="Benchmark Bank", slug="bench")
    rng = random.Random(args.seed)

    started = time.perf_counter()
    _build_base(connection.vendor, organisation.pk, args.base)
    setup_s = time.perf_counter() - started
    print(f"{engine}: base of {args.base:,} customers built in {setup_s:.1f} s", flush=True)

    known = rng.sample(range(1, args.base + 1), args.incoming // 2)
    new = range(args.base + 1, args.base + 1 + args.incoming - len(known))
    indices = [*known, *new]
    rng.shuffle(indices)
    rows = [_identity(i) for i in indices]
    base_identities = CustomerIdentity.objects.count()

    started = time.perf_counter()
    _bare_insert(organisation.pk, 1, rows)
    insert_s = time.perf_counter() - started
    inserted = CustomerIdentity.objects.count() - base_identities
    print(
        f"{engine}: bare insert of {len(rows):,} identities ({inserted:,} new) in {insert_s:.2f} s",
        flush=True,
    )
    # Back to the base, so that the resolution meets exactly what the baseline met.
    CustomerIdentity.objects.filter(pk__gt=base_identities).delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE customers_customeridentity")

    keys = [IdentityKey(kind, source, value) for kind, source, value in rows]
    started = time.perf_counter()
    ids = customers_resolve_bulk(organisation=organisation, identities=keys)
    resolve_s = time.perf_counter() - started
    print(f"{engine}: resolved {len(keys):,} identities in {resolve_s:.2f} s", flush=True)

    # The resolution must be right, not only fast: known identities find their customers,
    # each new one got a customer of its own.
    expected_known = {i: i for i in known}
    assert all(ids[n] == expected_known[i] for n, i in enumerate(indices) if i in expected_known)
    assert len({ids[n] for n, i in enumerate(indices) if i not in expected_known}) == len(new)
    assert Customer.objects.count() == args.base + len(new)
    assert CustomerIdentity.objects.count() == args.base + len(new)

    result = Run(engine, args.base, len(keys), setup_s, resolve_s, insert_s)
    print(RESULT_PREFIX + json.dumps(result.__dict__), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--base", type=int, default=1_000_000, help="customers in the base")
    parser.add_argument("--incoming", type=int, default=100_000, help="identities to resolve")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.base < 1 or args.incoming < 2 or args.incoming // 2 > args.base:
        parser.error("--base must be at least half of --incoming, and --incoming at least 2")
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
