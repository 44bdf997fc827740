"""The daily tallies of scored answers stay exact whoever writes the answers, and however."""

import json
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from sonda.core.calendar import day_number
from sonda.surveys.imports import responses_import
from sonda.surveys.models import Answer, DailyTally, Response
from sonda.surveys.responses import (
    ResponseContext,
    response_complete,
    response_finish,
    response_save_page,
    response_start,
    response_submit,
)
from sonda.surveys.tallies import (
    answers_recalendar,
    tallies_rebuild,
    tallies_uninstall,
    tally_drift,
)
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.test_import_responses import EXAMPLES, known  # noqa: F401

BUCHAREST = ZoneInfo("Europe/Bucharest")


@pytest.fixture
def survey(world):
    world.org.time_zone = BUCHAREST.key
    world.org.save()
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def context(world):
    return ResponseContext(language="ro", unit_id=world.north_branch.pk, channel="email")


def tallied(**key) -> list[tuple[int, int, float]]:
    """(local day, n, sum of the scores) of the tally rows that count something."""
    return sorted(DailyTally.objects.filter(n__gt=0, **key).values_list("local_day", "n", "total"))


def counts_of(**key) -> list[int]:
    row = DailyTally.objects.get(n__gt=0, **key)
    return [getattr(row, f"c{point}") for point in range(11)]


def test_answers_given_page_by_page_are_counted_once_on_their_day(world, survey, context):
    started = datetime(2026, 3, 28, 21, 30, tzinfo=UTC)  # 23:30 in Bucharest, the 28th
    response = response_start(survey=survey, context=context, now=started)
    response_save_page(response_id=response.pk, page=1, raw={"ltr": "4"})
    # A partial response's answers count, as partial, on the day it was started.
    assert tallied(question_key="ltr", is_complete=False) == [
        (day_number(started, BUCHAREST), 1, 4.0)
    ]
    # The respondent comes back and changes the score: the old one is taken out.
    response_save_page(response_id=response.pk, page=1, raw={"ltr": "9"})
    assert tallied(question_key="ltr") == [(day_number(started, BUCHAREST), 1, 9.0)]
    response_save_page(response_id=response.pk, page=2, raw={"speed": "5"})
    completed = datetime(2026, 3, 28, 22, 5, tzinfo=UTC)  # 00:05 on the 29th in Bucharest
    response_complete(response_id=response.pk, now=completed)

    # Completing moves every answer to the completion's day, as complete.
    day = day_number(completed, BUCHAREST)
    assert day == day_number(started, BUCHAREST) + 1
    assert tallied(question_key="ltr", is_complete=False) == []
    assert tallied(question_key="ltr", is_complete=True) == [(day, 1, 9.0)]
    assert counts_of(question_key="ltr")[9] == 1
    assert tallied(question_key="speed") == [(day, 1, 5.0)]
    assert (
        DailyTally.objects.filter(n__gt=0, unit_id=world.north_branch.pk)
        .values_list("unit_path", flat=True)
        .distinct()
        .get()
        == world.north_branch.path
    )
    assert tally_drift(organisation_id=world.org.pk) == []


def test_open_answers_and_choices_are_not_tallied(world, survey, context):
    response_submit(
        survey=survey,
        context=context,
        answers={"ltr": 3, "reasons": ["waiting", "fees"], "speed": 2, "comment": "Lent."},
    )
    assert sorted(DailyTally.objects.values_list("question_key", flat=True)) == ["ltr", "speed"]
    assert Answer.objects.count() == 5
    assert tally_drift(organisation_id=world.org.pk) == []


def test_the_last_page_finished_at_once_and_a_whole_response_through_the_api(
    world, survey, context
):
    response = response_start(survey=survey, context=context)
    response_save_page(response_id=response.pk, page=1, raw={"ltr": "10"})
    response_finish(response_id=response.pk, page=2, raw={"speed": "4"})
    response_submit(survey=survey, context=ResponseContext(language="en"), answers={"ltr": 0})
    assert counts_of(question_key="ltr", unit_id=world.north_branch.pk)[10] == 1
    # No unit: the row's unit is 0.
    assert counts_of(question_key="ltr", unit_id=0)[0] == 1
    assert tally_drift(organisation_id=world.org.pk) == []


def test_deleting_answers_takes_them_out(world, survey, context):
    for score in (2, 7, 9):
        response_submit(survey=survey, context=context, answers={"ltr": score})
    Response.objects.filter(answers__value_number=7).delete()
    assert tallied(question_key="ltr")[0][1:] == (2, 11.0)
    assert counts_of(question_key="ltr")[7] == 0
    assert tally_drift(organisation_id=world.org.pk) == []


@pytest.mark.usefixtures("known")
def test_imported_responses_are_tallied(world, survey):
    mapping = json.loads((EXAMPLES / "responses-mapping.json").read_text())
    result = responses_import(
        scope=world.scope(world.analyst),
        survey_id=survey.pk,
        mapping=mapping,
        text=(EXAMPLES / "responses.csv").read_text(),
    )
    scores = [
        float(v or 0)
        for v in Answer.objects.filter(question_key="ltr").values_list("value_number", flat=True)
    ]
    assert result.created > 0
    assert sum(n for _, n, _ in tallied(question_key="ltr")) == len(scores)
    assert sum(total for _, _, total in tallied(question_key="ltr")) == sum(scores)
    assert tally_drift(organisation_id=world.org.pk) == []


def test_a_new_time_zone_moves_answers_to_its_days(world, survey, context):
    moment = datetime(2026, 6, 1, 22, 30, tzinfo=UTC)  # 1 June in London, 2 June in Bucharest
    response_submit(survey=survey, context=context, answers={"ltr": 8}, completed_at=moment)
    assert tallied(question_key="ltr") == [(day_number(moment, BUCHAREST), 1, 8.0)]

    answers_recalendar(organisation_id=world.org.pk, time_zone="Europe/London")

    london = day_number(moment, ZoneInfo("Europe/London"))
    assert london == day_number(moment, BUCHAREST) - 1
    assert set(Answer.objects.values_list("local_day", flat=True)) == {london}
    assert tallied(question_key="ltr") == [(london, 1, 8.0)]
    assert tally_drift(organisation_id=world.org.pk) == []


def test_a_rebuild_recounts_what_was_written_without_the_triggers(world, survey, context):
    response_submit(survey=survey, context=context, answers={"ltr": 6})
    tallies_uninstall()
    try:
        response_submit(survey=survey, context=context, answers={"ltr": 10})
        assert [d.recounted[0] - d.stored[0] for d in tally_drift(organisation_id=world.org.pk)]
    finally:
        from sonda.surveys.tallies import tallies_install

        tallies_install()
    tallies_rebuild(organisation_id=world.org.pk)
    assert tallied(question_key="ltr")[0][1:] == (2, 16.0)
    assert tally_drift(organisation_id=world.org.pk) == []


@pytest.mark.django_db
def test_the_triggers_are_in_place_after_the_migrations():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'surveys_answer'::regclass "
                "AND NOT tgisinternal ORDER BY tgname"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'surveys_answer' ORDER BY name"
            )
        names = [name for (name,) in cursor.fetchall()]
    # SQLite drops a table's triggers when a migration rebuilds it to alter a column: a
    # migration that does so must install them again.
    expected = (
        {
            "surveys_answer_tally_insert",
            "surveys_answer_tally_delete",
            "surveys_answer_tally_update",
        }
        if connection.vendor == "postgresql"
        else {
            "surveys_answer_tally_insert",
            "surveys_answer_tally_delete",
            "surveys_answer_tally_update_old",
            "surveys_answer_tally_update_new",
        }
    )
    assert set(names) == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_the_same_day_add_up(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    world.org.time_zone = BUCHAREST.key
    world.org.save()
    survey = make_published_survey(world.scope(world.analyst))
    context = ResponseContext(language="ro", unit_id=world.north_branch.pk)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def respond(score: int) -> None:
        try:
            barrier.wait()
            for _ in range(10):
                response_submit(survey=survey, context=context, answers={"ltr": score, "speed": 3})
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=respond, args=(score,)) for score in (0, 5, 9, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    counts = counts_of(question_key="ltr")
    assert (counts[0], counts[5], counts[9], counts[10]) == (10, 10, 10, 10)
    assert tally_drift(organisation_id=world.org.pk) == []
