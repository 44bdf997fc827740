"""The demo's programs, surveys and responses: deterministic, valid, in context, in language."""

import random
from collections import defaultdict
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from sonda.accounts.models import Organisation
from sonda.demo.experience import (
    BRANCH_SECOND_VERSION,
    PERIOD_END,
    PERIOD_START,
)
from sonda.demo.feedback_writing import feedback_checksum
from sonda.demo.generator import DEMO_ORGANISATION_SLUG, SCALES, demo_generate
from sonda.demo.questionnaires import branch_questions
from sonda.demo.tests.measures import local
from sonda.demo.verbatims import BANKS, phrase_count, verbatim
from sonda.listening.models import Event, Invitation
from sonda.surveys.definition import AnswerValue, QuestionSpec, is_shown, parse_answer
from sonda.surveys.models import (
    Answer,
    OpenLink,
    Program,
    Question,
    Response,
    Survey,
    SurveyVersion,
)
from sonda.surveys.specs import spec_of

TINY = SCALES["tiny"]
BRANCH_RECOMMEND = branch_questions()[0].text  # the first question, in every language


class _Rollback(Exception):
    pass


def generated_checksum(seed: int) -> str:
    """Generate the tiny demo, take the checksum of its responses and answers, roll it all back."""
    try:
        with transaction.atomic():
            demo_generate(seed=seed, scale=TINY)
            checksum = feedback_checksum(Organisation.objects.get(slug=DEMO_ORGANISATION_SLUG).pk)
            raise _Rollback
    except _Rollback:
        pass
    assert not Response.objects.exists()
    return checksum


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_responses_and_answers_and_another_seed_others():
    first = generated_checksum(7)
    assert generated_checksum(7) == first
    assert generated_checksum(8) != first


@pytest.mark.django_db
def test_the_tiny_demo_has_two_programs_three_surveys_and_a_few_hundred_responses():
    result = demo_generate(seed=3, scale=TINY)
    bank = Organisation.objects.get(slug=DEMO_ORGANISATION_SLUG)
    assert result.feedback is not None
    assert sorted(Program.objects.filter(organisation=bank).values_list("name", "kind")) == [
        ("Relationship NPS", "relationship"),
        ("Service NPS", "transactional"),
    ]
    surveys = Survey.objects.filter(organisation=bank)
    assert sorted(surveys.values_list("name", "program__name", "languages")) == [
        ("After a branch visit", "Service NPS", ["en", "ro", "pl"]),
        ("After a call", "Service NPS", ["en", "ro", "pl"]),
        ("Relationship survey", "Relationship NPS", ["en", "ro", "pl"]),
    ]
    # The branch survey's second version was published mid-period, asking how long the wait was.
    versions = SurveyVersion.objects.filter(survey__name="After a branch visit")
    assert sorted(versions.values_list("number", "status")) == [(1, "retired"), (2, "published")]
    first, second = versions.get(number=1), versions.get(number=2)
    assert first.published_at is not None
    assert second.published_at is not None
    assert (first.published_at.date(), second.published_at.date()) == (
        date(2025, 4, 28),
        date(2026, 2, 1),
    )
    keys = {v.number: set(v.questions.values_list("key", flat=True)) for v in versions}
    assert keys[2] - keys[1] == {"wait_minutes"}
    assert not Response.objects.filter(version=second, started_at__lt=second.published_at).exists()
    assert not Response.objects.filter(version=first, started_at__gt=second.published_at).exists()
    assert Response.objects.filter(version=second).exists()
    competitors = Question.objects.filter(version__survey__name="Relationship survey")
    assert sorted(competitors.exclude(competitor="").values_list("key", "competitor")) == [
        ("ltr_danubia", "Danubia Bank"),
        ("ltr_vistula", "Vistula Bank"),
    ]
    demo_responses = Response.objects.filter(organisation=bank, source="demo")
    assert demo_responses.count() == result.feedback.responses == 300
    assert demo_responses.filter(status="complete").count() == result.feedback.complete
    assert 250 <= result.feedback.complete < 300
    assert Answer.objects.filter(response__source="demo").count() == result.feedback.answers
    assert result.feedback.months == 18
    # One QR code per branch, and live invitations: pending, expired and half answered.
    assert OpenLink.objects.filter(organisation=bank).count() == 2
    assert (
        sorted(
            Invitation.objects.filter(organisation=bank, event__isnull=True).values_list(
                "status", flat=True
            )
        )
        == ["expired"] * 4 + ["sent"] * 6 + ["started"] * 4
    )
    assert Response.objects.filter(organisation=bank, source="web", status="partial").count() == 4
    assert Invitation.objects.get(token=result.feedback.try_token).status == "sent"


@pytest.mark.django_db
def test_the_live_invitations_open_on_the_survey_pages(client):
    """The printed link opens the survey, a half-answered one resumes, an expired one is gone."""
    result = demo_generate(seed=3, scale=TINY)
    assert result.feedback is not None
    tried = Invitation.objects.get(token=result.feedback.try_token)
    page = client.get(reverse("respond:survey", args=[tried.token]))
    assert page.status_code == 200
    assert BRANCH_RECOMMEND[tried.language] in page.content.decode()
    for invitation in Invitation.objects.filter(status="started"):
        resumed = client.get(reverse("respond:survey", args=[invitation.token]))
        assert resumed.status_code == 200
        assert Response.objects.get(invitation=invitation).current_page == 2
    for invitation in Invitation.objects.filter(status="expired"):
        assert client.get(reverse("respond:survey", args=[invitation.token])).status_code == 410


@pytest.mark.django_db
def test_every_answer_is_valid_for_its_question_and_shown_by_the_survey_s_logic():
    demo_generate(seed=5, scale=TINY)
    specs = {q.pk: spec_of(q) for q in Question.objects.all()}
    by_version: dict[int, list[QuestionSpec]] = defaultdict(list)
    for question in Question.objects.order_by("position"):
        by_version[question.version_id].append(specs[question.pk])
    answers_of: dict[int, list[Answer]] = defaultdict(list)
    for answer in Answer.objects.filter(response__source="demo"):
        answers_of[answer.response_id].append(answer)
    responses = Response.objects.filter(source="demo").select_related("version", "survey", "unit")
    for response in responses:
        given = answers_of[response.pk]
        raw: dict[str, Any] = {}
        for answer in given:
            spec = specs[answer.question_id]
            assert (spec.key, spec.kind) == (answer.question_key, answer.kind)
            if answer.value_choice:
                raw.setdefault(spec.key, []).append(answer.value_choice)
            elif answer.value_text:
                raw[spec.key] = answer.value_text
            elif spec.kind == "yes_no":
                raw[spec.key] = answer.value_number == 1.0
            else:
                raw[spec.key] = answer.value_number
        parsed: dict[str, list[AnswerValue]] = {}
        for spec in by_version[response.version_id]:
            values = parse_answer(spec, raw.get(spec.key))
            assert values or spec.key not in raw
            assert is_shown(spec, parsed) or not values, (response.pk, spec.key)
            assert values or not spec.required or response.status == "partial"
            if values:
                parsed[spec.key] = values
        stored = [(a.question_key, a.value_number, a.value_text, a.value_choice) for a in given]
        assert sorted(stored, key=repr) == sorted(
            ((key, v.number, v.text, v.choice) for key, vs in parsed.items() for v in vs),
            key=repr,
        )
        if response.survey.name == "After a branch visit":
            second = local(response).date() >= BRANCH_SECOND_VERSION
            assert response.version.number == (2 if second else 1)


@pytest.mark.django_db
def test_answers_copy_their_response_s_context_and_timestamps():
    demo_generate(seed=5, scale=TINY)
    responses = {
        r.pk: r for r in Response.objects.filter(source="demo").select_related("survey", "unit")
    }
    answers = Answer.objects.filter(response__source="demo")
    assert answers.count() > 1000
    for answer in answers:
        response = responses[answer.response_id]
        assert response.unit is not None
        expected = (
            response.organisation_id,
            response.survey.program_id,
            response.survey_id,
            response.version_id,
            response.customer_id,
            response.unit_id,
            response.unit.path,
            response.employee_id,
            response.touchpoint,
            response.channel,
            response.journey,
            response.stage,
            response.language,
            response.completed_at or response.started_at,
            response.status == "complete",
        )
        assert (
            answer.organisation_id,
            answer.program_id,
            answer.survey_id,
            answer.version_id,
            answer.customer_id,
            answer.unit_id,
            answer.unit_path,
            answer.employee_id,
            answer.touchpoint,
            answer.channel,
            answer.journey,
            answer.stage,
            answer.language,
            answer.answered_at,
            answer.is_complete,
        ) == expected


@pytest.mark.django_db
def test_responses_span_the_18_months_in_opening_hours_in_the_customer_s_language():
    demo_generate(seed=5, scale=TINY)
    responses = Response.objects.filter(source="demo").select_related(
        "unit__unit_type", "customer", "employee", "survey"
    )
    months = set()
    for response in responses:
        started = local(response)
        months.add((started.year, started.month))
        assert PERIOD_START <= started.date() < PERIOD_END
        if response.customer is not None:
            assert response.language == response.customer.preferred_language
            assert response.channel in {"email", "sms", "ivr"}
        assert response.unit is not None
        if response.survey.name == "After a branch visit":
            assert response.unit.unit_type.code == "branch"
            assert 9 <= started.hour < 17
            assert started.weekday() < 6
        elif response.survey.name == "After a call":
            assert response.unit.unit_type.code == "team"
            assert response.employee is not None
            assert response.employee.unit_id == response.unit_id
            assert 8 <= started.hour < 20
        if response.completed_at is not None:
            assert 0 < (response.completed_at - response.started_at).total_seconds() <= 420
    assert len(months) == 18
    assert {r.channel for r in responses} == {"email", "sms", "link", "kiosk", "ivr"}
    assert {r.language for r in responses} == {"en", "ro", "pl"}
    assert responses.exclude(journey="").exists()


@pytest.mark.django_db
def test_a_second_demo_run_adds_no_responses():
    call_command("demo", "--scale", "tiny", "--seed", "4", stdout=(first := StringIO()))
    counts = (Response.objects.count(), Answer.objects.count(), Invitation.objects.count())
    checksum = feedback_checksum(Organisation.objects.get(slug=DEMO_ORGANISATION_SLUG).pk)
    call_command("demo", "--scale", "tiny", "--seed", "4", stdout=StringIO())
    assert (Response.objects.count(), Answer.objects.count(), Invitation.objects.count()) == counts
    assert feedback_checksum(Organisation.objects.get(slug=DEMO_ORGANISATION_SLUG).pk) == checksum
    output = first.getvalue()
    assert "Feedback of carpathia-bank: 300 responses (" in output
    assert " answers over 18 months; 3 surveys in 2 programs, 2 QR-code links, " in output
    token = Invitation.objects.filter(status="sent").order_by("pk").first()
    assert token is not None
    assert f"Try a survey: http://127.0.0.1:8000/s/{token.token}/\n" in output
    events = Event.objects.filter(organisation__slug=DEMO_ORGANISATION_SLUG).count()
    assert f"Listening of carpathia-bank: {events:,} events, 3 trigger rules, " in output


def test_comments_are_built_from_a_few_hundred_phrases_that_match_the_reasons():
    assert phrase_count() >= 300
    assert set(BANKS["en"]) == set(BANKS["ro"]) == set(BANKS["pl"])
    rng = random.Random(1)
    for language, bank in BANKS.items():
        for _ in range(20):
            text = verbatim(
                rng,
                language=language,
                loyalty="detractor",
                reasons=["transfers"],
                best=[],
                worst="speed",
                setting="call",
            )
            assert any(
                phrase.rstrip(".").lower() in text.lower() for phrase in bank["reason:transfers"]
            )
