"""Segments and weights: a customer segment (an attribute and a value) counts exactly the answers
of its customers, weights post-stratify a figure to target shares of an attribute's values with
Kish's effective base, both through /api/v1/metrics and the dashboards' filter, within the
reader's scope; malformed input is a problem naming the field."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import numpy as np
import pytest
from django.utils import timezone

from sonda.analytics.metrics import MetricQuery, metric_table
from sonda.analytics.queries import Dimension
from sonda.analytics.stats import nps_score
from sonda.analytics.tests.analytics_data import measured_survey
from sonda.analytics.tests.metrics_data import store
from sonda.analytics.tests.test_dashboard_pages import page, row_of
from sonda.api.testing import Api, problem_fields
from sonda.customers.models import Customer
from sonda.customers.selectors import CustomerSegment, customer_segment_choices
from sonda.customers.tests.factories import CustomerFactory

# Inside the dashboards' default period (the last twelve months).
RECENTLY = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)

# Each customer's answers, and where they were given.
BUSINESS_NORTH = [10] * 20 + [3] * 10  # served by Ana, the frontline employee
BUSINESS_SOUTH = [9] * 15 + [8] * 5 + [2] * 20
RETAIL_NORTH = [10] * 25 + [7] * 10 + [5] * 5
RETAIL_SOUTH = [6] * 30 + [10] * 10
ANONYMOUS_NORTH = [10] * 10  # no customer: in no segment, weight 0
OTHER_ORG_BUSINESS = [0] * 35  # another organisation's business customer


def counts(values: list[int]) -> tuple[int, int, int]:
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    return promoters, len(values) - promoters - detractors, detractors


@pytest.fixture
def api(world) -> Api:
    return Api(world)


@pytest.fixture
def customers(world) -> dict[str, Customer]:
    made = {
        "business_north": {"tier": "business", "products": ["loan", "card"], "tenure_years": 3},
        "business_south": {"tier": "business", "products": ["savings"], "tenure_years": 12},
        "retail_north": {"tier": "retail", "products": ["card"], "tenure_years": 3},
        "retail_south": {"tier": "retail", "tenure_years": 1},
    }
    return {
        name: CustomerFactory(organisation=world.org, attributes=attributes)
        for name, attributes in made.items()
    }


@pytest.fixture
def survey(world, customers):
    survey = measured_survey(world.scope(world.analyst))
    given = [
        (BUSINESS_NORTH, world.north_branch, "business_north", world.frontline_person),
        (BUSINESS_SOUTH, world.south_branch, "business_south", None),
        (RETAIL_NORTH, world.north_branch, "retail_north", None),
        (RETAIL_SOUTH, world.south_branch, "retail_south", None),
        (ANONYMOUS_NORTH, world.north_branch, "", None),
    ]
    for values, unit, customer, employee in given:
        store(
            survey,
            "ltr",
            values,
            at=RECENTLY,
            unit=unit,
            employee=employee,
            customer=customers[customer] if customer else None,
        )
    theirs = measured_survey(world.scope(world.outsider, world.other_org), name="Theirs")
    stranger = CustomerFactory(organisation=world.other_org, attributes={"tier": "business"})
    store(theirs, "ltr", OTHER_ORG_BUSINESS, at=RECENTLY, customer=stranger)
    return survey


def metrics(api: Api, who: str, **query):
    response = api.as_(who).get("/metrics", question="ltr", **query)
    assert response.status_code == 200, response.content
    return response.json()


# --- Segments -----------------------------------------------------------------------------------


def test_a_segment_counts_exactly_the_answers_of_its_customers(api, world, survey):
    body = metrics(api, "analyst", segment_attribute="tier", segment_value="business", by="unit_id")
    business = BUSINESS_NORTH + BUSINESS_SOUTH
    expected = nps_score(*counts(business), min_base=30)
    assert (body["segment_attribute"], body["segment_value"]) == ("tier", "business")
    assert body["overall"]["n"] == len(business) == 70
    assert body["overall"]["value"] == pytest.approx(expected.value)
    assert body["overall"]["low"] == pytest.approx(expected.low)
    rows = {row["labels"][0]: row["n"] for row in body["rows"]}
    assert rows == {"North 1": len(BUSINESS_NORTH), "South 1": len(BUSINESS_SOUTH)}

    retail = metrics(api, "analyst", segment_attribute="tier", segment_value="retail")
    assert retail["overall"]["n"] == len(RETAIL_NORTH + RETAIL_SOUTH)
    everyone = metrics(api, "analyst")
    assert everyone["overall"]["n"] == 70 + 80 + len(ANONYMOUS_NORTH)
    assert everyone["segment_attribute"] is None


def test_a_list_attribute_puts_a_customer_in_a_segment_per_element(api, world, survey):
    loan = metrics(api, "analyst", segment_attribute="products", segment_value="loan")
    assert loan["overall"]["n"] == len(BUSINESS_NORTH)
    card = metrics(api, "analyst", segment_attribute="products", segment_value="card")
    assert card["overall"]["n"] == len(BUSINESS_NORTH + RETAIL_NORTH)
    # Numbers are matched by their text: tenure_years=3 is stored as the number 3.
    tenure = metrics(api, "analyst", segment_attribute="tenure_years", segment_value="3")
    assert tenure["overall"]["n"] == len(BUSINESS_NORTH + RETAIL_NORTH)


@pytest.mark.parametrize(
    ("attribute", "value"), [("tier", "platinum"), ("colour", "blue"), ("tier", "Business")]
)
def test_a_segment_no_customer_is_in_counts_no_answers_and_is_not_an_error(
    api, survey, attribute, value
):
    body = metrics(api, "analyst", segment_attribute=attribute, segment_value=value, by="unit_id")
    assert body["overall"]["n"] == 0
    assert (body["overall"]["too_few"], body["overall"]["value"]) == (True, None)
    assert body["rows"] == []


def test_an_erased_customer_is_in_no_segment(api, world, survey, customers):
    Customer.objects.filter(pk=customers["business_south"].pk).update(erased_at=timezone.now())
    body = metrics(api, "analyst", segment_attribute="tier", segment_value="business")
    assert body["overall"]["n"] == len(BUSINESS_NORTH)


def test_the_facade_narrows_by_segment_and_keeps_other_filters(world, survey):
    table = metric_table(
        scope=world.scope(world.analyst),
        query=MetricQuery(
            question="ltr",
            by=(Dimension.UNIT,),
            segment_attribute="products",
            segment_value="card",
            flag_below_average=True,
        ),
    )
    assert {row.key[0]: row.score.n for row in table.rows} == {
        world.north_branch.pk: len(BUSINESS_NORTH + RETAIL_NORTH)
    }


# Who counts which answers of the business segment.
BUSINESS_VISIBLE = {
    "manager_north": BUSINESS_NORTH,
    "manager_south": BUSINESS_SOUTH,
    "frontline": BUSINESS_NORTH,  # Ana's own answers
    "executive": BUSINESS_NORTH + BUSINESS_SOUTH,
}


@pytest.mark.parametrize("who", list(BUSINESS_VISIBLE))
def test_a_segment_never_counts_answers_outside_the_readers_scope(api, survey, who):
    body = metrics(api, who, segment_attribute="tier", segment_value="business")
    expected = nps_score(*counts(BUSINESS_VISIBLE[who]), min_base=30)
    assert body["overall"]["n"] == expected.n
    assert body["overall"]["value"] == (None if expected.too_few else pytest.approx(expected.value))


def test_another_organisation_counts_only_its_own_customers(api, world, survey):
    theirs = metrics(api, "outsider", segment_attribute="tier", segment_value="business")
    assert theirs["overall"]["n"] == len(OTHER_ORG_BUSINESS)
    assert theirs["overall"]["value"] == pytest.approx(-100.0)
    # …and none of ours: their retail segment is empty, our business one is ours alone.
    assert (
        metrics(api, "outsider", segment_attribute="tier", segment_value="retail")["overall"]["n"]
        == 0
    )
    ours = metrics(api, "analyst", segment_attribute="tier", segment_value="business")
    assert ours["overall"]["n"] == 70


# --- Weights ------------------------------------------------------------------------------------

TARGETS = {"business": 0.3, "retail": 0.7}


def weighted_nps(groups: list[tuple[str | None, list[int]]]) -> tuple[float, float, int]:
    """(NPS, Kish's effective base, n) post-stratified to TARGETS, answer by answer with numpy:
    an answer of segment s weighs t_s·N/n_s (targets renormalised over the segments present),
    N the answers of targeted segments; answers without a targeted segment weigh 0."""
    scores = np.array([v for _, values in groups for v in values], dtype=float)
    segments = np.array([s or "" for s, values in groups for _ in values])
    targeted = np.isin(segments, list(TARGETS))
    present = sorted(set(segments[targeted]))
    total_target = sum(TARGETS[s] for s in present)
    weights = np.zeros(len(scores))
    for segment in present:
        members = segments == segment
        weights[members] = TARGETS[segment] / total_target * targeted.sum() / members.sum()
    loyalty = np.where(scores >= 9, 1.0, np.where(scores <= 6, -1.0, 0.0))
    nps = 100 * float(np.sum(weights * loyalty) / np.sum(weights))
    effective = float(np.sum(weights) ** 2 / np.sum(weights**2))
    return nps, effective, int(targeted.sum())


def test_a_weighted_figure_equals_the_answer_by_answer_computation(api, world, survey):
    body = metrics(
        api, "analyst", weight_attribute="tier", weights="business:0.3,retail:0.7", by="unit_id"
    )
    assert (body["weight_attribute"], body["weights"]) == ("tier", TARGETS)
    nps, effective, n = weighted_nps(
        [
            ("business", BUSINESS_NORTH + BUSINESS_SOUTH),
            ("retail", RETAIL_NORTH + RETAIL_SOUTH),
            (None, ANONYMOUS_NORTH),
        ]
    )
    overall = body["overall"]
    assert overall["n"] == n == 150
    assert overall["value"] == pytest.approx(nps)
    assert overall["effective_n"] == pytest.approx(effective)
    assert overall["low"] < overall["value"] < overall["high"]
    rows = {row["labels"][0]: row for row in body["rows"]}
    north_nps, north_effective, north_n = weighted_nps(
        [("business", BUSINESS_NORTH), ("retail", RETAIL_NORTH), (None, ANONYMOUS_NORTH)]
    )
    assert rows["North 1"]["n"] == north_n
    assert rows["North 1"]["value"] == pytest.approx(north_nps)
    assert rows["North 1"]["effective_n"] == pytest.approx(north_effective)
    # The unweighted figure differs: weighting changed it.
    assert metrics(api, "analyst")["overall"]["value"] != pytest.approx(nps)


def test_weights_may_be_repeated_and_need_not_sum_to_one(api, survey):
    listed = metrics(api, "analyst", weight_attribute="tier", weights="business:0.3,retail:0.7")
    caller = api.as_("analyst")
    repeated = caller.client.get(
        "/api/v1/metrics",
        [
            ("question", "ltr"),
            ("weight_attribute", "tier"),
            ("weights", "business:30"),
            ("weights", "retail:70"),
        ],
        headers=caller.headers,
    )
    assert repeated.status_code == 200, repeated.content
    assert repeated.json()["overall"]["value"] == pytest.approx(listed["overall"]["value"])
    assert repeated.json()["overall"]["effective_n"] == pytest.approx(
        listed["overall"]["effective_n"]
    )


def test_a_managers_weighted_figure_counts_only_their_subtree(api, survey):
    body = metrics(api, "manager_south", weight_attribute="tier", weights="business:0.3,retail:0.7")
    nps, effective, n = weighted_nps([("business", BUSINESS_SOUTH), ("retail", RETAIL_SOUTH)])
    assert body["overall"]["n"] == n == len(BUSINESS_SOUTH + RETAIL_SOUTH)
    assert body["overall"]["value"] == pytest.approx(nps)
    assert body["overall"]["effective_n"] == pytest.approx(effective)


def test_a_weighted_segment_combines_both(api, survey):
    body = metrics(
        api,
        "analyst",
        segment_attribute="products",
        segment_value="card",
        weight_attribute="tier",
        weights="business:0.5,retail:0.5",
    )
    business, retail = np.array(BUSINESS_NORTH), np.array(RETAIL_NORTH)
    loyalty = [np.mean(np.where(a >= 9, 1, np.where(a <= 6, -1, 0))) for a in (business, retail)]
    assert body["overall"]["n"] == len(BUSINESS_NORTH + RETAIL_NORTH)
    assert body["overall"]["value"] == pytest.approx(100 * (0.5 * loyalty[0] + 0.5 * loyalty[1]))
    assert body["overall"]["effective_n"] == pytest.approx(1 / (0.25 / 30 + 0.25 / 40))


def test_weights_of_a_number_attribute_read_its_values_as_the_segments_do(api, survey):
    body = metrics(api, "analyst", weight_attribute="tenure_years", weights="1:1,3:1,12:2")
    groups = {"1": RETAIL_SOUTH, "3": BUSINESS_NORTH + RETAIL_NORTH, "12": BUSINESS_SOUTH}
    targets = {"1": 0.25, "3": 0.25, "12": 0.5}
    loyalty = {
        years: np.mean(np.where(np.array(v) >= 9, 1, np.where(np.array(v) <= 6, -1, 0)))
        for years, v in groups.items()
    }
    assert body["overall"]["n"] == 150
    assert body["overall"]["value"] == pytest.approx(
        100 * sum(targets[years] * loyalty[years] for years in groups)
    )
    assert body["overall"]["effective_n"] == pytest.approx(
        1 / sum(targets[years] ** 2 / len(groups[years]) for years in groups)
    )


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"weight_attribute": "tier", "weights": "business:0,retail:0"}, "weights"),
        ({"weight_attribute": "tier", "weights": "business:-0.3,retail:1"}, "weights"),
        ({"weight_attribute": "tier", "weights": "business"}, "weights"),
        ({"weight_attribute": "tier", "weights": "business:lots"}, "weights"),
        ({"weight_attribute": "tier", "weights": ":0.5"}, "weights"),
        ({"weight_attribute": "tier", "weights": "business:nan"}, "weights"),
        ({"weight_attribute": "tier", "weights": "business:1e999"}, "weights"),
        ({"weight_attribute": "tier", "weights": "business:0.3,business:0.7"}, "weights"),
        ({"weight_attribute": "tier"}, "weights"),
        ({"weights": "business:0.3,retail:0.7"}, "weight_attribute"),
        ({"weight_attribute": "ti__er", "weights": "business:1"}, "weight_attribute"),
        (
            {
                "weight_attribute": "tier",
                "weights": "business:0.3,retail:0.7",
                "by": "unit_id",
                "flag_below_average": "true",
            },
            "flag_below_average",
        ),
        ({"segment_attribute": "tier"}, "segment_value"),
        ({"segment_value": "business"}, "segment_attribute"),
        ({"segment_attribute": "tier", "segment_value": "   "}, "segment_value"),
        ({"segment_attribute": "ti__er", "segment_value": "business"}, "segment_attribute"),
        ({"segment_attribute": "tier name", "segment_value": "business"}, "segment_attribute"),
        ({"segment_attribute": "t" * 65, "segment_value": "business"}, "segment_attribute"),
        ({"segment_attribute": "tier", "segment_value": "b" * 201}, "segment_value"),
    ],
)
def test_bad_segments_and_weights_are_problems_naming_the_field(api, survey, query, field):
    response = api.as_("analyst").get("/metrics", **{"question": "ltr", **query})
    assert response.status_code == 422, response.content
    assert problem_fields(response) == [field]


# --- The dashboards' segment filter -------------------------------------------------------------


def test_the_segment_list_offers_the_attribute_values_in_use(world, survey):
    choices = customer_segment_choices(scope=world.scope(world.manager_north))
    assert [str(segment) for segment in choices] == [
        "products = card",
        "products = loan",
        "products = savings",
        "tenure_years = 1",
        "tenure_years = 3",
        "tenure_years = 12",
        "tier = business",
        "tier = retail",
    ]
    theirs = customer_segment_choices(scope=world.scope(world.outsider, world.other_org))
    assert theirs == [CustomerSegment("tier", "business")]


def test_the_segment_list_is_bounded(world, survey):
    # An attribute with a value per customer (an identifier) is not a segment to pick.
    for number in range(13):
        CustomerFactory(organisation=world.org, attributes={"account": f"A-{number}"})
    scope = world.scope(world.analyst)
    assert "account" not in {s.attribute for s in customer_segment_choices(scope=scope)}
    # Whole attributes only, as many as fit: products (3) and tier (2), not tenure_years (3).
    assert [str(s) for s in customer_segment_choices(scope=scope, limit=5)] == [
        "products = card",
        "products = loan",
        "products = savings",
        "tier = business",
        "tier = retail",
    ]


def test_a_dashboard_narrowed_to_a_segment_counts_its_answers_and_keeps_it_in_links(
    client, world, survey
):
    html = page(client, world.analyst, "overview", segment="tier=business")
    assert "n = 70" in row_of(html, "Recommend us? (ltr)")
    assert '<option value="tier=business" selected>tier = business</option>' in html
    assert "Only the answers of customers in the segment tier = business." in html
    # The other dashboards' links carry the segment on.
    assert f"segment={quote('tier=business')}" in html
    manager = page(client, world.manager_north, "overview", segment="tier=business")
    assert "n = 30" in row_of(manager, "Recommend us? (ltr)")


def test_a_segment_from_a_link_that_no_customer_is_in_shows_too_few_answers(client, world, survey):
    html = page(client, world.analyst, "overview", segment="tier=platinum")
    assert '<option value="tier=platinum" selected>tier = platinum</option>' in html
    assert "no answers" in row_of(html, "Recommend us? (ltr)")


def test_a_malformed_segment_is_named_on_the_form_and_narrows_nothing(client, world, survey):
    html = page(client, world.analyst, "overview", segment="tier")
    assert "Choose a segment from the list." in html
    assert "n = 160" in row_of(html, "Recommend us? (ltr)")
