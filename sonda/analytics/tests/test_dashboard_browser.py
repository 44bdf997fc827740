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


def test_changing_the_filters_swaps_the_dashboard_in_place(world, page, live_server, bank):  # noqa: F811
    sign_in(page, live_server, "analyst@banca.example")
    page.goto(f"{live_server.url}/dashboards/")
    page.wait_for_selector("[data-echarts='trend-chart'] canvas")
    # A mark on the window survives an htmx swap, not a page load.
    page.evaluate("window.sondaNoReload = true")
    page.fill("input[name='channel']", "sms")
    page.click("form.filters button[type='submit']")
    page.wait_for_url("**channel=sms**")
    assert page.evaluate("window.sondaNoReload === true")
    assert page.locator("input[name='channel']").input_value() == "sms"
    # The links to the other dashboards carry the new filters.
    assert "channel=sms" in (page.locator("nav.page-actions a").first.get_attribute("href") or "")
    assert page.problems == []
