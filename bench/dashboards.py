"""Dashboard pages' server time on the demo data set, against the home page rendered the same way.

Creates the demo in a scratch SONDA_VAR_DIR with the embedded SQLite database, as `sonda run`
does on first start (`sonda migrate`, then `sonda demo --scale …`), in its own processes. Then,
in one process set up like the embedded server, Django's test Client renders each dashboard
page (dashboards:overview, units, employees, heatmap, below_average) as the demo's CX analyst
and as its region manager, --requests times each after one untimed request, and prints the
median and 95th percentile of the time from request to response (the whole server side: URL
resolution, middleware, queries, template rendering) and the number of SQL queries a request
makes. The baselines, rendered the same way in the same run, are the home page and the
responses list; each page's median is printed as a ratio to the home page's.

    .venv/bin/python bench/dashboards.py [--scale full|small|tiny] [--requests 20] [--var-dir DIR]

The issue's bar: every dashboard page in ≤ 300 ms server time on the demo data set (full scale).
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "RESULT "
TARGET_MS = 300.0
DASHBOARDS = ("overview", "units", "employees", "heatmap", "below_average")
BASELINES = ("home", "responses:list")
SONDA = str(Path(sys.executable).with_name("sonda"))


@dataclass(frozen=True)
class Page:
    name: str  # the URL name
    reader: str  # analyst | manager
    median_ms: float
    p95_ms: float
    queries: int
    status: int


def _environment(var_dir: str) -> dict[str, str]:
    from sonda.cli import EMBEDDED_DEFAULTS

    env = {
        **os.environ,
        **EMBEDDED_DEFAULTS,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SONDA_VAR_DIR": var_dir,
        "SONDA_SECRET_KEY": secrets.token_urlsafe(32),
        "SONDA_LOG_LEVEL": "WARNING",
        # The test Client's host, beside the embedded server's own.
        "SONDA_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    }
    # The embedded database in SONDA_VAR_DIR; DEBUG would keep every query in memory.
    for name in ("SONDA_DATABASE_URL", "SONDA_DEBUG", "SONDA_TESTING"):
        env.pop(name, None)
    return env


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def parent(args: argparse.Namespace) -> list[Page]:
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="sonda-bench-") as scratch:
        var_dir = args.var_dir or scratch
        env = _environment(var_dir)
        started = time.perf_counter()
        for command in (["migrate"], ["demo", "--scale", args.scale]):
            done = subprocess.run(
                [SONDA, *command], env=env, cwd=REPO, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise SystemExit(f"sonda {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
            if command[0] == "demo":
                print(done.stdout.strip(), flush=True)
        print(
            f"demo ({args.scale} scale) ready in {time.perf_counter() - started:.0f} s", flush=True
        )
        command = [sys.executable, __file__, "--child", "--requests", str(args.requests)]
        pages: list[Page] = []
        # Streamed: a page's line is printed as soon as it is measured.
        with subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith(RESULT_PREFIX):
                    found = json.loads(line.removeprefix(RESULT_PREFIX))
                    pages = [Page(**page) for page in found]
                else:
                    print(line, end="", flush=True)
    if process.returncode != 0 or not pages:
        raise SystemExit(f"the benchmark failed (exit {process.returncode})")
    home = {page.reader: page.median_ms for page in pages if page.name == "home"}
    print()
    print(
        f"{'page':<26} {'reader':<8} {'median ms':>10} {'p95 ms':>8} {'queries':>8} "
        f"{'× home':>7}  target ≤ {TARGET_MS:g} ms"
    )
    for page in pages:
        baseline = page.name in BASELINES
        verdict = "baseline" if baseline else ("met" if page.p95_ms <= TARGET_MS else "NOT met")
        print(
            f"{page.name:<26} {page.reader:<8} {page.median_ms:>10.1f} {page.p95_ms:>8.1f} "
            f"{page.queries:>8} {page.median_ms / home[page.reader]:>7.2f}  {verdict}"
        )
    print(
        f"{args.requests} requests per page and reader after one untimed; target judged on the "
        "95th percentile; × home = median / the home page's median for the same reader"
    )
    return pages


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from sonda.accounts.models import User
    from sonda.demo.bank import ANALYST_LOGIN, REGION_MANAGER_LOGIN

    readers = {"analyst": ANALYST_LOGIN, "manager": REGION_MANAGER_LOGIN}
    names = [*BASELINES, *(f"dashboards:{name}" for name in DASHBOARDS)]
    pages = []
    for reader, login in readers.items():
        client = Client()
        client.force_login(User.objects.get(email=login))
        for name in names:
            url = reverse(name)
            executed: list[str] = []

            def count(execute: Any, sql: str, *rest: Any, executed: list[str] = executed) -> Any:
                executed.append(sql)
                return execute(sql, *rest)

            # Counted on Django's connection, which every query of a request goes through.
            with connection.execute_wrapper(count):
                status = client.get(url).status_code  # untimed: warms caches and imports
            if status != 200:
                raise SystemExit(f"{name} as the {reader}: HTTP {status}")
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
            page = Page(
                name=name,
                reader=reader,
                median_ms=statistics.median(times),
                p95_ms=_percentile(times, 0.95),
                queries=len(executed),
                status=status,
            )
            print(
                f"{reader}: {name}: median {page.median_ms:.1f} ms, p95 {page.p95_ms:.1f} ms, "
                f"{page.queries} queries",
                flush=True,
            )
            pages.append(page)
    print(RESULT_PREFIX + json.dumps([page.__dict__ for page in pages]), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scale", choices=("full", "small", "tiny"), default="full")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument(
        "--var-dir",
        default="",
        help="keep the demo in this SONDA_VAR_DIR (reused when it holds one already; "
        "the demo command leaves an existing demo as it is) instead of a scratch folder",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
