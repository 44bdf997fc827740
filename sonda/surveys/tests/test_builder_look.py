"""The survey look page (logo, colours, sender name) and the open links of a survey."""

import base64
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sonda.surveys.models import OpenLink, SurveyLook
from sonda.surveys.tests.factories import make_published_survey

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'


def look_form(**changes):
    return {
        "primary_colour": "#0a7b45",
        "background_colour": "#fafafa",
        "sender_name": "Banca Demo customer care",
        **changes,
    }


@pytest.fixture
def analyst(world, client):
    client.force_login(world.analyst)
    return client


def test_a_logo_upload_is_stored_as_a_data_url_and_shown_on_the_sample(world, analyst):
    logo = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
    response = analyst.post(reverse("surveys:look"), look_form(logo=logo))
    assert response["Location"] == reverse("surveys:look")
    look = SurveyLook.objects.get(organisation=world.org)
    assert look.logo == f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    assert (look.primary_colour, look.background_colour, look.sender_name) == (
        "#0a7b45",
        "#fafafa",
        "Banca Demo customer care",
    )
    html = analyst.get(reverse("surveys:look")).content.decode()
    assert f'<img class="look-logo" src="{look.logo}"' in html
    assert "style=" not in html  # the CSP forbids inline styles
    stylesheet = re.search(r'<link rel="stylesheet" href="(/surveys/look.css\?v=\d+)">', html)
    assert stylesheet is not None


def test_the_look_stylesheet_carries_the_organisations_colours(world, analyst):
    analyst.post(reverse("surveys:look"), look_form())
    response = analyst.get(reverse("surveys:look_css"))
    assert response["Content-Type"] == "text/css; charset=utf-8"
    css = response.content.decode()
    assert ".look-sample { background: #fafafa;" in css
    assert ".look-sample .look-button {" in css
    assert "background: #0a7b45;" in css


def test_the_stylesheet_uses_the_defaults_before_anything_is_set(world, analyst):
    css = analyst.get(reverse("surveys:look_css")).content.decode()
    assert "background: #ffffff;" in css
    assert "color: #1d4f91;" in css
    assert not SurveyLook.objects.exists()


def test_an_svg_logo_is_accepted_and_its_type_comes_from_its_content(world, analyst):
    logo = SimpleUploadedFile("logo.png", SVG, content_type="image/png")
    analyst.post(reverse("surveys:look"), look_form(logo=logo))
    look = SurveyLook.objects.get(organisation=world.org)
    assert look.logo.startswith("data:image/svg+xml;base64,")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (PNG + b"\x00" * (200 * 1024 - len(PNG) + 1), "The image is 201 KB; at most 200 KB."),
        (b"GIF89a" + b"\x00" * 20, "The file is not a PNG, JPEG or SVG image."),
        (b"<html><script>alert(1)</script></html>", "The file is not a PNG, JPEG or SVG image."),
    ],
)
def test_a_logo_that_is_too_large_or_not_an_image_is_refused(world, analyst, content, error):
    logo = SimpleUploadedFile("logo.png", content, content_type="image/png")
    response = analyst.post(reverse("surveys:look"), look_form(logo=logo))
    assert response.status_code == 200
    assert response.context["form"].errors == {"logo": [error]}
    assert not SurveyLook.objects.exists()


def test_a_logo_of_exactly_200_kb_is_accepted(world, analyst):
    content = PNG + b"\x00" * (200 * 1024 - len(PNG))
    logo = SimpleUploadedFile("logo.png", content, content_type="image/png")
    assert analyst.post(reverse("surveys:look"), look_form(logo=logo)).status_code == 302
    assert SurveyLook.objects.get(organisation=world.org).logo.startswith("data:image/png")


def test_a_bad_colour_is_refused_and_nothing_is_saved(world, analyst):
    response = analyst.post(reverse("surveys:look"), look_form(primary_colour="red;}body{x"))
    assert response.context["form"].errors == {"primary_colour": ["Give a colour such as #1d4f91."]}
    assert not SurveyLook.objects.exists()
    html = response.content.decode()
    assert re.search(r'<input type="color" name="background_colour" value="#fafafa"', html)


def test_saving_without_a_file_keeps_the_logo_and_remove_drops_it(world, analyst):
    analyst.post(
        reverse("surveys:look"),
        look_form(logo=SimpleUploadedFile("l.png", PNG, content_type="image/png")),
    )
    analyst.post(reverse("surveys:look"), look_form(sender_name="Care"))
    look = SurveyLook.objects.get(organisation=world.org)
    assert (look.logo != "", look.sender_name) == (True, "Care")
    analyst.post(reverse("surveys:look"), look_form(remove_logo="on"))
    assert SurveyLook.objects.get(organisation=world.org).logo == ""


def test_executives_see_the_look_without_a_form(world, client):
    client.force_login(world.executive)
    response = client.get(reverse("surveys:look"))
    assert response.context["form"] is None
    assert "<code>#1d4f91</code>" in response.content.decode()


# Open links ------------------------------------------------------------------------------------


def link_form(world, **changes):
    return {
        "name": "QR at the North 1 counter",
        "unit": world.north_branch.pk,
        "touchpoint": "cash desk",
        "channel": "qr",
        "language": "ro",
        "max_responses_per_client_per_day": "2",
        **changes,
    }


def test_an_analyst_creates_an_open_link_listed_with_its_full_address(world, analyst):
    survey = make_published_survey(world.scope(world.analyst))
    url = reverse("surveys:open_links", args=[survey.pk])
    response = analyst.post(url, link_form(world))
    assert response["Location"] == url
    link = OpenLink.objects.get(survey=survey)
    assert (
        link.name,
        link.unit,
        link.touchpoint,
        link.channel,
        link.language,
        link.max_responses_per_client_per_day,
        link.is_active,
    ) == ("QR at the North 1 counter", world.north_branch, "cash desk", "qr", "ro", 2, True)
    html = analyst.get(url).content.decode()
    assert f"<code>http://testserver/o/{link.token}/</code>" in html


def test_an_open_link_offers_only_the_surveys_languages_and_the_organisations_units(world, analyst):
    survey = make_published_survey(world.scope(world.analyst))
    url = reverse("surveys:open_links", args=[survey.pk])
    form = analyst.get(url).context["form"]
    assert [value for value, _label in form.fields["language"].choices] == ["", "en", "ro", "pl"]
    units = [value for value, _label in form.fields["unit"].choices if value]
    assert units == [
        world.hq.pk,
        world.north.pk,
        world.north_branch.pk,
        world.south.pk,
        world.south_branch.pk,
    ]
    response = analyst.post(
        url, link_form(world, language="de", max_responses_per_client_per_day="0")
    )
    assert list(response.context["form"].errors) == ["language", "max_responses_per_client_per_day"]
    assert not OpenLink.objects.exists()


def test_an_open_link_is_switched_off_and_on(world, analyst):
    survey = make_published_survey(world.scope(world.analyst))
    analyst.post(reverse("surveys:open_links", args=[survey.pk]), link_form(world))
    link = OpenLink.objects.get(survey=survey)
    switch = reverse("surveys:open_link_active", args=[survey.pk, link.pk])
    response = analyst.post(switch, {"active": "0"}, follow=True)
    assert "it takes no new responses" in response.content.decode()
    assert OpenLink.objects.get(pk=link.pk).is_active is False
    analyst.post(switch, {"active": "1"})
    assert OpenLink.objects.get(pk=link.pk).is_active is True


def test_an_open_link_of_another_survey_is_not_found_through_this_one(world, analyst):
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    other = make_published_survey(scope, program=survey.program, name="After a call")
    analyst.post(reverse("surveys:open_links", args=[other.pk]), link_form(world))
    link = OpenLink.objects.get(survey=other)
    response = analyst.post(
        reverse("surveys:open_link_active", args=[survey.pk, link.pk]), {"active": "0"}
    )
    assert response.status_code == 404
    assert OpenLink.objects.get(pk=link.pk).is_active is True
