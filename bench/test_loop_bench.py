"""The loop benchmark still runs against the current code: a tiny run on SQLite, figures not
judged (only that the run opened cases, rewrote them bare and opened nothing the second time)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("loop.py")


def test_a_tiny_benchmark_run_evaluates_opens_and_reports_its_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--responses", "2000", "--engine", "sqlite"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "sqlite: 288 branches, 1,440 people, 8 alert rules" in out
    assert "2,000 completed responses with" in out
    assert "sqlite: evaluated 2,000 responses in" in out
    assert "sqlite: bare insert of the" in out
    assert "sqlite: a second run over the same responses opened 0 cases" in out
    rows = [line.split()[:2] for line in out.splitlines() if line.startswith("sqlite ")]
    assert rows == [["sqlite", "2,000"]]


def test_the_size_must_make_sense() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--responses", "10"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "--responses must be at least 288" in run.stderr
