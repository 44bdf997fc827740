"""The collection benchmark still runs against the current pages: a tiny run, figures not judged."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

SCRIPT = Path(__file__).with_name("collection.py")
POSTGRES_URL = os.environ.get(
    "SONDA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.mark.postgres
def test_a_tiny_collection_run_completes_every_response_and_reports_its_figures() -> None:
    if not os.environ.get("SONDA_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("runs with the PostgreSQL pass of the suite (it starts its own server)")
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_URL} ({exc})")
    run = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--responses=12",
            "--warmup=4",
            "--concurrency=4",
            "--workers=1",
            "--threads=2",
            f"--postgres-url={POSTGRES_URL}",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(
        "gunicorn 1 workers x 2 threads (gthread), 4 respondents at once, 12 responses measured "
        "after 4 to warm up"
    )
    assert lines[1].startswith("completed responses/s: ")
    assert [line.split()[0] for line in lines[3:6]] == ["open+submit", "GET", "POST"]
    assert lines[-1].startswith("ratio (pages / bare insert): ")
