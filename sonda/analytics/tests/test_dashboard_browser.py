"""The overview in a real browser: ECharts draws the trend from its JSON block under the CSP."""

from sonda.analytics.tests.test_dashboard_pages import bank  # noqa: F401 - a fixture
from sonda.web.tests.test_browser import browser, page, pytestmark, sign_in  # noqa: F401


def test_the_overview_draws_its_trend_chart(world, page, live_server, bank):  # noqa: F811
    sign_in(page, live_server, "analyst@banca.example")
    page.goto(f"{live_server.url}/dashboards/")
    assert page.locator("h1").inner_text() == "Dashboard of Banca Demo"
    page.wait_for_selector("[data-echarts='trend-chart'] canvas")
    assert page.locator("[data-echarts='trend-chart'] canvas").count() == 1
    assert page.problems == []
