"""A customer's responses and answers in the personal-data registry: export, erasure, merge."""

from datetime import UTC, datetime

import pytest

from sonda.accounts.models import AuditEvent
from sonda.customers.identities import identity_normalise
from sonda.customers.models import Customer
from sonda.customers.services import customer_create, customer_merge
from sonda.privacy.registry import sources
from sonda.privacy.services import customer_data_export, customer_erase
from sonda.surveys.models import Answer, Response
from sonda.surveys.personal_data import redact
from sonda.surveys.responses import (
    ResponseContext,
    response_save_page,
    response_start,
    response_submit,
)
from sonda.surveys.tests.factories import make_published_survey

ANA_EMAIL = "ana.popescu@mail.example"
COMPLAINT = (
    "Ana Popescu aici: sunați-mă la +40 721 234 567 sau scrieți la ana.popescu@mail.example, "
    "contul RO49AAAA1B31007593840000, cardul 4111111111111111. Coada a fost prea lungă."
)
REDACTED_COMPLAINT = (
    "[name] [name] aici: sunați-mă la [phone] sau scrieți la [email], "
    "contul [number], cardul [number]. Coada a fost prea lungă."
)
VISIT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def make_customer(world, name: str, email: str) -> Customer:
    return customer_create(
        scope=world.scope(world.analyst),
        identities=[identity_normalise(kind="email", value=email)],
        full_name=name,
        preferred_language="ro",
    )


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def ana(world):
    return make_customer(world, "Ana Popescu", ANA_EMAIL)


@pytest.fixture
def ion(world):
    return make_customer(world, "Ion Ionescu", "ion.ionescu@mail.example")


def context(world, customer: Customer) -> ResponseContext:
    return ResponseContext(
        language="ro",
        customer_id=customer.pk,
        unit_id=world.north_branch.pk,
        touchpoint="Branch cash desk",
        channel="email",
        journey="moving house",
        stage="address change",
    )


@pytest.fixture
def answered(world, survey, ana, ion):
    """Ana completed one survey with a comment and left one half answered; Ion answered one."""
    complete, _ = response_submit(
        survey=survey,
        context=context(world, ana),
        answers={"ltr": 3, "reasons": ["waiting", "fees"], "speed": 1, "comment": COMPLAINT},
        started_at=VISIT,
        completed_at=VISIT.replace(minute=34),
    )
    partial = response_start(survey=survey, context=context(world, ana), now=VISIT.replace(day=9))
    response_save_page(response_id=partial.pk, page=1, raw={"ltr": "9"})
    other, _ = response_submit(
        survey=survey,
        context=context(world, ion),
        answers={"ltr": 10, "comment": "Ion Ionescu, 0721 234 568: totul perfect."},
        completed_at=VISIT,
    )
    return complete, partial, other


def test_both_survey_sources_are_registered():
    assert {"surveys", "listening"} <= {source.name for source in sources()}


def test_the_export_holds_the_customer_s_responses_with_their_answers_and_context(
    world, answered, ana
):
    document = customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk)
    assert document["surveys"] == [
        {
            "survey": "After a branch visit",
            "version": 1,
            "status": "complete",
            "language": "ro",
            "unit": "North 1",
            "touchpoint": "Branch cash desk",
            "channel": "email",
            "journey": "moving house",
            "stage": "address change",
            "started_at": "2026-03-02T09:30:00+00:00",
            "completed_at": "2026-03-02T09:34:00+00:00",
            "answers": [
                {
                    "question": "comment",
                    "kind": "text",
                    "number": None,
                    "text": COMPLAINT,
                    "choice": "",
                    "answered_at": "2026-03-02T09:34:00+00:00",
                },
                {
                    "question": "ltr",
                    "kind": "nps",
                    "number": 3.0,
                    "text": "",
                    "choice": "",
                    "answered_at": "2026-03-02T09:34:00+00:00",
                },
                {
                    "question": "reasons",
                    "kind": "multi_choice",
                    "number": None,
                    "text": "",
                    "choice": "fees",
                    "answered_at": "2026-03-02T09:34:00+00:00",
                },
                {
                    "question": "reasons",
                    "kind": "multi_choice",
                    "number": None,
                    "text": "",
                    "choice": "waiting",
                    "answered_at": "2026-03-02T09:34:00+00:00",
                },
                {
                    "question": "speed",
                    "kind": "rating",
                    "number": 1.0,
                    "text": "",
                    "choice": "",
                    "answered_at": "2026-03-02T09:34:00+00:00",
                },
            ],
        },
        {
            "survey": "After a branch visit",
            "version": 1,
            "status": "partial",
            "language": "ro",
            "unit": "North 1",
            "touchpoint": "Branch cash desk",
            "channel": "email",
            "journey": "moving house",
            "stage": "address change",
            "started_at": "2026-03-09T09:30:00+00:00",
            "completed_at": None,
            "answers": [
                {
                    "question": "ltr",
                    "kind": "nps",
                    "number": 9.0,
                    "text": "",
                    "choice": "",
                    "answered_at": "2026-03-09T09:30:00+00:00",
                }
            ],
        },
    ]


def test_erasure_keeps_every_answer_but_unlinks_and_redacts_them(world, answered, ana, ion):
    complete, partial, other = answered
    before = Answer.objects.count()
    others_before = sorted(Answer.objects.filter(customer=ion).values_list("pk", "value_text"))
    result = customer_erase(scope=world.scope(world.admin), kind="email", value=ANA_EMAIL)
    # Six answers and two responses unlinked; the counts for statistics do not change.
    assert result.rows["surveys"] == 8
    assert Answer.objects.count() == before
    assert not Answer.objects.filter(customer=ana).exists()
    assert not Response.objects.filter(customer=ana).exists()
    assert Response.objects.filter(pk__in=[complete.pk, partial.pk], customer=None).count() == 2
    assert Answer.objects.get(response=complete, question_key="comment").value_text == (
        REDACTED_COMPLAINT
    )
    assert sorted(
        Answer.objects.filter(response=complete).values_list("question_key", "value_number")
    ) == [("comment", None), ("ltr", 3.0), ("reasons", None), ("reasons", None), ("speed", 1.0)]
    # Another customer's answers are untouched, identifiers and all.
    assert Response.objects.get(pk=other.pk).customer_id == ion.pk
    assert (
        sorted(Answer.objects.filter(customer=ion).values_list("pk", "value_text")) == others_before
    )


def test_a_merge_moves_responses_and_answers_to_the_surviving_profile(world, answered, ana, ion):
    complete, _, _ = answered
    duplicate = make_customer(world, "Ana P.", "ana.p@work.example")
    moved_response, _ = response_submit(
        survey=complete.survey,
        context=context(world, duplicate),
        answers={"ltr": 7},
        completed_at=VISIT,
    )
    customer_merge(scope=world.scope(world.analyst), surviving_id=ana.pk, merged_id=duplicate.pk)
    assert Response.objects.get(pk=moved_response.pk).customer_id == ana.pk
    assert list(Answer.objects.filter(response=moved_response).values_list("customer_id")) == [
        (ana.pk,)
    ]
    assert not Response.objects.filter(customer=duplicate).exists()
    assert not Answer.objects.filter(customer=duplicate).exists()
    event = AuditEvent.objects.get(action="customer.merged")
    assert event.detail["rows_repointed"]["surveys"] == 2
    document = customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk)
    assert [r["status"] for r in document["surveys"]] == ["complete", "complete", "partial"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Scrieți-mi la maria.ionescu+banca@posta.example", "Scrieți-mi la [email]"),
        ("Proszę o telefon: 501-234-567.", "Proszę o telefon: [phone]."),
        ("Call (0721) 234 567 after five", "Call [phone] after five"),
        ("Konto PL61 1090 1014 0000 0712 1981 2874 jest moje", "Konto [number] jest moje"),
        ("Client number 20481937 here", "Client number [number] here"),
        ("I waited 45 minutes at 9:30 on 2 March", "I waited 45 minutes at 9:30 on 2 March"),
        ("ANA popescu was me", "[name] [name] was me"),
        ("Anastasia from the desk was lovely", "Anastasia from the desk was lovely"),
    ],
)
def test_redaction_removes_what_identifies_and_keeps_what_the_customer_said(text, expected):
    assert redact(text, names=["Ana", "Popescu"]) == expected
