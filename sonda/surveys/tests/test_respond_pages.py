"""A customer answers a survey from the link in their invitation: page by page, in their language,
resuming where they stopped, and every kind of bad input refused with a clear message."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sonda.customers.tests.factories import CustomerFactory
from sonda.listening.models import Invitation
from sonda.listening.services import invitation_create
from sonda.surveys import services
from sonda.surveys.models import Answer, Response
from sonda.surveys.specs import spec_from_json
from sonda.surveys.tests.factories import QUESTIONS, make_published_survey
from sonda.surveys.tests.respondent import (
    Respondent,
    checked,
    error_summary,
    headings,
    questions,
    text,
)

LTR_RO = "Cât de probabil este să ne recomandați unui prieten? (obligatoriu)"
REASONS_RO = "Ce nu a mers bine?"
PAGE_2_RO = ["Cât de repede ați fost servit?", "Mai doriți să ne spuneți ceva?"]
LTR_EN = "How likely are you to recommend us to a friend? (required)"


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


def invite(world, survey, **context):
    return invitation_create(organisation=world.org, survey=survey, **context)


def survey_url(invitation: Invitation) -> str:
    return reverse("respond:survey", kwargs={"token": invitation.token})


def answers_of(invitation: Invitation) -> list[tuple[Any, ...]]:
    return sorted(
        Answer.objects.filter(response__invitation=invitation).values_list(
            "question_key", "value_number", "value_choice", "value_text", "language"
        )
    )


# The whole flow ----------------------------------------------------------------------------------


def test_a_customer_answers_page_by_page_and_sees_the_thank_you_page(world, survey):
    invitation = invite(
        world, survey, language="ro", unit_id=world.north_branch.pk, channel="email"
    )
    browser = Respondent()
    page = browser.open(survey_url(invitation))
    assert page.status_code == 200
    assert page["Content-Language"] == "ro"
    assert '<html lang="ro">' in page.content.decode()
    assert questions(page) == [LTR_RO, REASONS_RO]
    assert "Pagina 1 din 2" in page.content.decode()
    invitation.refresh_from_db()
    assert (invitation.status, invitation.opened_at is not None) == ("opened", True)
    assert list(Response.objects.values_list("status", "language", "current_page")) == [
        ("partial", "ro", 1)
    ]

    saved = browser.answer({"ltr": "4", "reasons": ["waiting", "fees"]})
    assert (saved.status_code, saved["Location"]) == (303, f"{survey_url(invitation)}?lang=ro")
    invitation.refresh_from_db()
    assert invitation.status == "started"
    page = browser.follow(saved)
    assert questions(page) == PAGE_2_RO
    assert "Pagina 2 din 2" in page.content.decode()

    done = browser.answer({"speed": "2", "comment": "Am așteptat prea mult."})
    thanks_url = reverse("respond:thanks", kwargs={"token": invitation.token})
    assert (done.status_code, done["Location"]) == (303, f"{thanks_url}?lang=ro")
    thanks = browser.follow(done)
    assert thanks.status_code == 200
    assert headings(thanks) == ["Vă mulțumim!"]

    invitation.refresh_from_db()
    response = Response.objects.get()
    assert (invitation.status, response.status) == ("completed", "complete")
    assert invitation.completed_at == response.completed_at
    assert answers_of(invitation) == [
        ("comment", None, "", "Am așteptat prea mult.", "ro"),
        ("ltr", 4.0, "", "", "ro"),
        ("reasons", None, "fees", "", "ro"),
        ("reasons", None, "waiting", "", "ro"),
        ("speed", 2.0, "", "", "ro"),
    ]
    # The invitation's context is on the response and on every answer row.
    assert set(Answer.objects.values_list("unit_id", "channel", "is_complete")) == {
        (world.north_branch.pk, "email", True)
    }


def test_the_thank_you_page_waits_for_the_survey_to_be_completed(world, survey):
    invitation = invite(world, survey, language="en")
    thanks = Client().get(reverse("respond:thanks", kwargs={"token": invitation.token}))
    assert (thanks.status_code, thanks["Location"]) == (303, f"{survey_url(invitation)}?lang=en")


# Languages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invitation_language", "customer_language", "asked", "shown"),
    [
        ("ro", "pl", "en", "en"),  # the respondent's choice first
        ("ro", "pl", "de", "ro"),  # a language the survey lacks is ignored
        ("pl", "ro", None, "pl"),  # then the invitation's language
        ("", "pl", None, "pl"),  # then the customer's
        ("", "de", None, "ro"),  # else the survey's default
        ("", "", None, "ro"),
    ],
)
def test_the_page_speaks_the_respondents_language(
    world, survey, invitation_language, customer_language, asked, shown
):
    customer = CustomerFactory(organisation=world.org, preferred_language=customer_language)
    invitation = invite(world, survey, language=invitation_language, customer_id=customer.pk)
    params = {"lang": asked} if asked else {}
    page = Respondent().open(survey_url(invitation), **params)
    assert page.status_code == 200
    assert f'<html lang="{shown}">' in page.content.decode()
    expected = {
        "en": "How likely are you to recommend us to a friend?",
        "ro": "Cât de probabil este să ne recomandați unui prieten?",
        "pl": "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu?",
    }[shown]
    assert questions(page)[0].startswith(expected)
    assert Response.objects.get().language == shown


def test_the_language_switch_lists_the_surveys_languages(world, survey):
    invitation = invite(world, survey, language="pl")
    page = Respondent().open(survey_url(invitation)).content.decode()
    switch = page.split('<nav class="language-switch" aria-label="Język">', 1)[1].split("</nav>")[0]
    url = survey_url(invitation)
    assert [text(item) for item in switch.split("<li>")[1:]] == ["English", "Română", "polski"]
    assert f'<a href="{url}?lang=pl" lang="pl" hreflang="pl" aria-current="true">' in switch
    assert f'<a href="{url}?lang=en" lang="en" hreflang="en">' in switch


def test_switching_language_half_way_records_the_language_answered_in(world, survey):
    invitation = invite(world, survey, language="ro")
    browser = Respondent()
    browser.open(survey_url(invitation))
    browser.answer({"ltr": "9"})
    page = browser.open(survey_url(invitation), lang="pl")
    assert questions(page) == [
        "Jak szybko zostałeś obsłużony?",
        "Czy chcesz nam powiedzieć coś jeszcze?",
    ]
    browser.answer({"speed": "5"})
    assert Response.objects.get().language == "pl"
    assert answers_of(invitation) == [("ltr", 9.0, "", "", "pl"), ("speed", 5.0, "", "", "pl")]


# Resuming ----------------------------------------------------------------------------------------


def test_the_same_link_later_continues_where_the_customer_stopped(world, survey):
    invitation = invite(world, survey, language="ro")
    first_visit = Respondent()
    first_visit.open(survey_url(invitation))
    first_visit.answer({"ltr": "3", "reasons": ["staff"]})

    # Another day, the browser closed: no cookie, only the link.
    later = Respondent()
    page = later.open(survey_url(invitation))
    assert questions(page) == PAGE_2_RO
    back = f"{survey_url(invitation)}?lang=ro&amp;page=1"
    assert f'<a class="survey-back" href="{back}">Înapoi</a>' in page.content.decode()
    page = later.open(survey_url(invitation), lang="ro", page="1")
    assert questions(page) == [LTR_RO, REASONS_RO]
    assert checked(page) == {"ltr": ["3"], "reasons": ["staff"]}
    assert Response.objects.count() == 1

    # Changing the score on page 1 drops the reasons that no longer apply.
    later.answer({"ltr": "9", "reasons": ["staff"]})
    assert answers_of(invitation) == [("ltr", 9.0, "", "", "ro")]


def test_a_started_response_keeps_the_version_it_began_with(world, survey):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    browser.open(survey_url(invitation))
    browser.answer({"ltr": "9"})
    edited = [dict(q) for q in QUESTIONS]
    edited[2] = {**edited[2], "text": {**edited[2]["text"], "en": "How quick was the service?"}}
    scope = world.scope(world.analyst)
    services.survey_draft_save(
        scope=scope,
        survey_id=survey.pk,
        questions=[spec_from_json(q, index=i) for i, q in enumerate(edited)],
    )
    services.survey_publish(scope=scope, survey_id=survey.pk)

    page = browser.open(survey_url(invitation))
    assert questions(page)[0] == "How fast were you served?"
    browser.answer({"speed": "5"})
    assert Response.objects.get().version.number == 1
    # A customer invited now answers the new version.
    newcomer = invite(world, survey, language="en")
    fresh = Respondent()
    fresh.open(survey_url(newcomer))
    fresh.follow(fresh.answer({"ltr": "8"}))
    assert questions(fresh.page)[0] == "How quick was the service?"
    assert Response.objects.get(invitation=newcomer).version.number == 2


def test_a_page_the_customer_has_not_reached_cannot_be_opened_ahead(world, survey):
    invitation = invite(world, survey, language="en")
    page = Respondent().open(survey_url(invitation), page="2")
    assert questions(page) == [LTR_EN, "What went wrong?"]


def test_a_question_about_an_earlier_page_is_asked_only_when_it_applies(world):
    follow_up = {
        "key": "callback",
        "kind": "yes_no",
        "page": 2,
        "condition": {"question": "ltr", "op": "lte", "value": 6},
        "text": {"en": "May we call you?", "ro": "Vă putem suna?", "pl": "Czy możemy zadzwonić?"},
    }
    survey = make_published_survey(
        world.scope(world.analyst), questions=[*QUESTIONS[:3], follow_up]
    )
    happy, unhappy = (invite(world, survey, language="en") for _ in range(2))
    for invitation, score in ((happy, "10"), (unhappy, "2")):
        browser = Respondent()
        browser.open(survey_url(invitation))
        browser.answer({"ltr": score})
        asked = questions(browser.open(survey_url(invitation)))
        expected = ["How fast were you served?"]
        assert asked == (expected if invitation == happy else [*expected, "May we call you?"])
        done = browser.answer({"speed": "4", "callback": "yes"})
        assert done.status_code == 303
    assert answers_of(happy) == [("ltr", 10.0, "", "", "en"), ("speed", 4.0, "", "", "en")]
    assert answers_of(unhappy) == [
        ("callback", 1.0, "", "", "en"),
        ("ltr", 2.0, "", "", "en"),
        ("speed", 4.0, "", "", "en"),
    ]


# Display logic on the same page, without JavaScript ----------------------------------------------


def test_reasons_carry_a_note_and_are_ignored_when_the_score_does_not_call_for_them(world, survey):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    page = browser.open(survey_url(invitation)).content.decode()
    reasons = page.split('id="question-reasons"', 1)[1].split('<div class="options">')[0]
    assert (
        'data-show-if="{&quot;question&quot;: &quot;ltr&quot;, &quot;op&quot;: &quot;lte&quot;, '
        '&quot;value&quot;: 6, &quot;kind&quot;: &quot;nps&quot;}"'
    ) in page
    assert '<fieldset aria-describedby="q-reasons-note">' in reasons
    note = "Answer this if you chose 6 or less above."
    assert f'<p class="condition-note" id="q-reasons-note">{note}</p>' in reasons
    browser.answer({"ltr": "9", "reasons": ["fees"]})
    assert answers_of(invitation) == [("ltr", 9.0, "", "", "en")]


# Bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "target", "message"),
    [
        ({"ltr": "11"}, "q-ltr-0", "Choose a number from 0 to 10."),
        ({"ltr": "-1"}, "q-ltr-0", "Choose a number from 0 to 10."),
        ({"ltr": "ten"}, "q-ltr-0", "Choose a number from 0 to 10."),
        ({"ltr": ["3", "4"]}, "q-ltr-0", "Choose a number from 0 to 10."),
        ({}, "q-ltr-0", "Please answer this question."),
        (
            {"ltr": "2", "reasons": ["weather"]},
            "q-reasons-waiting",
            "Choose among the options shown.",
        ),
    ],
)
def test_a_page_with_a_bad_answer_says_what_to_fix_and_writes_nothing(
    world, survey, answers, target, message
):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    browser.open(survey_url(invitation))
    page = browser.answer(answers)
    assert page.status_code == 422
    assert error_summary(page) == [(target, message)]
    key = target.split("-")[1]
    html = page.content.decode()
    assert f'<p class="question-error" id="q-{key}-error">{message}</p>' in html
    assert f'aria-describedby="q-{key}-error' in html
    assert 'aria-invalid="true"' in html
    assert not Answer.objects.exists()
    assert Response.objects.get().current_page == 1


def test_the_answers_given_stay_on_a_page_sent_back_for_a_fix(world, survey):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    browser.open(survey_url(invitation))
    page = browser.answer({"ltr": "2", "reasons": ["fees", "weather"]})
    assert checked(page) == {"ltr": ["2"], "reasons": ["fees"]}


def test_errors_speak_the_respondents_language(world, survey):
    invitation = invite(world, survey, language="pl")
    browser = Respondent()
    browser.open(survey_url(invitation))
    page = browser.answer({"ltr": "11"})
    assert error_summary(page) == [("q-ltr-0", "Wybierz liczbę od 0 do 10.")]
    assert "Sprawdź swoje odpowiedzi" in page.content.decode()


def test_a_megabyte_of_text_is_refused_and_the_page_before_is_kept(world, survey):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    browser.open(survey_url(invitation))
    browser.follow(browser.answer({"ltr": "9"}))
    page = browser.answer({"speed": "4", "comment": "x" * 1_000_000})
    assert page.status_code == 422
    assert error_summary(page) == [
        ("q-comment", "Please shorten your answer to 2000 characters (it has 1000000).")
    ]
    assert answers_of(invitation) == [("ltr", 9.0, "", "", "en")]
    assert Response.objects.get().status == "partial"
    assert '<textarea id="q-comment" name="comment" rows="5" maxlength="2000"' in (
        page.content.decode()
    )


def test_a_text_with_a_nul_character_is_refused(world, survey):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    browser.open(survey_url(invitation))
    browser.follow(browser.answer({"ltr": "9"}))
    page = browser.answer({"comment": "a\x00b"})
    assert error_summary(page) == [
        ("q-comment", "Your answer contains a character that cannot be saved.")
    ]
    assert answers_of(invitation) == [("ltr", 9.0, "", "", "en")]


def test_finishing_without_an_earlier_required_answer_goes_back_to_it(world, survey):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    browser.open(survey_url(invitation))
    # A page 2 form sent without ever answering page 1 (an old tab, a crafted request).
    csrf = browser.client.cookies["csrftoken"].value
    page = browser.client.post(
        f"{survey_url(invitation)}?lang=en",
        {"csrfmiddlewaretoken": csrf, "page": "2", "speed": "3"},
    )
    assert page.status_code == 422
    assert questions(page)[0] == LTR_EN
    assert error_summary(page) == [("q-ltr-0", "Please answer this question.")]
    # What page 2 held is kept; the response is not complete.
    assert answers_of(invitation) == [("speed", 3.0, "", "", "en")]
    assert Response.objects.get().status == "partial"


@pytest.mark.parametrize("page_field", ["", "7", "x", "1" * 40])
def test_a_form_without_a_known_page_saves_nothing(world, survey, page_field):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    browser.open(survey_url(invitation))
    csrf = browser.client.cookies["csrftoken"].value
    answer = browser.client.post(
        f"{survey_url(invitation)}?lang=en",
        {"csrfmiddlewaretoken": csrf, "page": page_field, "ltr": "5"},
    )
    assert (answer.status_code, answer["Location"]) == (303, f"{survey_url(invitation)}?lang=en")
    assert not Answer.objects.exists()


def test_answers_sent_as_json_get_a_clear_message_and_write_nothing(world, survey):
    invitation = invite(world, survey, language="ro")
    Respondent().open(survey_url(invitation))
    answer = Client().post(
        survey_url(invitation), {"page": 1, "ltr": 9}, content_type="application/json"
    )
    assert answer.status_code == 415
    assert headings(answer) == ["Răspunsurile nu au putut fi citite"]
    assert not Answer.objects.exists()


# Links that no longer (or never did) work ---------------------------------------------------------


def test_an_expired_link_says_so_in_the_surveys_language(world, survey):
    invitation = invite(world, survey, language="pl", now=timezone.now() - timedelta(days=15))
    for method in ("get", "post"):
        page = getattr(Client(), method)(survey_url(invitation))
        assert page.status_code == 410
        assert headings(page) == ["Ten link wygasł"]
    assert not Response.objects.exists()


def test_a_completed_invitation_cannot_answer_again(world, survey):
    invitation = invite(world, survey, language="en")
    browser, other_browser = Respondent(), Respondent()
    browser.open(survey_url(invitation))
    browser.follow(browser.answer({"ltr": "9"}))
    other_browser.open(survey_url(invitation))
    assert browser.answer({"speed": "5"}).status_code == 303
    before = answers_of(invitation)

    # The page left open in another browser cannot send a second set of answers.
    answer = other_browser.answer({"speed": "1"})
    assert (answer.status_code, headings(answer)) == (
        409,
        ["You have already answered this survey"],
    )
    page = Respondent().open(survey_url(invitation))
    assert (page.status_code, headings(page)) == (200, ["You have already answered this survey"])
    assert answers_of(invitation) == before


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token[:20],
        lambda token: token + "x" * 40,
        lambda token: token.swapcase(),
    ],
)
def test_a_tampered_link_finds_nothing(world, survey, tamper):
    invitation = invite(world, survey, language="en")
    url = f"/s/{tamper(invitation.token)}/"
    page = Client(HTTP_ACCEPT_LANGUAGE="ro").get(url)
    assert page.status_code == 404
    assert headings(page) == ["Acest link nu funcționează"]
    assert not Response.objects.exists()


def test_an_archived_survey_is_closed(world, survey):
    invitation = invite(world, survey, language="en")
    services.survey_update(scope=world.scope(world.analyst), survey_id=survey.pk, is_archived=True)
    page = Client().get(survey_url(invitation))
    assert (page.status_code, headings(page)) == (410, ["This survey is closed"])
    assert not Response.objects.exists()


# Double submits and CSRF -------------------------------------------------------------------------


def test_sending_the_same_page_twice_keeps_one_set_of_answers(world, survey):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    browser.open(survey_url(invitation))
    form = browser.page
    for _ in range(2):
        browser.page = form
        assert browser.answer({"ltr": "5", "reasons": ["waiting"]}).status_code == 303
    assert answers_of(invitation) == [
        ("ltr", 5.0, "", "", "en"),
        ("reasons", None, "waiting", "", "en"),
    ]
    last = browser.open(survey_url(invitation))
    statuses = []
    for _ in range(2):
        browser.page = last
        statuses.append(browser.answer({"speed": "3"}).status_code)
    assert statuses == [303, 409]
    assert Response.objects.filter(status="complete").count() == 1
    assert len(answers_of(invitation)) == 3


def test_an_anonymous_customer_gets_a_csrf_cookie_and_a_form_without_it_is_refused(world, survey):
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    page = browser.open(survey_url(invitation))
    assert "csrftoken" in page.cookies
    # No session is made for an invitation: the token says who answers.
    assert "sessionid" not in page.cookies
    forged = Client(enforce_csrf_checks=True).post(
        f"{survey_url(invitation)}?lang=en", {"page": "1", "ltr": "0"}
    )
    assert forged.status_code == 403
    assert not Answer.objects.exists()
    assert browser.answer({"ltr": "0"}).status_code == 303
    assert answers_of(invitation) == [("ltr", 0.0, "", "", "en")]


def test_survey_pages_are_never_cached(world, survey):
    invitation = invite(world, survey, language="en")
    page = Client().get(survey_url(invitation))
    assert "no-store" in page["Cache-Control"]
    assert "private" in page["Cache-Control"]


# The organisation's look -------------------------------------------------------------------------

PNG = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_the_page_wears_the_organisations_look(world, survey):
    look = services.survey_look_set(
        scope=world.scope(world.admin),
        logo=PNG,
        primary_colour="#ffcc00",
        background_colour="#102030",
        sender_name="Banca Demo — Clienți",
    )
    invitation = invite(world, survey, language="ro")
    page = Client().get(survey_url(invitation)).content.decode()
    version = int(look.updated_at.timestamp())
    css_url = f"/s/look/{world.org.pk}.css?v={version}"
    logo_url = f"/s/look/{world.org.pk}/logo?v={version}"
    assert f'<link rel="stylesheet" href="{css_url}">' in page
    assert f'<img class="respond-logo" src="{logo_url}" alt="Banca Demo — Clienți">' in page
    assert "<title>Sondaj · Banca Demo — Clienți</title>" in page
    assert " style=" not in page

    css = Client().get(css_url)
    assert css["Content-Type"] == "text/css; charset=utf-8"
    assert css.content.decode() == (
        ":root {\n"
        "  --look-primary: #ffcc00;\n"
        "  --look-on-primary: #000000;\n"
        "  --look-background: #102030;\n"
        "  --look-ink: #ffffff;\n"
        "}\n"
    )
    logo = Client().get(logo_url)
    assert logo["Content-Type"] == "image/png"
    assert logo.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert "sandbox" in logo["Content-Security-Policy"]
    assert "max-age=86400" in logo["Cache-Control"]


def test_without_a_look_the_page_names_the_organisation(world, survey):
    invitation = invite(world, survey, language="en")
    page = Client().get(survey_url(invitation)).content.decode()
    assert '<span class="respond-sender">Banca Demo</span>' in page
    assert "/s/look/" not in page
    assert Client().get(f"/s/look/{world.org.pk}/logo").status_code == 404
    assert (
        "--look-primary: #1d4f91;" in Client().get(f"/s/look/{world.org.pk}.css").content.decode()
    )


# Speed -------------------------------------------------------------------------------------------


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def test_the_survey_page_takes_few_queries_however_many_answers(world):
    many = [
        *QUESTIONS[:1],
        *(
            {
                "key": f"attribute_{n}",
                "kind": "rating",
                "page": 1,
                "text": {"en": f"Attribute {n}", "ro": f"Atribut {n}", "pl": f"Atrybut {n}"},
            }
            for n in range(12)
        ),
        {**QUESTIONS[3], "page": 2},
    ]
    survey = make_published_survey(world.scope(world.analyst), questions=many)
    services.survey_look_set(scope=world.scope(world.admin), sender_name="Banca")
    invitation = invite(world, survey, language="en")
    browser = Respondent()
    url = survey_url(invitation)

    def first_open():
        assert browser.open(url).status_code == 200

    def page_again():
        assert browser.open(url, page="1").status_code == 200

    answers = {"ltr": "7", **{f"attribute_{n}": "4" for n in range(12)}}

    def save_page():
        assert browser.answer(answers).status_code == 303

    # The invitation with its response, the published version, the new response (with the
    # savepoints of the test's transaction), the invitation marked opened (one conditional
    # update), the questions, the look. The published version's questions are read once, then
    # kept.
    assert count_queries(first_open) == 8
    # The invitation; saving (lock, version, questions, answers so far, delete, insert, update,
    # with its savepoints); the invitation marked started (one conditional update).
    assert count_queries(save_page) == 11
    # The invitation with its response, the answers, the look.
    assert count_queries(page_again) == 3
    assert checked(browser.page)["ltr"] == ["7"]
