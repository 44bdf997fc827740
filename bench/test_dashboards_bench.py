"""The dashboards benchmark still runs against the current code: a tiny demo, a few requests per
page, figures not judged."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("dashboards.py")
PAGES = ("overview", "units", "employees", "heatmap", "below_average")


def test_a_tiny_benchmark_run_renders_every_dashboard_for_both_readers() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--scale", "tiny", "--requests", "2"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "demo (tiny scale) ready" in out
    rows = [line.split()[:2] for line in out.splitlines() if line.startswith(("home", "dash"))]
    for reader in ("analyst", "manager"):
        assert ["home", reader] in rows
        for page in PAGES:
            assert [f"dashboards:{page}", reader] in rows
    assert "target ≤ 300 ms" in out


def test_at_least_one_request_per_page() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--requests", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "--requests must be at least 1" in run.stderr
