"""The benchmark still runs against the current models: a tiny run on SQLite, figures not judged."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("identity_resolution.py")


def test_a_tiny_benchmark_run_resolves_and_reports_its_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--base", "300", "--incoming", "200", "--engines", "sqlite"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "sqlite: bare insert of 200 identities (100 new)" in "\n".join(lines)
    assert "sqlite: resolved 200 identities" in "\n".join(lines)
    assert [line.split()[:3] for line in lines if line.startswith("sqlite ")] == [
        ["sqlite", "300", "200"]
    ]


def test_the_sizes_must_leave_enough_known_identities() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--base", "10", "--incoming", "100"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "--base must be at least half of --incoming" in run.stderr
