"""The export benchmark still runs against the current code: a tiny run, figures not judged."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("export_memory.py")


def test_a_tiny_benchmark_run_exports_and_reports_its_figures() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--answers", "400", "--chunk-size", "50"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("setup: 100 responses and 400 answers in ")
    assert [
        line.split()[:2]
        for line in lines
        if line.split()[:1] in (["count"], ["export"], ["in-memory"])
    ] == [
        ["count", "400"],
        ["export", "400"],
        ["in-memory", "400"],
    ]
    assert lines[-1].endswith("bar 500 MB: met")
