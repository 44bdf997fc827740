"""The ingestion benchmark still runs against the current code: a tiny run on SQLite, figures not
judged."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("ingest.py")


def test_a_tiny_benchmark_run_ingests_decides_and_reports_its_figures() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--events",
            "1500",
            "--import-events",
            "300",
            "--engine",
            "sqlite",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "sqlite: bare insert of 1,500 events" in out
    assert "sqlite: ingested 1,500 events" in out
    assert "import_events: events.csv: 300 created, 0 duplicates, 0 invalid" in out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("sqlite ")] == [
        ["sqlite", "1,500"]
    ]


def test_the_sizes_must_make_sense() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--events", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "--events must be at least 1" in run.stderr
