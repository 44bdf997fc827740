"""The shell every page shares: layout, navigation per role, organisation switcher, home pages."""

import hashlib
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from sonda.accounts.middleware import SESSION_ORGANISATION_KEY
from sonda.accounts.models import Role
from sonda.accounts.services import audit_record
from sonda.accounts.tests.factories import MembershipFactory, UserFactory
from sonda.customers.tests.factories import CustomerFactory
from sonda.org.tests.factories import PersonFactory

VENDOR = Path(__file__).resolve().parents[1] / "static" / "vendor"


def nav_labels(html: str) -> list[str]:
    nav = html.split('<ul class="nav-list">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


def coming_soon_labels(html: str) -> list[str]:
    soon = html.split('class="nav-list nav-soon"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<span aria-disabled="true">([^<]+)</span>', soon)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "admin",
            [
                "Home",
                "Dashboards",
                "Units",
                "People",
                "Customers",
                "Surveys",
                "Responses",
                "Cases",
                "Listening",
                "Imports",
                "Members",
                "Notifications",
                "API tokens",
                "Audit log",
                "Erase customer data",
            ],
        ),
        (
            "analyst",
            [
                "Home",
                "Dashboards",
                "Units",
                "People",
                "Customers",
                "Surveys",
                "Responses",
                "Cases",
                "Listening",
                "Imports",
                "Notifications",
                "API tokens",
            ],
        ),
        (
            "executive",
            [
                "Home",
                "Dashboards",
                "Units",
                "People",
                "Customers",
                "Surveys",
                "Responses",
                "Cases",
                "Listening",
                "Notifications",
                "API tokens",
            ],
        ),
        (
            "manager_north",
            [
                "Home",
                "Dashboards",
                "Units",
                "People",
                "Responses",
                "Cases",
                "Response rates",
                "Notifications",
                "API tokens",
            ],
        ),
        (
            "frontline",
            ["Home", "My results", "Responses", "Coaching", "Notifications", "API tokens"],
        ),
    ],
)
def test_the_navigation_shows_only_what_the_role_may_use(world, signed_in, role, expected):
    html = signed_in(world.users_by_role[role]).get(reverse("home")).content.decode()
    assert nav_labels(html) == expected
    assert coming_soon_labels(html) == [
        "Pain map",
        "Initiatives",
        "Journeys",
        "Ideas",
    ]


def test_the_current_area_is_marked_for_assistive_technology(world, signed_in):
    html = signed_in(world.admin).get(reverse("org:person_list")).content.decode()
    assert f'<a href="{reverse("org:person_list")}" aria-current="page">People</a>' in html
    assert html.count('aria-current="page"') == 1


def test_every_page_has_a_skip_link_landmarks_and_no_inline_script_or_style(world, signed_in):
    response = signed_in(world.admin).get(reverse("home"))
    html = response.content.decode()
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in html
    assert '<main id="main" tabindex="-1">' in html
    assert '<nav id="site-nav" class="site-nav" aria-label="Main">' in html
    assert '<header class="site-header">' in html
    assert "<footer" in html
    # The CSP allows only our own files: no inline code, no style attributes, no CDN.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert " style=" not in html
    assert "<style" not in html
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_htmx_is_on_every_page_and_echarts_on_the_home_page(world, signed_in):
    client = signed_in(world.admin)
    home = client.get(reverse("home")).content.decode()
    units = client.get(reverse("org:unit_tree")).content.decode()
    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in home
    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in units
    assert '<script src="/static/vendor/echarts/echarts.min.js" defer></script>' in home
    assert "echarts" not in units


def test_vendored_files_are_served_and_listed_with_version_licence_and_checksum():
    listing = (VENDOR / "VENDORED.md").read_text()
    for path, version, licence in [
        ("htmx/htmx.min.js", "2.0.11", "0BSD"),
        ("echarts/echarts.min.js", "5.6.0", "Apache-2.0"),
    ]:
        found = finders.find(f"vendor/{path}")
        assert found is not None
        digest = hashlib.sha256(Path(found).read_bytes()).hexdigest()
        row = next(line for line in listing.splitlines() if line.startswith(f"| `{path}`"))
        assert version in row
        assert licence in row
        assert digest in row
    for licence_file in ["htmx/LICENSE", "echarts/LICENSE", "echarts/NOTICE", "echarts/LICENSE-d3"]:
        assert (VENDOR / licence_file).is_file()
        assert f"`{licence_file}`" in listing


def chart_data(html: str, element_id: str) -> dict[str, object]:
    block = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert block is not None
    return json.loads(block.group(1))


def test_an_admin_home_shows_the_organisation_counts_charts_and_recent_audit_events(
    world, signed_in
):
    PersonFactory(organisation=world.org, unit=world.south_branch, full_name="Sam South")
    CustomerFactory(organisation=world.org)
    CustomerFactory(organisation=world.other_org)
    audit_record(action="api_token.created", organisation=world.org, actor=world.admin)
    audit_record(action="api_token.created", organisation=world.other_org, actor=world.outsider)
    html = signed_in(world.admin).get(reverse("home")).content.decode()
    assert "<h1>Overview of Banca Demo</h1>" in html
    counts = re.findall(
        r'<span class="stat-value">(\d+)</span> <span class="stat-label">(\w+)', html
    )
    assert counts == [("5", "units"), ("2", "people"), ("1", "customers")]
    assert chart_data(html, "people-chart-data") == {
        "labels": ["North", "South"],
        "values": [1, 1],
        "series": "People",
    }
    assert chart_data(html, "levels-chart-data") == {
        "labels": ["Company", "Region", "Branch"],
        "values": [1, 2, 2],
        "series": "Units",
    }
    assert 'data-chart="people-chart-data"' in html
    assert html.count("<code>api_token.created</code>") == 1


def test_an_analyst_home_has_the_overview_without_the_audit_log(world, signed_in):
    html = signed_in(world.analyst).get(reverse("home")).content.decode()
    assert "<h1>Overview of Banca Demo</h1>" in html
    assert "Recent audit events" not in html


def test_a_manager_home_covers_their_subtree_only(world, signed_in):
    PersonFactory(organisation=world.org, unit=world.south_branch)
    PersonFactory(organisation=world.org, unit=world.north, full_name="Nora North")
    html = signed_in(world.manager_north).get(reverse("home")).content.decode()
    assert "<h1>Overview of North</h1>" in html
    counts = re.findall(
        r'<span class="stat-value">(\d+)</span> <span class="stat-label">(\w+)', html
    )
    assert counts == [("2", "units"), ("2", "people")]
    assert chart_data(html, "people-chart-data")["labels"] == ["North 1"]
    assert chart_data(html, "people-chart-data")["values"] == [1]
    assert "customers" not in re.findall(r'stat-label">(\w+)', html)


def test_a_frontline_home_shows_their_own_record(world, signed_in):
    supervisor = PersonFactory(organisation=world.org, unit=world.north, full_name="Maria Sef")
    world.frontline_person.supervisor = supervisor
    world.frontline_person.save()
    html = signed_in(world.frontline).get(reverse("home")).content.decode()
    assert "Your employee record" in html
    assert "<dd>Ana Frontline</dd>" in html
    assert "<dd>North 1</dd>" in html
    assert "<dd>Maria Sef</dd>" in html
    assert "echarts" not in html


def test_a_frontline_user_without_an_employee_record_is_told_so(world, signed_in):
    world.frontline_person.delete()
    html = signed_in(world.frontline).get(reverse("home")).content.decode()
    assert "No employee record is linked to your account yet." in html


@pytest.fixture
def consultant(world):
    """A user who is analyst in the bank and admin in the other organisation."""
    MembershipFactory(organisation=world.other_org, user=world.analyst, role=Role.ADMIN)
    return world.analyst


def test_the_switcher_lists_only_the_users_organisations(world, consultant, signed_in):
    html = signed_in(consultant).get(reverse("home")).content.decode()
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]+)</option>', html)
    assert options == [
        (str(world.org.pk), " selected", "Banca Demo"),
        (str(world.other_org.pk), "", "Other Bank"),
    ]
    assert "org-switch" not in signed_in(world.admin).get(reverse("home")).content.decode()


def test_switching_organisation_changes_the_scope_of_every_page(world, consultant, signed_in):
    client = signed_in(consultant)
    response = client.post(
        reverse("accounts:switch_organisation"), {"organisation": world.other_org.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session[SESSION_ORGANISATION_KEY] == world.other_org.pk
    html = client.get(reverse("home")).content.decode()
    assert "<h1>Overview of Other Bank</h1>" in html
    assert "Audit log" in nav_labels(html)  # admin there
    assert client.get(
        reverse("org:unit_detail", kwargs={"unit_id": world.north.pk})
    ).status_code == (404)


def test_switching_to_an_organisation_the_user_is_not_in_is_not_found(world, signed_in):
    client = signed_in(world.admin)
    response = client.post(
        reverse("accounts:switch_organisation"), {"organisation": world.other_org.pk}
    )
    assert response.status_code == 404
    assert SESSION_ORGANISATION_KEY not in client.session
    assert client.post(
        reverse("accounts:switch_organisation"), {"organisation": "x"}
    ).status_code == (404)
    assert SESSION_ORGANISATION_KEY not in client.session


def test_switching_needs_a_post_and_a_signed_in_user(world, client, signed_in):
    url = reverse("accounts:switch_organisation")
    assert client.post(url, {"organisation": world.org.pk}).status_code == 302
    assert SESSION_ORGANISATION_KEY not in client.session
    assert signed_in(world.admin).get(url).status_code == 405


def test_unknown_pages_answer_with_the_not_found_page(world, signed_in):
    response = signed_in(world.admin).get("/no/such/page/")
    assert response.status_code == 404
    assert "There is nothing here, or nothing you may see." in response.content.decode()


def test_without_a_choice_a_user_lands_in_their_oldest_organisation(world, signed_in):
    """A consultant of Other Bank later added to Banca Demo still starts at Other Bank."""
    consultant = UserFactory(email="consultant@other.example")
    MembershipFactory(organisation=world.other_org, user=consultant, role=Role.ANALYST)
    MembershipFactory(organisation=world.org, user=consultant, role=Role.ANALYST)
    html = signed_in(consultant).get(reverse("home")).content.decode()
    assert "<h1>Overview of Other Bank</h1>" in html
