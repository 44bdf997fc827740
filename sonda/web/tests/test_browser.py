"""The pages in a real browser: Debian's chromium driven by Playwright against a live server."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import PASSWORD
from sonda.customers.models import Consent
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory
from sonda.org.tests.factories import PersonFactory, UnitFactory

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)",  # noqa: E501
    ),
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
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
def page(browser, live_server, transactional_db):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    # A page that breaks the content security policy or throws shows it in the console.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems
    yield page
    context.close()


def sign_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def test_signing_in_opens_the_home_page_with_its_charts(world, page, live_server):
    sign_in(page, live_server, "admin@banca.example")
    assert page.locator("h1").inner_text() == "Overview of Banca Demo"
    # ECharts drew the chart from the JSON data block, under the CSP, as SVG.
    page.wait_for_selector("[data-chart='people-chart-data'] svg")
    assert page.locator("[data-chart='levels-chart-data'] svg").count() == 1
    assert page.problems == []


def test_the_unit_tree_opens_with_the_keyboard(world, page, live_server):
    sign_in(page, live_server, "analyst@banca.example")
    page.goto(f"{live_server.url}/org/units/")
    north_branch = page.get_by_role("link", name="North 1", exact=True)
    assert not north_branch.is_visible()
    # Tab through the page until the "North" branch has the focus, then open it with Enter.
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        if focused.startswith("North"):
            break
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Enter")
    assert north_branch.is_visible()
    assert page.locator("details:has(> summary:has-text('North'))").get_attribute("open") == ""
    # Space closes it again.
    page.keyboard.press(" ")
    assert not north_branch.is_visible()
    assert page.problems == []


def test_a_customer_is_found_by_a_phone_number_typed_in_another_format(world, page, live_server):
    customer = CustomerFactory(organisation=world.org, full_name="Ioana Popescu")
    CustomerIdentityFactory(customer=customer, kind="phone", value="+40721234567")
    CustomerFactory.create_batch(3, organisation=world.org)
    sign_in(page, live_server, "analyst@banca.example")
    page.goto(f"{live_server.url}/customers/")
    assert page.locator("#results tbody tr").count() == 4
    # htmx searches while typing; no submit needed.
    page.fill("#customer-q", "0721 234 567")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    assert (
        page.locator("#results tbody tr").inner_text().startswith(f"{customer.pk}\tIoana Popescu")
    )
    assert page.url.endswith("/customers/?q=0721%20234%20567")
    page.get_by_role("link", name="Ioana Popescu").click()
    assert page.locator("h1").inner_text() == f"Ioana Popescu #{customer.pk}"
    assert page.problems == []


def test_a_user_switches_the_language_of_their_pages(world, page, live_server):
    sign_in(page, live_server, "north@banca.example")
    page.locator(".profile-link").click()
    page.select_option("#id_language", "pl")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Profil został zapisany.")
    nav = page.get_by_role("navigation", name="Główna")
    assert nav.get_by_role("link").all_inner_texts() == [
        "Strona główna",
        "Pulpity",
        "Jednostki",
        "Pracownicy",
        "Odpowiedzi",
        "Sprawy",
        "Wskaźniki odpowiedzi",
        "Powiadomienia",
        "Tokeny API",
    ]
    page.select_option("#id_language", "ro")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Profilul dumneavoastră a fost salvat.")
    assert page.get_by_role("link", name="Acasă").is_visible()


@pytest.fixture
def bank(world):
    """A little more of the bank, so that the pages look as they will in use."""
    region_type = world.north.unit_type
    branch_type = world.north_branch.unit_type
    for name, code in [("Cluj", "CJ"), ("Iași", "IS"), ("Kraków", "KR")]:
        region = UnitFactory(
            organisation=world.org, parent=world.hq, unit_type=region_type, name=name, code=code
        )
        for number in range(1, 4):
            branch = UnitFactory(
                organisation=world.org,
                parent=region,
                unit_type=branch_type,
                name=f"{name} {number}",
                code=f"{code}{number}",
            )
            PersonFactory.create_batch(3, organisation=world.org, unit=branch)
    customer = CustomerFactory(
        organisation=world.org,
        full_name="Ioana Popescu",
        attributes={"tier": "gold", "region": "Cluj", "products": ["current account", "card"]},
    )
    CustomerIdentityFactory(customer=customer, kind="email", value="ioana.popescu@mail.example")
    CustomerIdentityFactory(customer=customer, kind="phone", value="+40721234567")
    CustomerIdentityFactory(customer=customer, kind="external", source="crm", value="C-100234")
    Consent.objects.create(
        organisation=world.org, customer=customer, channel="email", granted=True, source="crm"
    )
    Consent.objects.create(
        organisation=world.org, customer=customer, channel="sms", granted=False, source="call"
    )
    return customer


@pytest.mark.parametrize(("width", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_pages_fit_phone_and_desktop_screens(
    bank, world, browser, live_server, transactional_db, tmp_path, width, viewport
):
    shots = Path(os.environ.get("SONDA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, live_server, "admin@banca.example")
    for name, path in [
        ("home", "/"),
        ("units", "/org/units/"),
        ("customer", f"/customers/{bank.pk}/"),
    ]:
        page.goto(f"{live_server.url}{path}")
        if name == "home":
            page.wait_for_selector("[data-chart='people-chart-data'] svg")
        # Nothing sticks out sideways: the page never scrolls horizontally.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    menu = page.get_by_role("button", name="Menu")
    nav = page.locator("#site-nav")
    if width == "phone":
        # On a phone the navigation folds behind the menu button.
        assert not nav.is_visible()
        menu.click()
        assert nav.is_visible()
        assert menu.get_attribute("aria-expanded") == "true"
    else:
        assert not menu.is_visible()
        assert nav.is_visible()
    context.close()
