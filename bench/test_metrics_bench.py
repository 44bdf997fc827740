"""The analytics benchmark still runs against the current code: a tiny run on SQLite and DuckDB,
figures not judged (only that Sonda's agree with pandas')."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("metrics.py")


def test_a_tiny_benchmark_run_measures_both_queries_and_checks_the_figures() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--answers",
            "20000",
            "--engine",
            "sqlite,duckdb",
            "--repeat",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    for engine in ("sqlite", "duckdb"):
        assert f"{engine}: figures agree (12,000 unit × month cells over 24 months;" in out
    rows = [
        line.split()[:2] for line in out.splitlines() if line.startswith(("sqlite ", "duckdb "))
    ]
    assert rows == [["sqlite", "nps"], ["sqlite", "below"], ["duckdb", "nps"], ["duckdb", "below"]]
    assert "≤ 1 s" in out  # DuckDB's targets are printed beside its figures


def test_the_sizes_and_engines_must_make_sense() -> None:
    for arguments, message in (
        (["--answers", "10"], "--answers must be at least 500"),
        (["--engine", "oracle"], "--engine: one or more of duckdb, postgresql, sqlite"),
    ):
        run = subprocess.run(
            [sys.executable, str(SCRIPT), *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 2
        assert message in run.stderr
