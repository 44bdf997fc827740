"""Open links (QR codes, receipts, kiosks): anonymous answers with the link's fixed context, a daily
allowance per client, and the same answers from the same client stored once."""

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sonda.surveys import services
from sonda.surveys.models import Answer, Response
from sonda.surveys.tests.factories import QUESTIONS, make_published_survey
from sonda.surveys.tests.respondent import Respondent, headings, questions

KIOSK = {"HTTP_USER_AGENT": "Kiosk/1.0 (branch N1)", "REMOTE_ADDR": "10.1.2.3"}
PHONE = {"HTTP_USER_AGENT": "Mozilla/5.0 (Android 14; Mobile)", "REMOTE_ADDR": "10.1.2.3"}


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def one_page_survey(world):
    return make_published_survey(
        world.scope(world.analyst), name="At the counter", questions=QUESTIONS[:2]
    )


def make_link(world, survey, **options: Any):
    fields = {
        "name": "Counter QR",
        "unit_id": world.north_branch.pk,
        "touchpoint": "cash desk",
        "channel": "qr",
        **options,
    }
    return services.open_link_create(
        scope=world.scope(world.analyst), survey_id=survey.pk, **fields
    )


def link_url(link) -> str:
    return reverse("respond:open", kwargs={"token": link.token})


def stored() -> list[tuple[Any, ...]]:
    return sorted(
        Answer.objects.values_list("response_id", "question_key", "value_number", "value_choice")
    )


def test_a_visitor_answers_anonymously_with_the_links_context(world, survey):
    link = make_link(world, survey, language="pl")
    visitor = Respondent(**KIOSK)
    page = visitor.open(link_url(link))
    assert page.status_code == 200
    assert questions(page)[0] == (
        "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu? (wymagane)"
    )
    # Looking at the page stores nothing, not even a session.
    assert not Response.objects.exists()
    assert "sessionid" not in page.cookies

    saved = visitor.answer({"ltr": "3", "reasons": ["waiting"]})
    assert (saved.status_code, saved["Location"]) == (303, f"{link_url(link)}?lang=pl")
    page = visitor.follow(saved)
    assert questions(page) == [
        "Jak szybko zostałeś obsłużony?",
        "Czy chcesz nam powiedzieć coś jeszcze?",
    ]
    done = visitor.answer({"speed": "2"})
    thanks_url = reverse("respond:open_thanks", kwargs={"token": link.token})
    assert (done.status_code, done["Location"]) == (303, f"{thanks_url}?lang=pl")
    assert headings(visitor.follow(done)) == ["Dziękujemy!"]

    response = Response.objects.get()
    assert (
        response.status,
        response.open_link_id,
        response.invitation_id,
        response.customer_id,
        response.unit_id,
        response.touchpoint,
        response.channel,
        response.language,
    ) == ("complete", link.pk, None, None, world.north_branch.pk, "cash desk", "qr", "pl")
    assert set(Answer.objects.values_list("unit_path", "touchpoint", "channel")) == {
        (world.north_branch.path, "cash desk", "qr")
    }


def test_the_client_is_kept_as_a_salted_hash_only(world, one_page_survey):
    link = make_link(world, one_page_survey)
    for headers in (KIOSK, PHONE):
        visitor = Respondent(**headers)
        visitor.open(link_url(link))
        visitor.answer({"ltr": "8"})
    keys = list(Response.objects.order_by("pk").values_list("client_key", flat=True))
    assert [len(key) for key in keys] == [64, 64]
    assert keys[0] != keys[1]
    unsalted = hashlib.sha256(f"{KIOSK['REMOTE_ADDR']}\n{KIOSK['HTTP_USER_AGENT']}".encode())
    assert keys[0] != unsalted.hexdigest()
    assert "10.1.2.3" not in keys[0]


@pytest.mark.parametrize(
    ("link_language", "accept", "asked", "shown"),
    [
        ("", "pl-PL,pl;q=0.9,en;q=0.5", None, "pl"),  # the browser's language
        ("", "de-DE,en;q=0.8", None, "en"),  # its first one the survey has
        ("", "", None, "ro"),  # else the survey's default
        ("en", "pl", None, "en"),  # a link's language comes before the browser's
        ("en", "pl", "ro", "ro"),  # and the visitor's choice before all
    ],
)
def test_an_open_link_speaks_the_visitors_language(
    world, survey, link_language, accept, asked, shown
):
    link = make_link(world, survey, language=link_language)
    visitor = Respondent(HTTP_ACCEPT_LANGUAGE=accept)
    page = visitor.open(link_url(link), **({"lang": asked} if asked else {}))
    assert f'<html lang="{shown}">' in page.content.decode()


def test_reloading_or_resending_a_page_continues_the_same_response(world, survey):
    link = make_link(world, survey)
    visitor = Respondent(**KIOSK)
    form = visitor.open(link_url(link))
    for _ in range(2):
        visitor.page = form
        assert visitor.answer({"ltr": "9"}).status_code == 303
    page = visitor.open(link_url(link))
    assert questions(page)[0] == "Cât de repede ați fost servit?"
    assert Response.objects.count() == 1
    assert [row[1:] for row in stored()] == [("ltr", 9.0, "")]


def test_after_finishing_the_next_visitor_of_a_kiosk_starts_afresh(world, one_page_survey):
    link = make_link(world, one_page_survey)
    kiosk = Respondent(**KIOSK)
    kiosk.open(link_url(link))
    kiosk.answer({"ltr": "10"})
    page = kiosk.open(link_url(link))
    assert page.status_code == 200
    kiosk.answer({"ltr": "4", "reasons": ["staff"]})
    assert list(Response.objects.order_by("pk").values_list("status", flat=True)) == [
        "complete",
        "complete",
    ]


def test_a_client_may_start_only_the_links_daily_allowance(world, one_page_survey):
    link = make_link(world, one_page_survey, max_responses_per_client_per_day=2)
    kiosk, late_tab = Respondent(**KIOSK), Respondent(**KIOSK)
    late_tab.open(link_url(link))  # opened before the allowance ran out
    for score in ("10", "6"):
        kiosk.open(link_url(link))
        assert kiosk.answer({"ltr": score}).status_code == 303
    page = kiosk.open(link_url(link))
    assert page.status_code == 429
    assert headings(page) == ["Vă mulțumim, este suficient pentru astăzi"]
    answer = late_tab.answer({"ltr": "7"})
    assert (answer.status_code, headings(answer)) == (
        429,
        ["Vă mulțumim, este suficient pentru astăzi"],
    )
    assert Response.objects.count() == 2

    # Another device is not affected.
    phone = Respondent(**PHONE)
    phone.open(link_url(link))
    assert phone.answer({"ltr": "7"}).status_code == 303
    assert Response.objects.count() == 3

    # A day later the kiosk may answer again.
    Response.objects.update(started_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert kiosk.open(link_url(link)).status_code == 200


def test_the_same_answers_from_the_same_client_are_stored_once(world, one_page_survey):
    link = make_link(world, one_page_survey)
    for _ in range(2):
        visitor = Respondent(**KIOSK)  # a new session each time: the cookie was cleared
        visitor.open(link_url(link))
        done = visitor.answer({"ltr": "5", "reasons": ["fees", "staff"]})
        assert done.status_code == 303
        assert headings(visitor.follow(done)) == ["Vă mulțumim!"]
    response = Response.objects.get()
    assert response.status == "complete"
    assert stored() == [
        (response.pk, "ltr", 5.0, ""),
        (response.pk, "reasons", None, "fees"),
        (response.pk, "reasons", None, "staff"),
    ]


def test_different_answers_or_another_client_or_ten_minutes_later_are_stored(
    world, one_page_survey
):
    link = make_link(world, one_page_survey, max_responses_per_client_per_day=10)

    def send(headers, answers):
        visitor = Respondent(**headers)
        visitor.open(link_url(link))
        assert visitor.answer(answers).status_code == 303

    send(KIOSK, {"ltr": "9"})
    send(KIOSK, {"ltr": "8"})  # different answers
    send(PHONE, {"ltr": "9"})  # another client
    Response.objects.update(completed_at=timezone.now() - timedelta(minutes=11))
    send(KIOSK, {"ltr": "9"})  # the same again, but later
    assert Response.objects.filter(status="complete").count() == 4


def test_an_inactive_link_says_so(world, survey):
    link = make_link(world, survey, language="en")
    type(link).objects.filter(pk=link.pk).update(is_active=False)
    for method in ("get", "post"):
        page = getattr(Client(), method)(link_url(link))
        assert page.status_code == 410
        assert headings(page) == ["This survey link is no longer active"]
    assert not Response.objects.exists()


def test_an_open_link_to_a_survey_not_yet_published_is_closed(world):
    scope = world.scope(world.analyst)
    program = services.program_create(scope=scope, name="Kiosks", kind="transactional")
    draft = services.survey_create(
        scope=scope, program_id=program.pk, name="Draft", languages=["en"], default_language="en"
    )
    link = make_link(world, draft)
    page = Client().get(link_url(link))
    assert (page.status_code, headings(page)) == (410, ["This survey is closed"])
    answer = Client().post(link_url(link), {"page": "1", "ltr": "9"})
    assert (answer.status_code, headings(answer)) == (410, ["This survey is closed"])
    assert not Response.objects.exists()


def test_an_unknown_open_link_finds_nothing(world, survey):
    link = make_link(world, survey)
    page = Client().get(f"/o/{link.token[:-2]}/")
    assert (page.status_code, headings(page)) == (404, ["This link does not work"])


def test_answers_sent_as_json_to_an_open_link_write_nothing(world, survey):
    link = make_link(world, survey, language="en")
    answer = Client().post(link_url(link), {"page": 1, "ltr": 9}, content_type="application/json")
    assert (answer.status_code, headings(answer)) == (415, ["Your answers could not be read"])
    assert not Response.objects.exists()


def test_a_bad_answer_on_an_open_link_writes_no_answer(world, survey):
    link = make_link(world, survey, language="en")
    visitor = Respondent(**KIOSK)
    visitor.open(link_url(link))
    page = visitor.answer({"ltr": "11"})
    assert page.status_code == 422
    assert not Answer.objects.exists()
