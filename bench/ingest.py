"""Event ingestion throughput: events stored and decided per second, on SQLite and PostgreSQL.

Builds an organisation like a retail bank's (a few hundred units under regions), 20 active
trigger rules with varied matching (types, channels, touchpoints, unit subtrees, attribute
conditions), sampling, daily quotas and delivery orders, and a contact policy of two rules (at most
2 invitations in 30 days; 7 days after the last invitation). Then it ingests --events generated
events (calls, visits, purchases, deliveries, claims of --events/4 customers, whose identities
are new on first sight) through `events_ingest` in requests of 10,000 items, as the API does, and
a further --import-events through `manage.py import_events` on a CSV file (chunks of 2,000).

The baseline, in the same run, is a bare multi-row `INSERT ... ON CONFLICT DO NOTHING` of the same
event rows into the events table in batches of 2,000, one transaction each: the least any ingestion
must do to write the events. Prints events/s, invitations decided/s, and their ratio to it.

    .venv/bin/python bench/ingest.py [--events 1000000] [--import-events 100000]
        [--engine sqlite|postgresql|both] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

SQLite runs on a temporary file; PostgreSQL on a scratch database (`sonda_bench_ingest`) created
and dropped around the run. Each engine runs in its own process, set up like a production Sonda
(settings from the environment, `manage.py migrate`).
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import psycopg
from scratch import child_environment, postgres_drop, postgres_scratch

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = os.environ.get(
    "SONDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SCRATCH_DATABASE = "sonda_bench_ingest"
REQUEST = 10_000  # items per events_ingest call: the API's limit per request
BATCH = 2_000  # the baseline's rows per transaction: ingestion's chunk
RESULT_PREFIX = "RESULT "
REGIONS = 12
BRANCHES_PER_REGION = 24
TYPES = ("call_completed", "branch_visit", "purchase", "delivery", "claim")
CHANNELS = {
    "call_completed": "phone",
    "branch_visit": "branch",
    "purchase": "web",
    "delivery": "courier",
    "claim": "web",
}
TOUCHPOINTS = ("cash_desk", "advisor", "call_centre", "web_shop", "app", "atm")
PRODUCTS = ("card", "mortgage", "loan", "savings", "insurance")


# --- the parent: one child process per engine ----------------------------------------------------


@dataclass(frozen=True)
class Run:
    engine: str
    events: int
    setup_s: float
    baseline_s: float
    ingest_s: float
    invitations: int
    decisions: int
    import_events: int
    import_s: float

    @property
    def event_rate(self) -> float:
        return self.events / self.ingest_s

    @property
    def decision_rate(self) -> float:
        return self.decisions / self.ingest_s

    @property
    def baseline_rate(self) -> float:
        return self.events / self.baseline_s

    @property
    def import_rate(self) -> float:
        return self.import_events / self.import_s if self.import_s else 0.0


def _child(engine: str, url: str, args: argparse.Namespace, var_dir: str) -> Run:
    env = child_environment(url, var_dir)
    command = [
        sys.executable,
        __file__,
        "--child",
        engine,
        "--events",
        str(args.events),
        "--import-events",
        str(args.import_events),
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
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    runs = []
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix="sonda-bench-") as var_dir:
            if engine == "sqlite":
                runs.append(_child(engine, f"sqlite:///{var_dir}/bench.sqlite3", args, var_dir))
                continue
            try:
                url = postgres_scratch(args.postgres_url, SCRATCH_DATABASE)
            except psycopg.OperationalError as exc:
                print(f"SKIPPED PostgreSQL: no server answers at {args.postgres_url} ({exc})")
                continue
            try:
                runs.append(_child(engine, url, args, var_dir))
            finally:
                postgres_drop(args.postgres_url, SCRATCH_DATABASE)
    print()
    print(
        f"{'engine':<11} {'events':>9} {'events/s':>9} {'decided/s':>10} {'invited':>8} "
        f"{'bare insert/s':>14} {'ratio':>6} {'import events/s':>16}"
    )
    for run in runs:
        print(
            f"{run.engine:<11} {run.events:>9,} {run.event_rate:>9,.0f} "
            f"{run.decision_rate:>10,.0f} {run.invitations:>8,} {run.baseline_rate:>14,.0f} "
            f"{run.event_rate / run.baseline_rate:>6.2f} {run.import_rate:>16,.0f}"
        )
    print(
        "decided/s = decisions recorded per second (one per event and rule considered); "
        "ratio = ingestion rate / bare insert rate"
    )
    return runs


# --- the child: one engine -----------------------------------------------------------------------


def _organisation() -> tuple[Any, list[str], list[str]]:
    """The organisation, its admin's scope, region codes and branch codes."""
    from sonda.accounts.access import scope_from_membership
    from sonda.accounts.models import Membership, Role
    from sonda.accounts.services import membership_set, organisation_create, user_create
    from sonda.org.services import unit_create, unit_type_create

    organisation = organisation_create(name="Benchmark Bank", slug="bench", time_zone="UTC")
    admin = user_create(email="admin@bench.example", password=None)
    membership_set(organisation=organisation, user=admin, role=Role.ADMIN)
    scope = scope_from_membership(Membership.objects.get(user=admin))
    company = unit_type_create(scope=scope, code="company", name="Company")
    region_type = unit_type_create(scope=scope, code="region", name="Region")
    branch_type = unit_type_create(scope=scope, code="branch", name="Branch")
    hq = unit_create(scope=scope, code="HQ", name="Head office", unit_type_id=company.pk)
    regions, branches = [], []
    for r in range(REGIONS):
        region = unit_create(
            scope=scope,
            code=f"R{r}",
            name=f"Region {r}",
            unit_type_id=region_type.pk,
            parent_id=hq.pk,
        )
        regions.append(region.code)
        for b in range(BRANCHES_PER_REGION):
            unit_create(
                scope=scope,
                code=f"R{r}B{b}",
                name=f"Branch {r}-{b}",
                unit_type_id=branch_type.pk,
                parent_id=region.pk,
            )
            branches.append(f"R{r}B{b}")
    return scope, regions, branches


def _rules(scope: Any, regions: list[str]) -> None:
    """20 active rules: varied matching, sampling, quotas, timings and delivery orders."""
    from sonda.listening.models import ContactRule, RuleStatus, TriggerRule
    from sonda.org.models import Unit
    from sonda.surveys.tests.factories import make_program, make_published_survey

    program = make_program(scope)
    surveys = [
        make_published_survey(scope, program=program, name=f"After {kind}") for kind in TYPES
    ]
    units = {unit.code: unit for unit in Unit.objects.filter(code__in=regions)}
    orders = (["email", "sms"], ["sms", "email"], ["email", "link"], ["link"], ["email"])
    timings = ("immediate", "delay", "next_allowed")
    for n in range(20):
        kind = TYPES[n % len(TYPES)]
        conditions: list[dict[str, Any]] = []
        if n % 4 == 1:
            conditions = [{"attribute": "product", "op": "in", "value": ["card", "loan"]}]
        elif n % 4 == 2:
            conditions = [{"attribute": "amount", "op": "gte", "value": 100}]
        elif n % 4 == 3:
            conditions = [{"attribute": "customer.segment", "op": "ne", "value": "business"}]
        TriggerRule.objects.create(
            organisation=scope.organisation,
            name=f"Rule {n}",
            survey=surveys[n % len(surveys)],
            status=RuleStatus.ACTIVE,
            priority=n,
            event_types=[kind] if n % 7 else [kind, TYPES[(n + 1) % len(TYPES)]],
            channels=[CHANNELS[kind]] if n % 3 == 0 else [],
            touchpoints=[TOUCHPOINTS[n % len(TOUCHPOINTS)]] if n % 5 == 4 else [],
            unit=units[regions[n % len(regions)]] if n % 2 else None,
            conditions=conditions,
            timing=timings[n % len(timings)],
            delay_minutes=60 if n % len(timings) == 1 else 0,
            delivery_order=orders[n % len(orders)],
            sampling_percent=(100, 50, 25, 10)[n % 4],
            daily_quota_per_unit=(None, 20, 5)[n % 3],
            also_evaluate_others=n % 6 == 0,
            valid_days=14,
        )
    ContactRule.objects.create(
        organisation=scope.organisation,
        name="At most 2 a month",
        kind="max_in_window",
        max_invitations=2,
        window_days=30,
    )
    ContactRule.objects.create(
        organisation=scope.organisation,
        name="A week after the last",
        kind="gap_after_invitation",
        gap_days=7,
    )


def _events(
    count: int, first: int, branches: list[str], rng: random.Random
) -> list[dict[str, Any]]:
    """`count` events from number `first`, in time order over the last 60 days."""
    customers = max(1, (first + count) // 4)
    start = datetime.now(UTC) - timedelta(days=60)
    step = timedelta(days=59) / max(1, first + count)
    events = []
    for n in range(first, first + count):
        kind = TYPES[rng.randrange(len(TYPES))]
        who = rng.randrange(customers)
        if who % 10 < 7:
            customer: dict[str, Any] = {"email": f"c{who}@bench.example"}
        elif who % 10 < 9:
            customer = {"phone": f"+4072{who:07d}"}
        else:
            customer = {"external": {"source": "crm", "id": f"C{who}"}}
        events.append(
            {
                "type": kind,
                "occurred_at": (start + step * n).isoformat(),
                "customer": customer,
                "unit_code": branches[rng.randrange(len(branches))],
                "channel": CHANNELS[kind],
                "touchpoint": TOUCHPOINTS[rng.randrange(len(TOUCHPOINTS))],
                "attributes": {
                    "product": PRODUCTS[rng.randrange(len(PRODUCTS))],
                    "amount": rng.randrange(1, 500),
                },
                "idempotency_key": f"bench-{n}",
            }
        )
    return events


def _baseline(organisation_id: int, units: dict[str, int], events: list[dict[str, Any]]) -> float:
    """Seconds to write the same event rows by bare multi-row INSERTs (no identities, no rules)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from sonda.listening.ingest import _ATTRIBUTES, EVENT_COLUMNS

    table = connection.ops.quote_name("listening_event")
    columns = ", ".join(EVENT_COLUMNS)
    placeholder = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
    per_statement = min(
        1000, (connection.features.max_query_params or 65_535) // len(EVENT_COLUMNS)
    )
    started = time.perf_counter()
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    for start in range(0, len(events), BATCH):
        batch = events[start : start + BATCH]
        with transaction.atomic(), connection.cursor() as cursor:
            for part_start in range(0, len(batch), per_statement):
                part = batch[part_start : part_start + per_statement]
                params: list[Any] = []
                for event in part:
                    params.extend(
                        (
                            stamp,
                            stamp,
                            organisation_id,
                            event["type"],
                            connection.ops.adapt_datetimefield_value(
                                datetime.fromisoformat(event["occurred_at"])
                            ),
                            None,
                            event["channel"],
                            units[event["unit_code"]],
                            None,
                            event["touchpoint"],
                            "",
                            "",
                            _ATTRIBUTES.get_db_prep_save(event["attributes"], connection),
                            "",
                            "",
                            "key:" + event["idempotency_key"],
                        )
                    )
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES "
                    f"{', '.join([placeholder] * len(part))} "
                    "ON CONFLICT (organisation_id, dedupe_key) DO NOTHING",
                    params,
                )
    return time.perf_counter() - started


def _csv_file(path: Path, events: list[dict[str, Any]]) -> None:
    header = ["type", "occurred_at", "email", "phone", "external_source", "external_id"]
    header += ["unit_code", "channel", "touchpoint", "idempotency_key", "attr.product"]
    header += ["attr.amount"]
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for event in events:
            who = event["customer"]
            external = who.get("external", {})
            writer.writerow(
                [
                    event["type"],
                    event["occurred_at"],
                    who.get("email", ""),
                    who.get("phone", ""),
                    external.get("source", ""),
                    external.get("id", ""),
                    event["unit_code"],
                    event["channel"],
                    event["touchpoint"],
                    event["idempotency_key"],
                    event["attributes"]["product"],
                    event["attributes"]["amount"],
                ]
            )


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from sonda.accounts.models import Organisation
    from sonda.listening.ingest import events_ingest
    from sonda.listening.models import Event, Invitation, InvitationDecision
    from sonda.org.models import Unit

    engine = args.child
    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    scope, regions, branches = _organisation()
    _rules(scope, regions)
    units = dict(Unit.objects.values_list("code", "pk"))
    events = _events(args.events, 0, branches, rng)
    setup_s = time.perf_counter() - started
    print(
        f"{engine}: {len(units)} units, 20 rules, 2 contact rules, {len(events):,} events "
        f"generated in {setup_s:.1f} s",
        flush=True,
    )

    # The baseline writes into an organisation of its own, removed again before the real run.
    scratch = Organisation.objects.create(name="Baseline", slug="baseline")
    baseline_s = _baseline(scratch.pk, units, events)
    assert Event.objects.filter(organisation=scratch).count() == len(events)
    print(f"{engine}: bare insert of {len(events):,} events in {baseline_s:.2f} s", flush=True)
    with connection.cursor() as cursor:
        # Plain SQL: nothing refers to these rows, and the ORM's cascade would list every id.
        cursor.execute("DELETE FROM listening_event WHERE organisation_id = %s", [scratch.pk])
        cursor.execute("VACUUM" if engine == "sqlite" else "VACUUM ANALYZE listening_event")

    started = time.perf_counter()
    created = invitations = 0
    for start in range(0, len(events), REQUEST):
        result = events_ingest(scope=scope, items=events[start : start + REQUEST])
        created += result.created
        invitations += result.invitations
        assert result.invalid == 0, result.errors[:3]
    ingest_s = time.perf_counter() - started
    decisions = InvitationDecision.objects.count()
    print(
        f"{engine}: ingested {created:,} events in {ingest_s:.2f} s: {invitations:,} invitations, "
        f"{decisions:,} decisions",
        flush=True,
    )
    assert created == len(events) == Event.objects.filter(organisation=scope.organisation).count()
    assert invitations == Invitation.objects.count()

    import_s = 0.0
    if args.import_events:
        more = _events(args.import_events, len(events), branches, rng)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "events.csv"
            _csv_file(path, more)
            out = StringIO()
            started = time.perf_counter()
            call_command(
                "import_events", str(path), "--organisation", "bench", stdout=out, stderr=out
            )
            import_s = time.perf_counter() - started
        print(f"{engine}: import_events: {out.getvalue().strip()} in {import_s:.2f} s", flush=True)

    result_run = Run(
        engine=engine,
        events=len(events),
        setup_s=setup_s,
        baseline_s=baseline_s,
        ingest_s=ingest_s,
        invitations=invitations,
        decisions=decisions,
        import_events=args.import_events,
        import_s=import_s,
    )
    print(RESULT_PREFIX + json.dumps(result_run.__dict__), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to ingest")
    parser.add_argument(
        "--import-events",
        type=int,
        default=100_000,
        help="further events imported from a CSV file with import_events (0: none)",
    )
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.events < 1 or args.import_events < 0:
        parser.error("--events must be at least 1 and --import-events not negative")
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
