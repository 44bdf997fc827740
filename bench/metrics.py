"""Analytics query speed: NPS by unit × month and the below-average flags over 500 units, on
DuckDB (Parquet), PostgreSQL and SQLite, against a plain pandas implementation in the same run.

Generates --answers NPS answers (one per response) for 500 branches under 10 regions of an
organisation in Europe/Bucharest, spread evenly over 24 months. The scores follow a fixed
distribution (40% promoters, 25% detractors) shifted per branch, so that some branches lie
significantly below or above the rest. Each answer's score is a function of its number (an
integer hash), so SQL and numpy write the very same answers:

- SQLite: a scratch file migrated like a production Sonda, filled with `INSERT ... SELECT` over
  a number series (indexes dropped during the load and built again after it, as a restore does);
- PostgreSQL: a scratch database (`sonda_bench_metrics`) created and dropped around the run, filled
  the same way and then `VACUUM ANALYZE`d; skipped, saying why, when no server answers;
- DuckDB: a Parquet file in the layout of `sonda export answers --format parquet` (row groups of
  the export's chunk size), written with pyarrow, read by `duckdb_engine`.

Queries, through the facade the pages and the API use (`metric_table`) as the organisation's
analyst: NPS with intervals by unit × month, and NPS by unit with `flag_below_average` (each unit
against the rest, z-test, Benjamini–Hochberg). The baseline is a straightforward pandas
implementation of the same numbers (groupby unit and local month → n, promoters, detractors →
NPS and its adjusted-Wald interval; per unit vs the rest: z-test and BH) on a DataFrame already
in memory, in the same process. The run fails unless the figures agree.

    .venv/bin/python bench/metrics.py [--answers 10000000] [--engine duckdb,postgresql,sqlite]
        [--repeat 3] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

Targets (the "Honest measurement" issue): DuckDB ≤ 1 s per query and ≥ 10× faster than pandas;
PostgreSQL ≤ 5 s per query. SQLite has no target; it is measured.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from scratch import child_environment, postgres_drop, postgres_scratch

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = os.environ.get(
    "SONDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SCRATCH_DATABASE = "sonda_bench_metrics"
RESULT_PREFIX = "RESULT "
ENGINES = ("duckdb", "postgresql", "sqlite")
TIME_ZONE = "Europe/Bucharest"
REGIONS = 10
BRANCHES_PER_REGION = 50
UNITS = REGIONS * BRANCHES_PER_REGION
START = int(datetime(2024, 11, 30, 22, tzinfo=UTC).timestamp())  # 1 December 2024 in Bucharest
SPAN = 730 * 86_400  # 24 months
# Score k for a (shifted) percentile below CUTS[k]; 10 above the last: 2% 0s … 20% 10s.
CUTS = (2, 3, 5, 8, 11, 17, 25, 40, 60, 80)
QUERIES = ("nps by unit × month", "below average (500 units)")
TARGET_S = {"duckdb": 1.0, "postgresql": 5.0}
TARGET_SPEED_UP = {"duckdb": 10.0}
TOLERANCE = 1e-9


# --- the answers, the same in SQL and in numpy ---------------------------------------------------


def _shift_sql(unit: str) -> str:
    return f"(({unit}) % 11 - 5) * 2"


def score_sql(i: str, unit: str, dialect: str) -> str:
    """The score of answer number `i` (0-based) of unit index `unit`, as SQL."""
    raw = f"((({i}) + 1) * 2654435761 % 4294967296 / 65536 % 100 + {_shift_sql(unit)})"
    clamped = f"min(max({raw}, 0), 99)" if dialect == "sqlite" else f"least(greatest({raw}, 0), 99)"
    cases = " ".join(f"WHEN {clamped} < {cut} THEN {k}" for k, cut in enumerate(CUTS))
    return f"CASE {cases} ELSE 10 END"


def _offsets() -> list[tuple[int, int]]:
    from zoneinfo import ZoneInfo

    from sonda.core.calendar import offset_changes

    return offset_changes(ZoneInfo(TIME_ZONE), START, START + SPAN + 1)


def _local_seconds_sql(epoch: str) -> str:
    changes = _offsets()
    whens = " ".join(
        f"WHEN {epoch} >= {since} THEN {offset}" for since, offset in reversed(changes[1:])
    )
    return f"(({epoch}) + CASE {whens} ELSE {changes[0][1]} END)"


def local_day_sql(epoch: str) -> str:
    """The local day number of the answer at UTC second `epoch` (an SQL integer), as SQL."""
    return f"({_local_seconds_sql(epoch)} / 86400)"


def local_hour_sql(epoch: str) -> str:
    """The local hour of the answer at UTC second `epoch`, as SQL (no % : Django's mark)."""
    local = _local_seconds_sql(epoch)
    return f"(({local} - {local} / 86400 * 86400) / 3600)"


def answers_numpy(count: int) -> dict[str, np.ndarray]:
    """Unit index, UTC epoch second and score of every answer, as `score_sql` writes them."""
    i = np.arange(count, dtype=np.int64)
    unit = i % UNITS
    seconds = START + (i * SPAN) // count
    raw = (i + 1) * 2654435761 % 4294967296 // 65536 % 100 + (unit % 11 - 5) * 2
    score = np.searchsorted(np.array(CUTS), np.clip(raw, 0, 99), side="right")
    changes = _offsets()
    since = np.array([c[0] for c in changes], dtype=np.int64)
    offset = np.array([c[1] for c in changes], dtype=np.int64)
    local = seconds + offset[np.searchsorted(since, seconds, side="right") - 1]
    local_day = local // 86_400
    return {
        "unit": unit,
        "seconds": seconds,
        "score": score.astype(np.float64),
        "local_day": local_day,
        "local_hour": (local % 86_400) // 3_600,
    }


# --- the parent: one child process per engine ----------------------------------------------------


@dataclass(frozen=True)
class Run:
    engine: str
    answers: int
    load_s: float
    sonda_s: dict[str, float]
    pandas_s: dict[str, float]
    flagged: dict[str, int]
    months: int


def _child(engine: str, url: str, args: argparse.Namespace, var_dir: str) -> Run:
    env = child_environment(url, var_dir)
    command = [sys.executable, __file__, "--child", engine, "--answers", str(args.answers)]
    command += ["--repeat", str(args.repeat), "--out", str(Path(var_dir) / "answers.parquet")]
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


def _verdict(engine: str, seconds: float, speed_up: float) -> str:
    goals = []
    if engine in TARGET_S:
        met = seconds <= TARGET_S[engine]
        goals.append(f"≤ {TARGET_S[engine]:g} s {'met' if met else 'NOT met'}")
    if engine in TARGET_SPEED_UP:
        met = speed_up >= TARGET_SPEED_UP[engine]
        goals.append(f"≥ {TARGET_SPEED_UP[engine]:g}× pandas {'met' if met else 'NOT met'}")
    return "; ".join(goals) or "no target"


def parent(args: argparse.Namespace) -> list[Run]:
    runs = []
    for engine in args.engines:
        with tempfile.TemporaryDirectory(prefix="sonda-bench-") as var_dir:
            if engine != "postgresql":
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
        f"{'engine':<11} {'query':<27} {'answers':>11} {'Sonda s':>8} {'pandas s':>9} "
        f"{'× pandas':>9}  target"
    )
    for run in runs:
        for query in QUERIES:
            seconds, baseline = run.sonda_s[query], run.pandas_s[query]
            speed_up = baseline / seconds if seconds else math.inf
            print(
                f"{run.engine:<11} {query:<27} {run.answers:>11,} {seconds:>8.3f} "
                f"{baseline:>9.3f} {speed_up:>9.2f}  {_verdict(run.engine, seconds, speed_up)}"
            )
    print(
        f"median of {args.repeat} runs per query; × pandas = pandas seconds / Sonda seconds "
        "(pandas on a DataFrame already in memory); figures agree on every engine run"
    )
    return runs


# --- the child: one engine -----------------------------------------------------------------------


@dataclass
class World:
    scope: Any
    unit_ids: np.ndarray  # unit index → unit id
    unit_paths: list[str]
    unit_codes: list[str]
    program_id: int
    survey_id: int
    version_id: int
    version_number: int
    question_id: int
    promoter_min: int
    detractor_max: int
    min_base: int


def _world() -> World:
    """Migrate; an organisation with 500 branches under 10 regions and one published NPS survey."""
    from django.core.management import call_command

    from sonda.accounts.access import scope_for
    from sonda.accounts.models import Role
    from sonda.accounts.services import membership_set, organisation_create, user_create
    from sonda.org.services import unit_create, unit_type_create
    from sonda.surveys import services
    from sonda.surveys.models import Question
    from sonda.surveys.specs import spec_from_json

    call_command("migrate", verbosity=0)
    organisation = organisation_create(name="Bench Bank", slug="bench", time_zone=TIME_ZONE)
    analyst = user_create(email="analyst@bench.example", password=None)
    membership_set(organisation=organisation, user=analyst, role=Role.ANALYST)
    admin = user_create(email="admin@bench.example", password=None)
    membership_set(organisation=organisation, user=admin, role=Role.ADMIN)
    admin_scope = scope_for(admin, organisation)
    scope = scope_for(analyst, organisation)
    assert admin_scope is not None
    assert scope is not None
    region_type = unit_type_create(scope=admin_scope, code="region", name="Region")
    branch_type = unit_type_create(scope=admin_scope, code="branch", name="Branch")
    branches = []
    for r in range(REGIONS):
        region = unit_create(
            scope=admin_scope, code=f"R{r}", name=f"Region {r}", unit_type_id=region_type.pk
        )
        for b in range(BRANCHES_PER_REGION):
            branches.append(
                unit_create(
                    scope=admin_scope,
                    code=f"R{r}B{b}",
                    name=f"Branch {r}-{b}",
                    unit_type_id=branch_type.pk,
                    parent_id=region.pk,
                )
            )
    program = services.program_create(scope=admin_scope, name="Service", kind="transactional")
    text = {"en": "How likely are you to recommend us?"}
    survey = services.survey_create(
        scope=admin_scope,
        program_id=program.pk,
        name="After a visit",
        languages=["en"],
        default_language="en",
        questions=[spec_from_json({"key": "ltr", "kind": "nps", "text": text}, index=0)],
    )
    version = services.survey_publish(scope=admin_scope, survey_id=survey.pk)
    question = Question.objects.get(version=version)
    return World(
        scope=scope,
        unit_ids=np.array([unit.pk for unit in branches], dtype=np.int64),
        unit_paths=[unit.path for unit in branches],
        unit_codes=[unit.code for unit in branches],
        program_id=program.pk,
        survey_id=survey.pk,
        version_id=version.pk,
        version_number=version.number,
        question_id=question.pk,
        promoter_min=program.promoter_min,
        detractor_max=program.detractor_max,
        min_base=program.minimum_base,
    )


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


def _load_sql(world: World, count: int) -> float:
    """Write `count` responses and their NPS answers with INSERT ... SELECT; seconds taken."""
    from django.db import connection, transaction

    from sonda.surveys.tallies import tallies_install, tallies_rebuild, tallies_uninstall

    vendor = connection.vendor
    started = time.perf_counter()
    now = connection.ops.adapt_datetimefield_value(datetime.now(UTC))
    organisation_id = world.scope.organisation_id
    if vendor == "sqlite":
        series = (
            f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1})"
        )
        source = "n"
        epoch = f"({START} + i * {SPAN} / {count})"
        at = f"datetime({epoch}, 'unixepoch')"
    else:
        series = ""
        source = f"generate_series(0, {count - 1}) AS n(i)"
        epoch = f"({START} + i::bigint * {SPAN} / {count})"
        at = f"to_timestamp({epoch})"
    # Like a restore: the rows are right by construction, so foreign keys are not checked row by
    # row (10 million deferred checks per key would dominate the load), and indexes are built
    # once at the end. The daily tallies too are counted once, after the load, rather than by
    # the triggers row by row (statement by statement on PostgreSQL).
    tallies_uninstall()
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("PRAGMA foreign_keys = OFF")
        else:
            cursor.execute("SET session_replication_role = replica")
    score = score_sql("i", "u.idx", vendor).replace("%", "%%")  # % is Django's placeholder mark
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_unit (idx integer PRIMARY KEY, id bigint, path text)"
        )
        cursor.executemany(
            "INSERT INTO bench_unit VALUES (%s, %s, %s)",
            [(n, int(world.unit_ids[n]), world.unit_paths[n]) for n in range(UNITS)],
        )
        dropped = _indexes(cursor, vendor, ("surveys_response", "surveys_answer"))
        for name, _sql in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute(
            f"{series} INSERT INTO surveys_response (id, organisation_id, created_at, updated_at, "
            "survey_id, version_id, customer_id, unit_id, employee_id, touchpoint, channel, "
            "journey, stage, language, status, source, external_id, current_page, client_key, "
            "started_at, completed_at) "
            f"SELECT i + 1, %s, %s, %s, %s, %s, NULL, u.id, NULL, 'branch visit', "
            f"'email', '', '', 'en', 'complete', 'import', 'bench-' || i, 1, '', {at}, {at} "
            f"FROM {source} JOIN bench_unit u ON u.idx = i %% {UNITS}",
            [organisation_id, now, now, world.survey_id, world.version_id],
        )
        cursor.execute(
            f"{series} INSERT INTO surveys_answer (id, organisation_id, created_at, updated_at, "
            "response_id, question_id, question_key, kind, value_number, value_text, "
            "value_choice, program_id, survey_id, version_id, customer_id, unit_id, unit_path, "
            "employee_id, touchpoint, channel, journey, stage, language, answered_at, "
            "local_day, local_hour, is_complete) "
            f"SELECT i + 1, %s, %s, %s, i + 1, %s, 'ltr', 'nps', {score}, '', '', %s, %s, %s, "
            "NULL, u.id, u.path, NULL, "
            f"'branch visit', 'email', '', '', 'en', {at}, {local_day_sql(epoch)}, "
            f"{local_hour_sql(epoch)}, %s "
            f"FROM {source} JOIN bench_unit u ON u.idx = i %% {UNITS}",
            [
                organisation_id,
                now,
                now,
                world.question_id,
                world.program_id,
                world.survey_id,
                world.version_id,
                True,
            ],
        )
        for _name, sql in dropped:
            cursor.execute(sql)
        cursor.execute("DROP TABLE bench_unit")
        if vendor == "postgresql":
            for table in ("surveys_response", "surveys_answer"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [count]
                )
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("PRAGMA foreign_keys = ON")
        else:
            cursor.execute("SET session_replication_role = DEFAULT")
    counted = time.perf_counter()
    tallies_install()
    rows = tallies_rebuild(organisation_id=organisation_id)
    print(
        f"{vendor}: daily tallies counted in {time.perf_counter() - counted:.1f} s ({rows:,} rows)",
        flush=True,
    )
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("surveys_response", "surveys_answer", "surveys_dailytally"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def _write_parquet(world: World, data: dict[str, np.ndarray], out: str) -> float:
    """The answers as `sonda export answers --format parquet` writes them; seconds taken."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sonda.surveys import exports

    started = time.perf_counter()
    schema = exports.parquet_schema("answers")
    count = len(data["score"])
    codes = pa.array(world.unit_codes, type=pa.string())
    chunk = exports.DEFAULT_CHUNK
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for first in range(0, count, chunk):
            last = min(count, first + chunk)
            size = last - first
            unit = data["unit"][first:last]

            def same(value: Any, arrow: Any, size: int = size) -> Any:
                return pa.repeat(pa.scalar(value, type=arrow), size)

            columns = {
                "response_id": pa.array(np.arange(first + 1, last + 1, dtype=np.int64)),
                "question_key": same("ltr", pa.string()),
                "kind": same("nps", pa.string()),
                "number": pa.array(data["score"][first:last]),
                "text": same("", pa.string()),
                "choice": same("", pa.string()),
                "answered_at": pa.array(
                    data["seconds"][first:last] * 1_000_000, type=exports.UTC_MICROSECONDS
                ),
                "local_day": pa.array(data["local_day"][first:last], type=pa.int32()),
                "local_hour": pa.array(data["local_hour"][first:last], type=pa.int8()),
                "is_complete": same(True, pa.bool_()),
                "survey_id": same(world.survey_id, pa.int64()),
                "program_id": same(world.program_id, pa.int64()),
                "version": same(world.version_number, pa.int32()),
                "unit_id": pa.array(world.unit_ids[unit]),
                "unit_code": codes.take(pa.array(unit)),
                "employee_id": same(None, pa.int64()),
                "customer_id": same(None, pa.int64()),
                "touchpoint": same("branch visit", pa.string()),
                "channel": same("email", pa.string()),
                "journey": same("", pa.string()),
                "stage": same("", pa.string()),
                "language": same("en", pa.string()),
            }
            writer.write_table(pa.table([columns[f.name] for f in schema], schema=schema))
    return time.perf_counter() - started


# --- pandas: the baseline ------------------------------------------------------------------------


def _frame(world: World, data: dict[str, np.ndarray]) -> Any:
    """The answers as a DataFrame, as one would read them: unit id, UTC time, score."""
    import pandas as pd  # type: ignore[import-untyped]

    return pd.DataFrame(
        {
            "unit_id": world.unit_ids[data["unit"]],
            "answered_at": pd.to_datetime(data["seconds"], unit="s", utc=True),
            "score": data["score"],
        }
    )


def _nps(n: Any, promoters: Any, detractors: Any) -> dict[str, Any]:
    """NPS, its standard error and the adjusted-Wald interval (domain.md), vectorised."""
    p, d = promoters / n, detractors / n
    adjusted = n + 3.0
    pa_, da_ = (promoters + 0.75) / adjusted, (detractors + 0.75) / adjusted
    half = (
        1.959963984540054 * 100 * np.sqrt(np.maximum(0.0, pa_ + da_ - (pa_ - da_) ** 2) / adjusted)
    )
    centre = 100 * (pa_ - da_)
    return {
        "value": 100 * (promoters - detractors) / n,
        "low": np.clip(centre - half, -100, 100),
        "high": np.clip(centre + half, -100, 100),
        "se": 100 * np.sqrt(np.maximum(0.0, p + d - (p - d) ** 2) / n),
    }


def pandas_unit_month(frame: Any, world: World) -> Any:
    """NPS with its interval per unit and local month: a DataFrame indexed by (unit, month)."""
    local = frame.answered_at.dt.tz_convert(TIME_ZONE).dt.tz_localize(None)
    counted = frame.assign(
        month=local.dt.to_period("M"),
        promoter=frame.score >= world.promoter_min,
        detractor=frame.score <= world.detractor_max,
    )
    grouped = counted.groupby(["unit_id", "month"]).agg(
        n=("score", "size"), promoters=("promoter", "sum"), detractors=("detractor", "sum")
    )
    nps = _nps(grouped.n.to_numpy(), grouped.promoters.to_numpy(), grouped.detractors.to_numpy())
    return grouped.assign(value=nps["value"], low=nps["low"], high=nps["high"])


def unit_month_cells(grouped: Any) -> dict[tuple[int, date], tuple[float, ...]]:
    """pandas' result keyed like Sonda's rows (to compare; not timed)."""
    out = {}
    columns = [grouped[c].to_numpy() for c in ("n", "value", "low", "high")]
    for row, (unit_id, month) in enumerate(grouped.index):
        out[(int(unit_id), month.start_time.date())] = tuple(
            float(column[row]) for column in columns
        )
    return out


def pandas_below_average(frame: Any, world: World) -> dict[int, tuple[str, float | None]]:
    from scipy.special import erfc

    counted = frame.assign(
        promoter=frame.score >= world.promoter_min, detractor=frame.score <= world.detractor_max
    )
    units = counted.groupby("unit_id").agg(
        n=("score", "size"), promoters=("promoter", "sum"), detractors=("detractor", "sum")
    )
    n, p, d = (units[c].to_numpy().astype(float) for c in ("n", "promoters", "detractors"))
    rest_n, rest_p, rest_d = n.sum() - n, p.sum() - p, d.sum() - d
    mine, rest = _nps(n, p, d), _nps(rest_n, rest_p, rest_d)
    difference = mine["value"] - rest["value"]
    p_values = erfc(np.abs(difference / np.hypot(mine["se"], rest["se"])) / math.sqrt(2))
    tested = np.flatnonzero((n >= world.min_base) & (rest_n >= world.min_base))
    # Benjamini–Hochberg at 5% over the tested units.
    m = len(tested)
    order = tested[np.argsort(p_values[tested], kind="stable")]
    ranked = p_values[order]
    passing = np.flatnonzero(ranked <= np.arange(1, m + 1) / m * 0.05)
    rejected = set(order[: passing[-1] + 1]) if len(passing) else set()
    adjusted = np.minimum.accumulate((m * ranked / np.arange(1, m + 1))[::-1])[::-1]
    adjusted = np.minimum(adjusted, 1.0)
    q_of = dict(zip(order, adjusted, strict=True))
    out: dict[int, tuple[str, float | None]] = {}
    for row, unit_id in enumerate(units.index):
        flag = ""
        if row in rejected and difference[row] != 0:
            flag = "below" if difference[row] < 0 else "above"
        q = q_of.get(row)
        out[int(unit_id)] = (flag, None if q is None else float(q))
    return out


# --- Sonda's queries, compared -------------------------------------------------------------------


def sonda_unit_month(table: Any) -> dict[tuple[int, date], tuple[float, ...]]:
    return {
        (int(row.key[0]), row.key[1]): (row.score.n, row.score.value, row.score.low, row.score.high)
        for row in table.rows
    }


def sonda_below_average(table: Any) -> dict[int, tuple[str, float | None]]:
    return {int(row.key[0]): (row.flag, row.p_adjusted) for row in table.rows}


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    return math.isclose(float(a), float(b), rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _agree(
    name: str, sonda: dict[Any, tuple[Any, ...]], baseline: dict[Any, tuple[Any, ...]]
) -> None:
    if set(sonda) != set(baseline):
        only = sorted(set(sonda) ^ set(baseline), key=str)[:5]
        raise SystemExit(f"{name}: Sonda and pandas have different slices, e.g. {only}")
    for key, values in sonda.items():
        if not all(_close(a, b) for a, b in zip(values, baseline[key], strict=True)):
            raise SystemExit(f"{name}: {key}: Sonda {values} != pandas {baseline[key]}")


def _timed(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from sonda.analytics.engine import Engine, duckdb_engine
    from sonda.analytics.metrics import MetricQuery, metric_table
    from sonda.analytics.queries import Dimension, Filters, Period

    engine_name = args.child
    started = time.perf_counter()
    world = _world()
    setup_s = time.perf_counter() - started
    started = time.perf_counter()
    data = answers_numpy(args.answers)
    generate_s = time.perf_counter() - started
    engine: Engine | None = None
    if engine_name == "duckdb":
        load_s = _write_parquet(world, data, args.out)
        size = Path(args.out).stat().st_size / 1e6
        started = time.perf_counter()
        engine = duckdb_engine(args.out, organisation_id=world.scope.organisation_id)
        ready_s = time.perf_counter() - started
        where = f"Parquet file of {size:,.0f} MB (DuckDB engine ready in {ready_s:.1f} s)"
    else:
        load_s = _load_sql(world, args.answers)
        where = "database"
    print(
        f"{engine_name}: {UNITS} units and a survey in {setup_s:.1f} s; {args.answers:,} answers "
        f"generated in numpy in {generate_s:.1f} s, written to the {where} in {load_s:.1f} s",
        flush=True,
    )
    started = time.perf_counter()
    frame = _frame(world, data)
    del data
    print(
        f"{engine_name}: pandas DataFrame built in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    by_month = MetricQuery(question="ltr", by=(Dimension.UNIT,), period=Period.MONTH)
    below = MetricQuery(question="ltr", by=(Dimension.UNIT,), flag_below_average=True)
    sonda_s, pandas_s = {}, {}
    scope = world.scope
    # Warm up (imports, Ibis's first compilations) on one day's answers, not timed.
    one_day = Filters(start=date(2025, 3, 3), end=date(2025, 3, 3))
    for query in (by_month, below):
        metric_table(scope=scope, query=replace(query, filters=one_day), engine=engine)
    sonda_s[QUERIES[0]], table = _timed(
        args.repeat, lambda: metric_table(scope=scope, query=by_month, engine=engine)
    )
    pandas_s[QUERIES[0]], baseline = _timed(args.repeat, lambda: pandas_unit_month(frame, world))
    # The table holds its cells as columns and builds a row object when a row is read (as a
    # page or the API reads them): timed apart, once, not part of the query's time.
    started = time.perf_counter()
    found = sonda_unit_month(table)
    print(
        f"{engine_name}: reading the {len(found):,} rows as objects took "
        f"{time.perf_counter() - started:.3f} s",
        flush=True,
    )
    _agree(QUERIES[0], found, unit_month_cells(baseline))
    months = len({key[1] for key in found})
    sonda_s[QUERIES[1]], table = _timed(
        args.repeat, lambda: metric_table(scope=scope, query=below, engine=engine)
    )
    pandas_s[QUERIES[1]], flags = _timed(args.repeat, lambda: pandas_below_average(frame, world))
    found_flags = sonda_below_average(table)
    _agree(QUERIES[1], found_flags, flags)
    flagged = {
        "below": sum(flag == "below" for flag, _ in found_flags.values()),
        "above": sum(flag == "above" for flag, _ in found_flags.values()),
    }
    for name in QUERIES:
        print(
            f"{engine_name}: {name}: Sonda {sonda_s[name]:.3f} s, pandas {pandas_s[name]:.3f} s",
            flush=True,
        )
    print(
        f"{engine_name}: figures agree ({len(found):,} unit × month cells over {months} months; "
        f"{flagged['below']} units flagged below the rest, {flagged['above']} above)",
        flush=True,
    )
    run = Run(
        engine=engine_name,
        answers=args.answers,
        load_s=load_s,
        sonda_s=sonda_s,
        pandas_s=pandas_s,
        flagged=flagged,
        months=months,
    )
    print(RESULT_PREFIX + json.dumps(run.__dict__), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=10_000_000)
    parser.add_argument(
        "--engine",
        default=",".join(ENGINES),
        help="comma-separated, in the order to run: duckdb, postgresql, sqlite",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per query (median printed)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.answers < UNITS:
        parser.error(f"--answers must be at least {UNITS} (one per unit)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.engines = [name.strip() for name in args.engine.split(",") if name.strip()]
    unknown = [name for name in args.engines if name not in ENGINES]
    if unknown or not args.engines:
        parser.error(f"--engine: one or more of {', '.join(ENGINES)}")
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
