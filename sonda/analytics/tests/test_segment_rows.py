"""Rows per value of a customer attribute: by=segment:tier through the API and the facade."""

import pytest

from sonda.analytics.metrics import MetricQuery, metric_table
from sonda.analytics.queries import Dimension
from sonda.analytics.stats import nps_score
from sonda.analytics.tests.test_dashboard_pages import page, row_of
from sonda.analytics.tests.test_segments_and_weights import (  # noqa: F401 - fixtures
    ANONYMOUS_NORTH,
    BUSINESS_NORTH,
    BUSINESS_SOUTH,
    RETAIL_NORTH,
    RETAIL_SOUTH,
    api,
    counts,
    customers,
    metrics,
    survey,
)
from sonda.api.testing import problem_fields


def test_rows_per_tier_count_each_tiers_customers(api, survey):  # noqa: F811
    body = metrics(api, "analyst", by="segment:tier")
    rows = {row["labels"][0]: row for row in body["rows"]}
    assert set(rows) == {"business", "retail", "(none)"}
    business = BUSINESS_NORTH + BUSINESS_SOUTH
    expected = nps_score(*counts(business), min_base=30)
    assert rows["business"]["n"] == len(business)
    assert rows["business"]["value"] == pytest.approx(expected.value)
    assert rows["business"]["high"] == pytest.approx(expected.high)
    assert rows["retail"]["n"] == len(RETAIL_NORTH + RETAIL_SOUTH)
    # Answers without a customer are a row of their own; the rows add up to the whole.
    assert rows["(none)"]["n"] == len(ANONYMOUS_NORTH)
    assert sum(row["n"] for row in body["rows"]) == body["overall"]["n"]


def test_a_list_attribute_counts_a_customer_in_each_of_its_values(api, survey):  # noqa: F811
    body = metrics(api, "analyst", by="segment:products")
    rows = {row["labels"][0]: row["n"] for row in body["rows"]}
    assert rows["card"] == len(BUSINESS_NORTH) + len(RETAIL_NORTH)
    assert rows["loan"] == len(BUSINESS_NORTH)
    assert rows["savings"] == len(BUSINESS_SOUTH)
    assert rows["(none)"] == len(RETAIL_SOUTH) + len(ANONYMOUS_NORTH)


def test_segment_rows_within_units_and_flagged_against_the_rest(world, survey):  # noqa: F811
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(
            question="ltr", by=(Dimension.UNIT,), segment_by="tier", flag_below_average=True
        ),
    )
    cells = {(row.labels[0], row.labels[1]): row for row in table.rows}
    assert cells[("South 1", "retail")].score.n == len(RETAIL_SOUTH)
    assert cells[("North 1", "business")].score.n == len(BUSINESS_NORTH)
    # Retail in the south (30 detractors of 40) is flagged below the rest.
    assert cells[("South 1", "retail")].flag == "below"


@pytest.mark.parametrize("who", ["manager_north", "frontline"])
def test_segment_rows_stay_within_the_readers_scope(api, survey, who):  # noqa: F811
    body = metrics(api, who, by="segment:tier")
    north = len(BUSINESS_NORTH) + len(RETAIL_NORTH) + len(ANONYMOUS_NORTH)
    own = len(BUSINESS_NORTH)  # the frontline employee served only the business customer
    assert body["overall"]["n"] == (north if who == "manager_north" else own)
    assert sum(row["n"] for row in body["rows"]) == body["overall"]["n"]


@pytest.mark.parametrize(
    ("by", "extra", "field"),
    [
        ("segment:", {}, "by"),
        ("segment:tier,segment:products", {}, "by"),
        ("segment:no spaces", {}, "segment_by"),
        ("segment:tier,unit_id,channel", {}, "by"),
        ("segment:tier", {"weight_attribute": "tier", "weights": "business:1"}, "segment_by"),
        ("segment:tier", {"rollup": "true"}, "segment_by"),
    ],
)
def test_bad_segment_rows_are_problems_naming_the_field(api, survey, by, extra, field):  # noqa: F811
    response = api.as_("analyst").get("/metrics", question="ltr", by=by, **extra)
    assert response.status_code == 422, response.content
    assert problem_fields(response)[0] == field


def test_the_below_average_page_compares_customer_tiers(client, world, survey):  # noqa: F811
    html = page(client, world.analyst, "below_average", dimension="segment:tier")
    assert '<option value="segment:tier" selected>' in html
    assert "n = 80" in row_of(html, "retail")
    assert "n = 70" in row_of(html, "business")
    manager = page(client, world.manager_north, "below_average", dimension="segment:tier")
    assert "n = 30" in row_of(manager, "business")


def test_an_attribute_no_customer_has_is_not_offered(client, world, survey):  # noqa: F811
    html = page(client, world.analyst, "below_average", dimension="segment:shoe_size")
    assert "segment:shoe_size is not one of the available choices" in html
