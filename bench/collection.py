"""Collecting responses through the survey pages, against the production server setup.

Starts gunicorn (config.wsgi, gthread workers) on a free loopback port against a scratch
PostgreSQL database that it creates, migrates and drops. Prepares one published one-page survey
(NPS, reasons for low scores, a comment) and one invitation per respondent, then runs
--concurrency respondents at once, each taking the next invitation: GET /s/<token>/ (which starts
the response and sets the CSRF cookie), then POST its answers with the page's CSRF token, which
saves them, completes the response and marks the invitation completed (303 to the thank-you page,
which is not fetched). Prints completed responses/s and the p50/p99 latency of the whole
open+submit and of each request.

The baseline, in the same run and on the same database, is a bare psycopg insert of the same rows
(one response and its answer rows per transaction) by as many concurrent connections as the server
has threads: what storing the responses costs at least, without any web page. The ratio is the
pages' rate divided by the baseline's.

    .venv/bin/python bench/collection.py [--responses 3000] [--concurrency 64]
        [--workers <CPUs, at least 2>] [--threads 4] [--max-seconds 120]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

Bounded: at most --responses respondents, and no new respondent starts after --max-seconds.
Everything runs on loopback; the scratch database (`sonda_bench_collection_<pid>`) is dropped at the
end.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = os.environ.get(
    "SONDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# One scratch database per run, so that two runs on one server do not meet.
SCRATCH_DATABASE = f"sonda_bench_collection_{os.getpid()}"
HOST = "127.0.0.1"
CSRF_FIELD_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_COOKIE_RE = re.compile(r"csrftoken=([^;]+)")
QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "ltr",
        "kind": "nps",
        "required": True,
        "text": {"en": "How likely are you to recommend us to a friend?"},
    },
    {
        "key": "reasons",
        "kind": "multi_choice",
        "condition": {"question": "ltr", "op": "lte", "value": 6},
        "text": {"en": "What went wrong?"},
        "options": [
            {"code": "waiting", "labels": {"en": "Waiting time"}},
            {"code": "staff", "labels": {"en": "Staff attitude"}},
            {"code": "fees", "labels": {"en": "Fees"}},
        ],
    },
    {"key": "comment", "kind": "text", "text": {"en": "Anything else you would like to tell us?"}},
]


def answers_for(index: int, seed: int) -> list[tuple[str, str]]:
    """The form fields respondent `index` sends: a score, reasons when low, sometimes a comment."""
    rng = random.Random(seed * 1_000_003 + index)
    score = rng.choice([0, 2, 4, 5, 6, 7, 8, 8, 9, 9, 10, 10])
    fields = [("ltr", str(score))]
    if score <= 6:
        fields += [("reasons", code) for code in rng.sample(["waiting", "staff", "fees"], 2)]
    if rng.random() < 0.4:
        fields.append(("comment", "The queue was long but the staff were kind. " * 3))
    return fields


# --- the scratch database and the server ---------------------------------------------------------


def scratch_database(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {SCRATCH_DATABASE}")
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{SCRATCH_DATABASE}"))


def drop_database(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def server_environment(database_url: str, var_dir: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SONDA_DATABASE_URL": database_url,
        "SONDA_SECRET_KEY": secrets.token_urlsafe(32),
        "SONDA_SSL_REDIRECT": "0",
        "SONDA_SECURE_COOKIES": "0",
        "SONDA_ALLOWED_HOSTS": HOST,
        "SONDA_VAR_DIR": var_dir,
        "SONDA_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    for name in ("SONDA_DEBUG", "SONDA_TESTING"):
        env.pop(name, None)  # DEBUG would keep every query in memory
    return env


def start_server(
    env: dict[str, str], port: int, workers: int, threads: int
) -> subprocess.Popen[Any]:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi:application",
        f"--bind={HOST}:{port}",
        "--worker-class=gthread",
        f"--workers={workers}",
        f"--threads={threads}",
        "--log-level=warning",
        "--worker-tmp-dir=/dev/shm",
    ]
    server = subprocess.Popen(command, env=env, cwd=REPO)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not start listening within 30 s")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def database_backends() -> dict[int, float]:
    """The CPU seconds of each PostgreSQL backend serving the scratch database, by process id."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if SCRATCH_DATABASE in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found[int(proc.name)] = cpu_seconds([int(proc.name)])
        except OSError:
            continue  # the process ended meanwhile
    return found


class DatabaseCpu:
    """Samples the scratch database's backends while the respondents run.

    Django closes a connection once it is CONN_MAX_AGE old, so backends come and go during a long
    run: each is sampled twice a second and counted up to its last sample.
    """

    def __init__(self) -> None:
        self.start = database_backends()
        self.last = dict(self.start)
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while self.running:
            self.last.update(database_backends())
            time.sleep(0.5)

    def stop(self) -> float:
        self.running = False
        self.thread.join()
        self.last.update(database_backends())
        return sum(seconds - self.start.get(pid, 0.0) for pid, seconds in self.last.items())


def worker_pids(server: subprocess.Popen[Any]) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def stop_server(server: subprocess.Popen[Any]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- preparing the survey (a child process with Django set up) ------------------------------------


def prepare(count: int, out: Path) -> None:
    """Create the organisation, the published survey and `count` invitations; write their ids."""
    sys.path.insert(0, str(REPO))
    # Django's modules can be imported only once it is set up, in this child process only.
    import django

    django.setup()
    from sonda.accounts.access import scope_for
    from sonda.accounts.models import Membership, Organisation, Role, User
    from sonda.listening.models import Invitation
    from sonda.listening.services import invitation_token
    from sonda.surveys import services
    from sonda.surveys.models import Question, SurveyVersion, VersionStatus
    from sonda.surveys.specs import spec_from_json

    organisation = Organisation.objects.create(name="Benchmark Bank", slug="bench")
    analyst = User.objects.create_user(email="analyst@bench.example", password=None)
    Membership.objects.create(organisation=organisation, user=analyst, role=Role.ANALYST)
    scope = scope_for(analyst, organisation)
    assert scope is not None
    program = services.program_create(scope=scope, name="Branch visits", kind="transactional")
    survey = services.survey_create(
        scope=scope,
        program_id=program.pk,
        name="After a branch visit",
        languages=["en"],
        default_language="en",
        questions=[spec_from_json(q, index=i) for i, q in enumerate(QUESTIONS)],
    )
    services.survey_publish(scope=scope, survey_id=survey.pk)
    services.survey_look_set(scope=scope, sender_name="Benchmark Bank")
    version = SurveyVersion.objects.get(survey=survey, status=VersionStatus.PUBLISHED)
    expires = datetime(2100, 1, 1, tzinfo=UTC)
    # Invitations are the input here, not what is measured: written in bulk.
    Invitation.objects.bulk_create(
        Invitation(
            organisation=organisation,
            survey=survey,
            token=invitation_token(),
            language="en",
            channel="email",
            expires_at=expires,
        )
        for _ in range(count)
    )
    out.write_text(
        json.dumps(
            {
                "organisation": organisation.pk,
                "time_zone": organisation.time_zone,
                "program": program.pk,
                "survey": survey.pk,
                "version": version.pk,
                "questions": {
                    q.key: [q.pk, q.kind] for q in Question.objects.filter(version=version)
                },
                "tokens": list(Invitation.objects.order_by("pk").values_list("token", flat=True)),
            }
        )
    )


# --- the respondents ------------------------------------------------------------------------------


@dataclass
class Timings:
    opened: list[float] = field(default_factory=list)
    submitted: list[float] = field(default_factory=list)
    whole: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    head: str,
    body: bytes = b"",
) -> tuple[int, dict[str, list[str]], bytes]:
    writer.write(head.encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    headers: dict[str, list[str]] = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    length = int(headers.get("content-length", ["0"])[0])
    return status, headers, await reader.readexactly(length)


async def respondent(
    port: int, token: str, fields: list[tuple[str, str]], timings: Timings | None
) -> None:
    """One customer: open the survey link, send the answers. Timings are None in the warm-up."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        path = f"/s/{token}/"
        status, headers, page = await request(
            reader, writer, f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n"
        )
        opened = time.perf_counter()
        form_token = CSRF_FIELD_RE.search(page)
        cookie = next(
            (m.group(1) for c in headers.get("set-cookie", []) if (m := CSRF_COOKIE_RE.match(c))),
            None,
        )
        if status != 200 or form_token is None or cookie is None:
            raise RuntimeError(f"GET {path}: {status}")
        body = urlencode(
            [("csrfmiddlewaretoken", form_token.group(1).decode()), ("page", "1"), *fields]
        ).encode()
        status, headers, _ = await request(
            reader,
            writer,
            f"POST {path}?lang=en HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: csrftoken={cookie}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            "\r\n",
            body,
        )
        submitted = time.perf_counter()
        if status != 303 or not headers.get("location", [""])[0].startswith(f"{path}thanks/"):
            raise RuntimeError(f"POST {path}: {status}")
        if timings is not None:
            timings.opened.append(opened - started)
            timings.submitted.append(submitted - opened)
            timings.whole.append(submitted - started)
    except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError) as exc:
        if timings is not None:
            timings.failures.append(str(exc))
    finally:
        writer.close()


async def crowd(
    port: int,
    work: list[tuple[str, list[tuple[str, str]]]],
    concurrency: int,
    max_seconds: float,
    timings: Timings | None,
) -> float:
    """Run the respondents, `concurrency` at a time; the seconds from first start to last end."""
    queue = list(reversed(work))
    started = time.perf_counter()

    async def lane() -> None:
        while queue and time.perf_counter() - started < max_seconds:
            token, fields = queue.pop()
            await respondent(port, token, fields, timings)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return time.perf_counter() - started


# --- the baseline ---------------------------------------------------------------------------------


def bare_insert(
    database_url: str, prepared: dict[str, Any], answers: list[list[tuple[str, str]]], writers: int
) -> float:
    """Insert the same responses and answer rows with psycopg, `writers` connections at once."""
    from sonda.core.calendar import day_number, hour_of, zone

    questions = prepared["questions"]
    now = datetime.now(UTC)
    local_day = day_number(now, zone(prepared["time_zone"]))
    local_hour = hour_of(now, zone(prepared["time_zone"]))
    pending = list(reversed(answers))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def rows_of(fields: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
        rows = []
        for key, value in fields:
            question_id, kind = questions[key]
            number = float(value) if key == "ltr" else None
            choice = value if key == "reasons" else ""
            text = value if key == "comment" else ""
            rows.append((question_id, key, kind, number, text, choice))
        return rows

    def writer() -> None:
        try:
            with psycopg.connect(database_url) as conn:
                while True:
                    with lock:
                        if not pending:
                            return
                        fields = pending.pop()
                    with conn.transaction(), conn.cursor() as cur:
                        cur.execute(
                            "INSERT INTO surveys_response (created_at, updated_at, "
                            "organisation_id, survey_id, version_id, touchpoint, channel, "
                            "journey, stage, language, status, source, external_id, "
                            "current_page, client_key, started_at, completed_at) VALUES "
                            "(%s, %s, %s, %s, %s, '', 'email', '', '', 'en', 'complete', 'web', "
                            "'', 1, '', %s, %s) RETURNING id",
                            (
                                now,
                                now,
                                prepared["organisation"],
                                prepared["survey"],
                                prepared["version"],
                                now,
                                now,
                            ),
                        )
                        row = cur.fetchone()
                        assert row is not None
                        cur.executemany(
                            "INSERT INTO surveys_answer (created_at, updated_at, organisation_id, "
                            "response_id, question_id, question_key, kind, value_number, "
                            "value_text, value_choice, program_id, survey_id, version_id, "
                            "unit_path, touchpoint, channel, journey, stage, language, "
                            "answered_at, local_day, local_hour, is_complete) VALUES (%s, %s, "
                            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', 'email', '', "
                            "'', 'en', %s, %s, %s, true)",
                            [
                                (
                                    now,
                                    now,
                                    prepared["organisation"],
                                    row[0],
                                    question_id,
                                    key,
                                    kind,
                                    number,
                                    text,
                                    choice,
                                    prepared["program"],
                                    prepared["survey"],
                                    prepared["version"],
                                    now,
                                    local_day,
                                    local_hour,
                                )
                                for question_id, key, kind, number, text, choice in rows_of(fields)
                            ],
                        )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


# --- the run --------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def count_rows(database_url: str) -> tuple[int, int, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM surveys_response WHERE status = 'complete'), "
            "(SELECT count(*) FROM surveys_answer WHERE is_complete), "
            "(SELECT count(*) FROM listening_invitation WHERE status = 'completed')"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def answer_rows(fields: list[tuple[str, str]]) -> int:
    return len(fields)


def run(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()[0]
    warmup = min(args.warmup, args.responses)
    try:
        database_url = scratch_database(args.postgres_url)
    except psycopg.OperationalError as exc:
        raise SystemExit(f"no PostgreSQL server answers at {args.postgres_url} ({exc})") from exc
    try:
        with tempfile.TemporaryDirectory(prefix="sonda-bench-") as var_dir:
            (Path(var_dir) / "static").mkdir()
            env = server_environment(database_url, var_dir)
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--verbosity=0"],
                env=env,
                cwd=REPO,
                check=True,
            )
            prepared_file = Path(var_dir) / "prepared.json"
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--prepare",
                    str(warmup + args.responses),
                    "--out",
                    str(prepared_file),
                ],
                env=env,
                cwd=REPO,
                check=True,
            )
            prepared = json.loads(prepared_file.read_text())
            tokens = prepared["tokens"]
            work = [(token, answers_for(n, args.seed)) for n, token in enumerate(tokens)]

            port = free_port()
            server = start_server(env, port, args.workers, args.threads)
            try:
                asyncio.run(crowd(port, work[:warmup], args.concurrency, 60, None))
                workers = worker_pids(server)
                server_cpu = cpu_seconds(workers)
                database = DatabaseCpu()
                client_cpu = time.process_time()
                timings = Timings()
                elapsed = asyncio.run(
                    crowd(port, work[warmup:], args.concurrency, args.max_seconds, timings)
                )
                server_cpu = cpu_seconds(workers) - server_cpu
                client_cpu = time.process_time() - client_cpu
                database_cpu = database.stop()
            finally:
                stop_server(server)

            responses, answers, invitations = count_rows(database_url)
            measured = len(timings.whole)
            expected_answers = sum(answer_rows(f) for _, f in work[: warmup + measured])
            assert not timings.failures, timings.failures[:5]
            assert responses == invitations == warmup + measured, (responses, invitations)
            assert answers == expected_answers, (answers, expected_answers)

            baseline_answers = [f for _, f in work[warmup : warmup + measured]]
            writers = args.workers * args.threads
            insert_s = bare_insert(database_url, prepared, baseline_answers, writers)
    finally:
        drop_database(args.postgres_url)

    rate = measured / elapsed
    insert_rate = measured / insert_s
    ms = 1000.0
    print(
        f"gunicorn {args.workers} workers x {args.threads} threads (gthread), "
        f"{args.concurrency} respondents at once, {measured:,} responses measured "
        f"after {warmup} to warm up, {os.cpu_count()} CPUs, load average {load_before:.2f} "
        "before the run"
    )
    print(f"completed responses/s: {rate:,.1f} ({measured:,} in {elapsed:.2f} s)")
    print(
        f"CPU per completed response: server {server_cpu / measured * ms:.1f} ms, "
        f"PostgreSQL {database_cpu / measured * ms:.1f} ms, "
        f"respondents {client_cpu / measured * ms:.1f} ms"
    )
    for name, values in (
        ("open+submit", timings.whole),
        ("GET page", timings.opened),
        ("POST answers", timings.submitted),
    ):
        print(
            f"{name:<13} p50 {percentile(values, 0.5) * ms:7.1f} ms   "
            f"p99 {percentile(values, 0.99) * ms:7.1f} ms   "
            f"mean {statistics.fmean(values) * ms:7.1f} ms"
        )
    print(
        f"bare psycopg insert of the same rows ({writers} connections): "
        f"{insert_rate:,.1f} responses/s"
    )
    print(f"ratio (pages / bare insert): {rate / insert_rate:.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=3000, help="respondents measured")
    parser.add_argument("--concurrency", type=int, default=64, help="respondents at once")
    parser.add_argument(
        "--workers",
        type=int,
        default=max(2, os.cpu_count() or 1),
        help="gunicorn worker processes (default: one per CPU, at least 2)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--warmup", type=int, default=200, help="respondents before measuring")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare is not None:
        prepare(args.prepare, Path(args.out))
        return
    if args.responses < 1 or args.concurrency < 1 or args.workers < 1 or args.threads < 1:
        parser.error("--responses, --concurrency, --workers and --threads must be at least 1")
    run(args)


if __name__ == "__main__":
    main()
