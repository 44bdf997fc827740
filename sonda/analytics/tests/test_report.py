"""`sonda report`: one self-contained HTML file for a period (and the by-unit table as CSV),
checked end to end against figures computed here from the answers stored."""

import csv
import math
import re
from datetime import UTC, datetime

import pytest

from sonda.analytics.tests.analytics_data import measured_survey
from sonda.analytics.tests.metrics_data import store
from sonda.cli import main

Q2_DAY = datetime(2026, 5, 12, 12, 0, tzinfo=UTC)
Q3_DAY = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)
Q2_SOUTH_1 = [10] * 30 + [7] * 10
Q3_NORTH_1 = [10] * 30 + [8] * 10 + [4] * 5
Q3_SOUTH_1 = [10] * 5 + [8] * 5 + [1] * 30
Q3_NORTH = [9] * 10  # below the minimum base of 30
Q3_CSAT = [5] * 24 + [4] * 6 + [2] * 10


@pytest.fixture(autouse=True)
def no_embedded_secret_key(tmp_path, monkeypatch):
    # The command reads var/secret_key of an embedded setup; the tests have none.
    monkeypatch.setenv("SONDA_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def survey(world):
    survey = measured_survey(world.scope(world.analyst))
    store(survey, "ltr", Q2_SOUTH_1, at=Q2_DAY, unit=world.south_branch)
    store(survey, "ltr", Q3_NORTH_1, at=Q3_DAY, unit=world.north_branch)
    store(survey, "ltr", Q3_SOUTH_1, at=Q3_DAY, unit=world.south_branch)
    store(survey, "ltr", Q3_NORTH, at=Q3_DAY, unit=world.north)
    store(survey, "csat", Q3_CSAT, at=Q3_DAY, unit=world.north_branch)
    return survey


def nps(values: list[int]) -> float:
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    return 100 * (promoters - detractors) / len(values)


def row_of(html: str, label: str) -> str:
    match = re.search(rf"<tr[^>]*>\s*<td>{re.escape(label)}</td>(.*?)</tr>", html, re.S)
    assert match, f"no row {label}"
    return match.group(1)


def test_the_report_holds_the_periods_figures_and_nothing_from_outside(world, survey, tmp_path):
    out, table = tmp_path / "report.html", tmp_path / "table.csv"
    code = main(
        [
            "report",
            "--organisation",
            "banca",
            "--period",
            "2026-Q3",
            "--out",
            str(out),
            "--csv",
            str(table),
        ]
    )
    assert code == 0
    html = out.read_text()
    # Self-contained: no link, script, image or stylesheet from anywhere.
    assert not re.search(r"\b(src|href)=|<script|<link|@import|url\(|https?://", html)
    assert html.count("<svg") == 2
    everything = Q3_NORTH_1 + Q3_SOUTH_1 + Q3_NORTH
    headline = row_of(html, "ltr (NPS)")
    assert f">{len(everything)}<" in headline
    assert f"{nps(everything):+.1f}" in headline
    assert f"{nps(everything) - nps(Q2_SOUTH_1):+.1f}" in headline  # Q2 had South 1 only
    assert f"{100 * 30 / 40:.1f}%" in row_of(html, "csat (top box)")
    south = row_of(html, "South 1")
    assert f"{nps(Q3_SOUTH_1):+.1f}" in south
    assert "below" in south
    assert "above" in row_of(html, "North 1")
    north = row_of(html, "North")
    assert "too few answers" in north
    assert f"{nps(Q3_NORTH):+.1f}" not in north
    assert "2026-Q3" in html

    with table.open(newline="") as handle:
        rows = {row["unit"]: row for row in csv.DictReader(handle)}
    assert float(rows["South 1"]["value"]) == pytest.approx(nps(Q3_SOUTH_1), abs=1e-4)
    assert rows["South 1"]["flag"] == "below"
    assert float(rows["South 1"]["previous_value"]) == pytest.approx(nps(Q2_SOUTH_1), abs=1e-4)
    assert rows["North"]["value"] == ""
    assert (rows["North"]["n"], rows["North"]["too_few"]) == ("10", "yes")
    assert int(rows["All answers"]["n"]) == len(everything)
    low, high = float(rows["South 1"]["low"]), float(rows["South 1"]["high"])
    assert low < nps(Q3_SOUTH_1) < high
    assert not math.isnan(low)


def test_a_managers_report_covers_their_subtree(world, survey, tmp_path):
    out = tmp_path / "north.html"
    code = main(
        [
            "report",
            "--organisation",
            "banca",
            "--period",
            "2026-08",
            "--out",
            str(out),
            "--user",
            "north@banca.example",
        ]
    )
    assert code == 0
    html = out.read_text()
    assert "South 1" not in html
    assert f">{len(Q3_NORTH_1 + Q3_NORTH)}<" in row_of(html, "ltr (NPS)")


def test_a_unit_narrows_the_report_to_its_subtree(world, survey, tmp_path):
    out = tmp_path / "south.html"
    code = main(
        ["report", "--organisation", "banca", "--period", "2026", "--unit", "S", "--out", str(out)]
    )
    assert code == 0
    html = out.read_text()
    assert "North 1" not in html
    assert f">{len(Q3_SOUTH_1 + Q2_SOUTH_1)}<" in row_of(html, "ltr (NPS)")


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        (["--period", "2026-Q5"], "--period"),
        (["--period", "last quarter"], "--period"),
        (["--period", "2026-Q3", "--unit", "NOPE"], "--unit"),
        (["--period", "2026-Q3", "--question", "nope"], "--question"),
    ],
)
def test_bad_options_are_named_and_write_nothing(
    world, survey, tmp_path, capsys, arguments, option
):
    out = tmp_path / "report.html"
    code = main(["report", "--organisation", "banca", *arguments, "--out", str(out)])
    assert code == 2
    assert f"{option}:" in capsys.readouterr().err
    assert not out.exists()
