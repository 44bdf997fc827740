"""The responses pages: the list, one response as it was answered, the customer's history."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sonda.accounts.models import AuditEvent
from sonda.customers.tests.factories import CustomerFactory
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.responses_helpers import store

USERS = ("outsider", "manager_south", "frontline", "manager_north", "executive", "analyst", "admin")


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


@pytest.fixture
def ana(world):
    return CustomerFactory(organisation=world.org, full_name="Ana Pop")


@pytest.fixture
def responses(world, survey, ana):
    """Ana's three responses: at north 1 about the frontline employee, at north 1, at south 1."""
    return {
        "north_frontline": store(
            survey,
            customer_id=ana.pk,
            unit_id=world.north_branch.pk,
            employee_id=world.frontline_person.pk,
            channel="email",
            completed_at=datetime(2026, 10, 5, 9, 30, tzinfo=UTC),
        ),
        "north": store(
            survey,
            {"ltr": 10, "speed": 5},
            customer_id=ana.pk,
            unit_id=world.north_branch.pk,
            channel="sms",
            completed_at=datetime(2026, 10, 6, 9, 30, tzinfo=UTC),
        ),
        "south": store(
            survey,
            {"ltr": 9},
            customer_id=ana.pk,
            unit_id=world.south_branch.pk,
            language="en",
            completed_at=datetime(2026, 10, 7, 9, 30, tzinfo=UTC),
        ),
    }


def listed(client, responses, **query) -> list[str]:
    names = {response.pk: name for name, response in responses.items()}
    page = client.get(reverse("responses:list"), query)
    assert page.status_code == 200
    return [names[item.pk] for item in page.context["page_obj"]]


def test_anonymous_visitors_are_sent_to_sign_in(client, responses):
    for url in (
        reverse("responses:list"),
        reverse("responses:detail", kwargs={"response_id": responses["north"].pk}),
        reverse("responses:download", kwargs={"what": "answers"}),
    ):
        page = client.get(url)
        assert page.status_code == 302
        assert page["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("outsider", []),
        ("manager_south", ["south"]),
        ("frontline", ["north_frontline"]),
        ("manager_north", ["north", "north_frontline"]),
        ("executive", ["south", "north", "north_frontline"]),
        ("analyst", ["south", "north", "north_frontline"]),
        ("admin", ["south", "north", "north_frontline"]),
    ],
)
def test_each_role_lists_the_responses_in_its_scope(client, world, responses, who, sees):
    client.force_login(world.users_by_role[who])
    assert listed(client, responses) == sees


@pytest.mark.parametrize("who", USERS)
def test_who_may_read_a_response(client, world, responses, who):
    client.force_login(world.users_by_role[who])
    allowed = {
        "north_frontline": {"frontline", "manager_north", "executive", "analyst", "admin"},
        "north": {"manager_north", "executive", "analyst", "admin"},
        "south": {"manager_south", "executive", "analyst", "admin"},
    }
    for name, response in responses.items():
        page = client.get(reverse("responses:detail", kwargs={"response_id": response.pk}))
        assert page.status_code == (200 if who in allowed[name] else 404), name


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"unit": "north"}, ["north", "north_frontline"]),
        ({"employee": "frontline"}, ["north_frontline"]),
        ({"channel": "sms"}, ["north"]),
        ({"language": "en"}, ["south"]),
        ({"has_text": "yes"}, ["north_frontline"]),
        ({"has_text": "no"}, ["south", "north"]),
        ({"completed_from": "2026-10-06", "completed_to": "2026-10-06"}, ["north"]),
        ({"status": "partial"}, []),
        # A filter that cannot be read is left out rather than failing the page.
        ({"completed_from": "last tuesday", "channel": "sms"}, ["north"]),
    ],
)
def test_the_list_filters(client, world, responses, query, expected):
    client.force_login(world.analyst)
    ids = {"north": world.north.pk, "frontline": world.frontline_person.pk}
    query = {k: ids.get(v, v) for k, v in query.items()}
    assert listed(client, responses, **query) == expected


def test_a_response_shows_its_answers_as_the_respondent_saw_them(client, world, responses, ana):
    client.force_login(world.analyst)
    response = responses["north_frontline"]

    page = client.get(reverse("responses:detail", kwargs={"response_id": response.pk}))

    html = page.content.decode()
    shown = {q.key: q for q in page.context["questions"]}
    assert list(shown) == ["ltr", "reasons", "speed", "comment"]
    assert (shown["ltr"].text, shown["ltr"].value, shown["ltr"].scale) == (
        "Cât de probabil este să ne recomandați unui prieten?",
        4,
        (0, 10),
    )
    assert [(o.label, o.chosen) for o in shown["reasons"].options] == [
        ("Timpul de așteptare", True),
        ("Atitudinea personalului", False),
        ("Comisioane", True),
    ]
    assert (shown["speed"].answered, shown["speed"].asked) == (False, True)
    assert shown["comment"].text_answer == "Prea mult am așteptat."
    for text in (
        "Ce nu a mers bine?",
        "Prea mult am așteptat.",
        "North 1",
        "Ana Frontline",
        "version 1",
        f'href="{reverse("customers:detail", kwargs={"customer_id": ana.pk})}"',
    ):
        assert text in html, text


def test_a_question_its_condition_hid_says_so(client, world, responses):
    client.force_login(world.analyst)
    page = client.get(reverse("responses:detail", kwargs={"response_id": responses["north"].pk}))
    reasons = next(q for q in page.context["questions"] if q.key == "reasons")
    assert (reasons.answered, reasons.asked) == (False, False)
    assert "Not asked: the question's condition did not apply." in page.content.decode()


@pytest.mark.parametrize(
    ("who", "history"),
    [
        ("manager_north", ["north"]),
        ("frontline", []),
        ("analyst", ["south", "north"]),
    ],
)
def test_the_customers_history_holds_what_the_viewer_may_see(
    client, world, responses, who, history
):
    client.force_login(world.users_by_role[who])
    names = {response.pk: name for name, response in responses.items()}
    response = responses["north_frontline"]
    page = client.get(reverse("responses:detail", kwargs={"response_id": response.pk}))
    assert [names[r.pk] for r in page.context["history"]] == history


def test_only_customer_readers_get_a_link_to_the_customer(client, world, responses, ana):
    client.force_login(world.manager_north)
    response = responses["north_frontline"]
    page = client.get(reverse("responses:detail", kwargs={"response_id": response.pk}))
    assert reverse("customers:detail", kwargs={"customer_id": ana.pk}) not in page.content.decode()


def test_the_customer_page_lists_their_latest_responses(client, world, responses, ana):
    client.force_login(world.analyst)
    page = client.get(reverse("customers:detail", kwargs={"customer_id": ana.pk}))
    html = page.content.decode()
    assert [r.pk for r in page.context["responses"]] == [
        responses["south"].pk,
        responses["north"].pk,
        responses["north_frontline"].pk,
    ]
    assert f"{reverse('responses:list')}?customer={ana.pk}" in html
    filtered = client.get(reverse("responses:list"), {"customer": ana.pk})
    assert filtered.context["page_obj"].paginator.count == 3
    assert "Showing the responses of customer" in filtered.content.decode()


def test_a_customer_without_responses_says_so(client, world, ana):
    client.force_login(world.analyst)
    page = client.get(reverse("customers:detail", kwargs={"customer_id": ana.pk}))
    assert list(page.context["responses"]) == []


def test_the_list_takes_the_same_queries_for_one_response_or_many(client, world, survey):
    client.force_login(world.analyst)
    store(survey, unit_id=world.north_branch.pk, employee_id=world.frontline_person.pk)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("responses:list"))
    for _ in range(5):
        store(survey, unit_id=world.south_branch.pk, employee_id=world.frontline_person.pk)
    with CaptureQueriesContext(connection) as six:
        page = client.get(reverse("responses:list"))
    assert page.context["page_obj"].paginator.count == 6
    assert len(six) == len(one)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's query plan")
def test_the_list_reads_the_newest_responses_from_an_index_not_by_sorting_them_all(
    client, world, survey
):
    """A page of the newest responses must not sort (and score) every response of the
    organisation first: on the demo's 200,000 responses that took seconds."""
    client.force_login(world.analyst)
    store(survey, unit_id=world.north_branch.pk)
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("responses:list"))
    (listing,) = [
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "surveys_response" INNER JOIN' in q["sql"]
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {listing}")
        plan = [(row[1], row[-1]) for row in cursor.fetchall()]  # (parent step, detail)
    assert any("USING INDEX response_recent" in step for _, step in plan), plan
    # The score's subquery may sort a listed response's few answers; the list itself must not.
    assert (0, "USE TEMP B-TREE FOR ORDER BY") not in plan, plan


def download(client, what: str, **query) -> tuple[str, str]:
    answer = client.get(reverse("responses:download", kwargs={"what": what}), query)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.streaming
    return answer["Content-Disposition"], b"".join(answer.streaming_content).decode()


def test_the_list_downloads_its_responses_as_csv_with_the_same_scope(client, world, responses):
    client.force_login(world.manager_north)

    disposition, text = download(client, "responses", channel="sms")

    north = responses["north"]
    assert disposition.startswith('attachment; filename="sonda-responses-')
    assert text.splitlines() == [
        (
            "response_id,survey_id,program_id,version,status,source,external_id,customer_id,"
            "unit_id,unit_code,employee_id,touchpoint,channel,journey,stage,language,"
            "invitation_id,started_at,completed_at"
        ),
        (
            f"{north.pk},{north.survey_id},{north.survey.program_id},1,complete,api,,"
            f"{north.customer_id},{world.north_branch.pk},N1,,,sms,,,ro,,"
            "2026-10-06T09:30:00+00:00,2026-10-06T09:30:00+00:00"
        ),
    ]
    event = AuditEvent.objects.get(action="export.responses")
    assert (event.actor, event.organisation, event.detail) == (
        world.manager_north,
        world.org,
        {"format": "csv", "filters": {"channel": "sms"}, "rows": 1},
    )


def test_the_list_downloads_answers_in_scope(client, world, responses):
    client.force_login(world.frontline)
    _, text = download(client, "answers")
    rows = text.splitlines()
    response = responses["north_frontline"]
    assert rows[0].startswith("response_id,question_key,kind,number,text,choice,answered_at,")
    assert [row.split(",")[:6] for row in rows[1:]] == [
        [str(response.pk), "ltr", "nps", "4", "", ""],
        [str(response.pk), "reasons", "multi_choice", "", "", "waiting"],
        [str(response.pk), "reasons", "multi_choice", "", "", "fees"],
        [str(response.pk), "comment", "text", "", "Prea mult am așteptat.", ""],
    ]
    assert AuditEvent.objects.get(action="export.answers").detail["rows"] == 4


def test_an_unknown_download_is_not_found(client, world):
    client.force_login(world.analyst)
    assert (
        client.get(reverse("responses:download", kwargs={"what": "customers"})).status_code == 404
    )
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()
