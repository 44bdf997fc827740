"""The survey builder in a real browser, with JavaScript off: it needs none."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import PASSWORD
from sonda.surveys.models import SurveyVersion
from sonda.surveys.tests.factories import make_program

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


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    # A stylesheet or image the content security policy blocks shows up in the console.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.problems = problems
    yield page
    context.close()


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_an_analyst_builds_and_publishes_a_survey_without_javascript(world, page, live_server):
    make_program(world.scope(world.analyst), name="Service NPS")
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "analyst@banca.example")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/surveys/new/")
    page.fill("#id_name", "After a call")
    page.check("input[name=languages][value=ro]")
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("After a call")

    page.select_option("#new-question-kind", "nps")
    page.get_by_role("button", name="Add a question").click()
    page.fill("#id_key", "ltr")
    page.check("#id_required")
    page.fill("#id_text_en", "How likely are you to recommend us?")
    page.fill("#id_min_label_en", "Not at all likely")
    page.fill("#id_max_label_en", "Extremely likely")
    shot(page, "question-form")
    page.click("text=Save the question")
    expect(page.locator("#q-ltr")).to_have_count(1)
    expect(page.locator("#missing-translations li")).to_have_text(
        [
            "ltr: question text in ro",
            "ltr: scale label 'min' in ro",
            "ltr: scale label 'max' in ro",
        ]
    )
    expect(page.get_by_role("button", name="Publish version 1")).to_be_disabled()
    shot(page, "builder-missing")

    page.click("#q-ltr >> text=Edit")
    page.fill("#id_text_ro", "Cât de probabil este să ne recomandați?")
    page.fill("#id_min_label_ro", "Deloc probabil")
    page.fill("#id_max_label_ro", "Extrem de probabil")
    page.click("text=Save the question")
    expect(page.locator("#missing-translations")).to_have_count(0)
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.locator(".message-success")).to_have_text(
        "Version 1 is published: new responses answer it."
    )
    shot(page, "builder-published")
    version = SurveyVersion.objects.get(survey__name="After a call")
    assert (version.number, version.status) == (1, "published")

    page.goto(f"{live_server.url}/surveys/look/")
    page.fill("#id_sender_name", "Banca Demo care")
    page.click("main form button[type=submit]")
    expect(page.locator(".look-sender")).to_have_text("Banca Demo care")
    # The sample card takes its colours from the generated stylesheet, under the CSP.
    expect(page.locator(".look-button")).to_have_css("background-color", "rgb(29, 79, 145)")
    shot(page, "look")
    assert page.problems == []
