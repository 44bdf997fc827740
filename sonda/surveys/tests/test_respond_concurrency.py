"""Two browsers on the same invitation at the same moment: one response, completed once."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from sonda.listening.models import Invitation
from sonda.listening.services import invitation_create
from sonda.surveys.models import Answer, Response
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.respondent import Respondent, headings

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_same_invitation_completed_from_two_browsers_is_completed_once(world):
    survey = make_published_survey(world.scope(world.analyst))
    invitation = invitation_create(organisation=world.org, survey=survey, language="en")
    url = f"/s/{invitation.token}/"
    phone, laptop = Respondent(), Respondent()
    phone.open(url)
    phone.follow(phone.answer({"ltr": "8"}))
    laptop.open(url)  # the last page, open in both browsers

    answers = at_once([lambda: phone.answer({"speed": "5"}), lambda: laptop.answer({"speed": "1"})])

    assert sorted(a.status_code for a in answers) == [303, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert headings(refused) == ["You have already answered this survey"]
    response = Response.objects.get()
    assert response.status == "complete"
    winner = "5" if answers[0].status_code == 303 else "1"
    assert sorted(Answer.objects.values_list("question_key", "value_number", "is_complete")) == [
        ("ltr", 8.0, True),
        ("speed", float(winner), True),
    ]
    assert Invitation.objects.get().status == "completed"


def test_the_same_invitation_opened_in_two_browsers_at_once_starts_one_response(world):
    survey = make_published_survey(world.scope(world.analyst))
    invitation = invitation_create(organisation=world.org, survey=survey, language="en")
    url = f"/s/{invitation.token}/"
    pages = at_once([lambda: Respondent().open(url), lambda: Respondent().open(url)])
    assert [page.status_code for page in pages] == [200, 200]
    assert Response.objects.count() == 1
    assert Invitation.objects.get().status == "opened"
