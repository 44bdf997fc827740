"""The weekday × hour heat map flags each cell (a weekday at an hour) that is significantly below
or above all the other answers: a z-test of the cell against the rest, Benjamini–Hochberg over
every cell tested. Cells with too few answers are greyed and never tested; every cell links to
its responses; a reader's cells count only the answers in their scope."""

import math
import re
from datetime import datetime, time, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from sonda.analytics import charts
from sonda.analytics.metrics import MetricQuery, metric_table, metric_tables
from sonda.analytics.queries import Dimension
from sonda.analytics.tests.analytics_data import measured_survey
from sonda.analytics.tests.metrics_data import store
from sonda.analytics.tests.test_dashboard_pages import chart_option, page, row_of
from sonda.core.errors import ValidationFailed

NORMAL = [10] * 20 + [8] * 10 + [4] * 10  # NPS +25
BAD = [2] * 30 + [10] * 10  # NPS −50: the planted bad cell, Monday 18:00
MILD = [10] * 12 + [8] * 14 + [4] * 14  # NPS −5: p ≈ 0.03 alone, not among 16 cells
FEW = [0] * 5  # Sunday 03:00: too few answers to test
SOUTH = [9] * 35  # Wednesday 10:00, in the south branch
WEEKDAYS = range(5)  # Monday to Friday
HOURS = (9, 13, 18)


def planted(weekday: int, hour: int) -> list[int]:
    return {(0, 18): BAD, (1, 13): MILD}.get((weekday, hour), NORMAL)


@pytest.fixture
def cells(world) -> dict[tuple[int, int], list[int]]:
    """(weekday, hour) → the scores answered then, all of them visible to the analyst; every
    north cell answered in the north branch, one south cell in the south branch."""
    survey = measured_survey(world.scope(world.analyst))
    zone = ZoneInfo(world.org.time_zone)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 14)

    def at(weekday: int, hour: int) -> datetime:
        return datetime.combine(monday + timedelta(days=weekday), time(hour, 30), tzinfo=zone)

    north = world.north_branch
    out: dict[tuple[int, int], list[int]] = {}
    for weekday in WEEKDAYS:
        for hour in HOURS:
            out[(weekday, hour)] = planted(weekday, hour)
            store(
                survey, "ltr", out[(weekday, hour)], at=at(weekday, hour), unit=world.north_branch
            )
    out[(6, 3)] = FEW
    store(survey, "ltr", FEW, at=at(6, 3), unit=north)
    out[(2, 10)] = SOUTH
    store(survey, "ltr", SOUTH, at=at(2, 10), unit=world.south_branch)
    return out


def loyalty(values: list[int]) -> np.ndarray:
    scores = np.array(values, dtype=float)
    return np.where(scores >= 9, 1.0, np.where(scores <= 6, -1.0, 0.0))


def nps_test(cell: list[int], rest: list[int]) -> float:
    """The two-sided p-value of NPS cell − rest, SE = √(SE₁² + SE₂²) on the plain standard
    errors, computed here from the answers."""
    a, b = loyalty(cell), loyalty(rest)
    se = math.hypot(a.std() / math.sqrt(len(a)), b.std() / math.sqrt(len(b)))
    z = (a.mean() - b.mean()) / se
    return math.erfc(abs(z) / math.sqrt(2))


def bh_adjusted(p_values: dict[tuple[int, int], float]) -> dict[tuple[int, int], float]:
    """Benjamini–Hochberg adjusted p-values: min over j ≥ i of m·p₍ⱼ₎/j."""
    keys = sorted(p_values, key=p_values.get)  # type: ignore[arg-type]
    m = len(keys)
    ranked = np.array([p_values[k] * m / (i + 1) for i, k in enumerate(keys)])
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    return dict(zip(keys, adjusted.tolist(), strict=True))


def expected_flags(cells: dict[tuple[int, int], list[int]]):
    everything = [v for values in cells.values() for v in values]
    raw = {}
    for key, values in cells.items():
        rest = list(everything)
        for value in values:
            rest.remove(value)
        if len(values) >= 30 and len(rest) >= 30:
            raw[key] = nps_test(values, rest)
    return raw, bh_adjusted(raw)


def test_each_cell_is_tested_against_the_rest_under_benjamini_hochberg(world, cells):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(
            question="ltr", by=(Dimension.WEEKDAY, Dimension.HOUR), flag_below_average=True
        ),
    )
    rows = {row.key: row for row in table.rows}
    assert set(rows) == set(cells)
    raw, adjusted = expected_flags(cells)
    assert len(adjusted) == len(cells) - 1  # every cell but the one with too few answers
    for key, q in adjusted.items():
        assert rows[key].p_adjusted == pytest.approx(q, rel=1e-6), key

    bad, mild = rows[(0, 18)], rows[(1, 13)]
    assert bad.flag == "below"
    assert bad.p_adjusted is not None
    assert bad.p_adjusted < 0.001
    assert bad.effect is not None
    assert bad.effect < -0.5
    # Below at p < 0.05 on its own, but not among so many cells: BH keeps it unflagged.
    assert raw[(1, 13)] < 0.05
    assert mild.p_adjusted is not None
    assert mild.p_adjusted > 0.05
    assert mild.flag == ""
    assert rows[(2, 9)].flag == ""
    few = rows[(6, 3)]
    assert (few.score.n, few.score.too_few, few.flag, few.p_adjusted) == (5, True, "", None)


def heatmap_option(html: str) -> dict[str, Any]:
    return chart_option(html, "heatmap-chart")


def section(html: str, start: str, end: str) -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def test_the_heat_map_marks_flagged_cells_greys_small_ones_and_links_every_cell(
    client, world, cells
):
    html = unescape(page(client, world.analyst, "heatmap"))
    option = heatmap_option(html)
    scored, too_few = option["series"]
    by_cell = {tuple(item["value"][:2]): item for item in scored["data"]}
    bad = by_cell[(18, 0)]  # [hour, weekday]
    assert bad["value"][2] == pytest.approx(-50.0)
    assert bad["itemStyle"] == {"borderColor": charts.BELOW, "borderWidth": 3}
    assert bad["label"] == {"show": True, "formatter": "▼"}
    assert "itemStyle" not in by_cell[(13, 1)]
    assert "itemStyle" not in by_cell[(9, 2)]
    # Too few answers: grey, its n and no score, out of the colour scale.
    assert too_few["itemStyle"] == {"color": charts.TOO_FEW}
    assert [item["value"] for item in too_few["data"]] == [[3, 6, 5]]
    assert option["visualMap"]["seriesIndex"] == 0
    responses = reverse("responses:list")
    for item in scored["data"] + too_few["data"]:
        assert item["url"].startswith(f"{responses}?")

    flagged = section(html, "Flagged cells</h2>", "Flagged weekdays and hours</h2>")
    bad_row = row_of(flagged, "Mon · 18:00–18:59")
    assert "below" in bad_row
    assert "n = 40" in bad_row
    assert re.search(r"<td>-\d\.\d\d</td>", bad_row)  # the effect size
    assert "p < 0.001" in bad_row
    assert "Tue · 13:00–13:59" not in flagged
    assert "too few answers (n = 5)" in row_of(html, "Sun · 03:00–03:59")


def test_a_managers_heat_map_counts_and_flags_only_their_subtree(client, world, cells):
    north = unescape(page(client, world.manager_north, "heatmap"))
    assert "Mon · 18:00–18:59" in section(north, "Flagged cells</h2>", "Flagged weekdays")
    north_cells = {tuple(i["value"][:2]) for i in heatmap_option(north)["series"][0]["data"]}
    assert (10, 2) not in north_cells

    south = unescape(page(client, world.manager_south, "heatmap"))
    (scored,) = heatmap_option(south)["series"]
    assert [item["value"] for item in scored["data"]] == [[10, 2, 100.0]]
    assert "Mon · 18:00" not in south
    assert "No cell differs from the rest beyond chance." in south


def test_another_organisation_sees_none_of_the_cells(client, world, cells):
    html = page(client, world.outsider, "heatmap")
    assert "heatmap-chart" not in html
    assert "Mon · 18:00" not in html
    assert "No published survey with a measured question yet." in html


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "flag_below_average"),
        ({"by": (Dimension.WEEKDAY, Dimension.HOUR), "weights": {"a": 1.0}}, "weight_attribute"),
        (
            {
                "by": (Dimension.WEEKDAY, Dimension.HOUR),
                "weights": {"a": 1.0},
                "weight_attribute": "tier",
            },
            "flag_below_average",
        ),
    ],
)
def test_cell_flags_need_a_dimension_and_unweighted_answers(changes: dict[str, Any], field: str):
    with pytest.raises(ValidationFailed) as error:
        MetricQuery(question="ltr", flag_below_average=True, **changes)
    assert error.value.errors[0].field == field


@pytest.mark.parametrize("role", ["analyst", "manager_north"])
def test_the_weekdays_and_hours_summed_from_the_cells_are_the_tables_queried_alone(
    world, cells, role
):
    scope = world.scope(getattr(world, role))
    query = MetricQuery(
        question="ltr", by=(Dimension.WEEKDAY, Dimension.HOUR), flag_below_average=True
    )
    table, by_weekday, by_hour = metric_tables(
        scope=scope, query=query, margins=[(Dimension.WEEKDAY,), (Dimension.HOUR,)]
    )
    assert table == metric_table(scope=scope, query=query)
    for margin, derived in (((Dimension.WEEKDAY,), by_weekday), ((Dimension.HOUR,), by_hour)):
        alone = metric_table(
            scope=scope, query=MetricQuery(question="ltr", by=margin, flag_below_average=True)
        )
        assert derived.rows == alone.rows
        assert derived.overall == alone.overall
        assert [row.key for row in derived.rows]  # the margins are not empty
    # The hours a manager sees hold only their subtree's answers: no south 10:00 for the north.
    hours = {row.key[0] for row in by_hour.rows}
    assert (10 in hours) == (role == "analyst")


def test_a_margin_names_some_of_the_query_dimensions(world, cells):
    query = MetricQuery(question="ltr", by=(Dimension.WEEKDAY,))
    with pytest.raises(ValueError, match="a margin is some of"):
        metric_tables(scope=world.scope(world.analyst), query=query, margins=[(Dimension.HOUR,)])
