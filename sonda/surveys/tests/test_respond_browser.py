"""A Romanian customer answers on a phone in a real browser (Debian's chromium through Playwright):
answers page 1, leaves, comes back through the same link, finds their answers and completes the
survey — with JavaScript and without it."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from sonda.listening.services import invitation_create
from sonda.surveys import services
from sonda.surveys.models import Answer, Response
from sonda.surveys.tests.factories import make_published_survey

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)",  # noqa: E501
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls that the fixtures and
    # the live server's test data make alongside it are still synchronous and safe.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            yield chromium
            chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SONDA_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def invitation(world, transactional_db):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    services.survey_look_set(
        scope=world.scope(world.admin), primary_colour="#7a1f3d", sender_name="Banca Demo"
    )
    return invitation_create(organisation=world.org, survey=survey, language="ro")


def open_phone(browser: Any, *, javascript: bool) -> Any:
    context = browser.new_context(
        viewport=PHONE, locale="ro-RO", java_script_enabled=javascript, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    # A page that breaks the content security policy or throws shows it in the console. A page
    # sent back for a fix answers 422, which the console reports too: that one is expected.
    page.on(
        "console",
        lambda m: (
            problems.append(m.text) if m.type == "error" and "status of 422" not in m.text else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems
    return page


def fits_the_phone(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"])


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_romanian_customer_answers_on_a_phone_leaves_and_comes_back(
    browser, live_server, invitation, shots, javascript
):
    mode = "js" if javascript else "nojs"
    url = f"{live_server.url}/s/{invitation.token}/"
    page = open_phone(browser, javascript=javascript)
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "ro"
    ltr = page.get_by_role(
        "group", name="Cât de probabil este să ne recomandați unui prieten? (obligatoriu)"
    )
    reasons = page.get_by_role("group", name="Ce nu a mers bine?")
    if javascript:
        # The reasons wait for a score that calls for them.
        expect(reasons).to_be_hidden()
    else:
        expect(reasons).to_be_visible()
        expect(
            page.get_by_text("Răspundeți dacă mai sus ați ales 6 sau mai puțin.")
        ).to_be_visible()
    # The 0–10 scale wraps onto two rows of buttons on a phone; nothing scrolls sideways.
    tops = {round(box["y"]) for box in (p.bounding_box() for p in ltr.locator("label").all())}
    assert len(tops) == 2
    assert fits_the_phone(page)
    page.screenshot(path=str(shots / f"respond-page1-{mode}.png"), full_page=True)

    # Sending the page without a score: the error is announced and named at the top.
    page.get_by_role("button", name="Înainte").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Vă rugăm să răspundeți la această întrebare.")
    if javascript:
        assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    page.screenshot(path=str(shots / f"respond-error-{mode}.png"), full_page=True)

    ltr.get_by_text("4", exact=True).click()
    expect(reasons).to_be_visible()
    reasons.get_by_text("Timpul de așteptare").click()
    reasons.get_by_text("Comisioane").click()
    page.get_by_role("button", name="Înainte").click()
    expect(page.get_by_text("Pagina 2 din 2")).to_be_visible()
    assert page.problems == []
    # The customer closes the browser.
    page.context.close()

    # Later, the same link from the message: the survey goes on where it stopped.
    page = open_phone(browser, javascript=javascript)
    page.goto(url)
    expect(page.get_by_text("Pagina 2 din 2")).to_be_visible()
    page.get_by_role("link", name="Înapoi").click()
    assert page.get_by_role("radio", name="4").is_checked()
    assert page.get_by_role("checkbox", name="Timpul de așteptare").is_checked()
    assert page.get_by_role("checkbox", name="Comisioane").is_checked()
    assert not page.get_by_role("checkbox", name="Atitudinea personalului").is_checked()
    page.get_by_role("button", name="Înainte").click()

    speed = page.get_by_role("group", name="Cât de repede ați fost servit?")
    speed.get_by_text("2", exact=True).click()
    page.get_by_label("Mai doriți să ne spuneți ceva?").fill("Coada a fost prea lungă.")
    assert fits_the_phone(page)
    page.screenshot(path=str(shots / f"respond-page2-{mode}.png"), full_page=True)
    page.get_by_role("button", name="Trimiteți").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Vă mulțumim!")
    assert page.url.startswith(f"{url}thanks/?lang=ro")
    page.screenshot(path=str(shots / f"respond-thanks-{mode}.png"), full_page=True)
    assert page.problems == []
    page.context.close()

    response = Response.objects.get()
    assert (response.status, response.language) == ("complete", "ro")
    assert sorted(
        Answer.objects.values_list("question_key", "value_number", "value_choice", "value_text")
    ) == [
        ("comment", None, "", "Coada a fost prea lungă."),
        ("ltr", 4.0, "", ""),
        ("reasons", None, "fees", ""),
        ("reasons", None, "waiting", ""),
        ("speed", 2.0, "", ""),
    ]


def test_the_scale_is_answered_with_the_keyboard(browser, live_server, invitation):
    page = open_phone(browser, javascript=True)
    page.goto(f"{live_server.url}/s/{invitation.token}/?lang=en")
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "ltr":
            break
    # Arrow keys move along the scale and choose; the reasons appear for a low score.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("radio", name="2").is_checked()
    expect(page.get_by_role("group", name="What went wrong?")).to_be_visible()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    assert page.get_by_role("radio", name="10").is_checked()
    expect(page.get_by_role("group", name="What went wrong?")).to_be_hidden()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    assert list(Answer.objects.values_list("question_key", "value_number")) == [("ltr", 10.0)]
    assert page.problems == []
    page.context.close()
