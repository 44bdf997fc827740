"""The responses pages in Debian's chromium: filter the list, read a response on a phone."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from conftest import PASSWORD
from sonda.customers.tests.factories import CustomerFactory
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.responses_helpers import store

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = os.environ.get("SONDA_SCREENSHOTS", "")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's chromium at /usr/bin/chromium",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-gpu", "--no-first-run"],
            )
            yield chromium
            chromium.close()


def open_page(browser, viewport):
    context = browser.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return context, page, problems


def sign_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_an_analyst_filters_responses_and_reads_one_on_a_phone(
    world, browser, live_server, transactional_db
):
    survey = make_published_survey(world.scope(world.analyst))
    ana = CustomerFactory(organisation=world.org, full_name="Ana Pop")
    low = store(
        survey,
        customer_id=ana.pk,
        unit_id=world.north_branch.pk,
        employee_id=world.frontline_person.pk,
        channel="email",
    )
    store(survey, {"ltr": 10, "speed": 5}, customer_id=ana.pk, unit_id=world.south_branch.pk)

    context, page, problems = open_page(browser, {"width": 1280, "height": 900})
    sign_in(page, live_server, "analyst@banca.example")
    page.goto(f"{live_server.url}/responses/")
    assert page.locator("#results tbody tr").count() == 2
    page.select_option("#id_has_text", "yes")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**has_text=yes**")
    assert page.locator("#results tbody tr").count() == 1
    shot(page, "responses-list")
    context.close()

    context, page, problems = open_page(browser, {"width": 390, "height": 844})
    sign_in(page, live_server, "analyst@banca.example")
    page.goto(f"{live_server.url}/responses/{low.pk}/")
    answers = page.locator("ol.answers")
    assert answers.get_attribute("lang") == "ro"
    assert "Cât de probabil este să ne recomandați unui prieten?" in answers.inner_text()
    assert "Timpul de așteptare" in answers.inner_text()
    assert page.get_by_role("link", name="Ana Pop").count() == 1
    # The customer's other response, at south 1, is in the history.
    assert page.locator("table tbody tr").count() == 1
    # Nothing overflows the phone's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "response-phone")
    assert problems == []
    context.close()
