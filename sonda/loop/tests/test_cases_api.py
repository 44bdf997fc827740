"""/cases: the closed loop's cases over the API, for every role, through the workflow."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from sonda.api.testing import problem_fields
from sonda.loop.models import Case, CaseEvent, CaseProblem, CoachingNote, ExecutiveCallback
from sonda.loop.tests.case_pages_helpers import MATRIX, make_cases
from sonda.loop.workflow import case_code_root_causes

WHO = sorted(MATRIX)


@pytest.fixture
def cases(world):
    return make_cases(world)


def state_of(case: Case) -> tuple[str, int, int]:
    case.refresh_from_db()
    return case.state, case.version, CaseEvent.objects.filter(case=case).count()


# Who sees and changes which case -----------------------------------------------------------------


def test_anonymous_callers_are_refused(cases):
    response = cases.api("anonymous").get("/cases")
    assert response.status_code == 401
    problem_fields(response)


@pytest.mark.parametrize("who", WHO)
def test_each_role_lists_the_cases_it_sees_and_which_it_may_change(cases, who):
    response = cases.api(who).get("/cases")
    assert response.status_code == 200
    items = response.json()["items"]
    if who == "outsider":
        assert [item["id"] for item in items] == [cases.by_name["other_org"].pk]
        return
    listed = {cases.name_of(item["id"]): item["can_edit"] for item in items}
    seen, editable = MATRIX[who]
    assert set(listed) == seen
    assert {name for name, can in listed.items() if can} == editable
    assert response.json()["count"] == len(seen)


@pytest.mark.parametrize("who", WHO)
def test_each_role_reads_only_the_cases_it_sees(cases, who):
    seen, _ = MATRIX[who]
    caller = cases.api(who)
    for name, case in cases.by_name.items():
        if name == "other_org":
            continue
        response = caller.get(f"/cases/{case.pk}")
        assert response.status_code == (200 if name in seen else 404), (who, name)
        if response.status_code == 404:
            problem_fields(response)


@pytest.mark.parametrize("who", WHO)
def test_each_role_adds_notes_only_to_the_cases_it_may_change(cases, who):
    seen, editable = MATRIX[who]
    caller = cases.api(who)
    for name, case in cases.by_name.items():
        if name == "other_org":
            continue
        before = state_of(case)
        response = caller.post(f"/cases/{case.pk}/notes", {"text": f"Called by {who}"})
        expected = 201 if name in editable else 403 if name in seen else 404
        assert response.status_code == expected, (who, name)
        if expected == 201:
            assert response.json()["kind"] == "note"
            assert response.json()["text"] == f"Called by {who}"
            assert state_of(case)[1:] == (before[1] + 1, before[2] + 1)
        else:
            problem_fields(response)
            assert state_of(case) == before


WRITES = [
    ("post", "state", {"state": "in_contact", "version": 1}),
    ("post", "outcome", {"recovery_outcome": "fixed"}),
    ("put", "root-causes", {"root_causes": []}),
    ("post", "reassign", {"owner_id": 0, "reason": "Leave"}),
    ("post", "coaching-notes", {"behaviour": "x", "agreed_action": "y"}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("outsider", 404), ("manager_south", 404), ("executive", 403)],
)
def test_every_write_is_refused_to_who_may_not_change_the_case(
    cases, method, path, body, who, status
):
    case = cases.by_name["bogdans"]
    body = dict(body)
    if "root_causes" in body:
        body["root_causes"] = [cases.wrong_bill.pk]
    if "owner_id" in body:
        body["owner_id"] = cases.world.analyst.pk
    before = state_of(case)
    caller = cases.api(who)
    response = getattr(caller, method)(f"/cases/{case.pk}/{path}", body)
    assert response.status_code == status
    problem_fields(response)
    assert state_of(case) == before
    assert not CaseProblem.objects.filter(case=case).exists()
    assert not CoachingNote.objects.exists()


def test_the_other_organisations_case_is_not_found(cases):
    stranger = cases.by_name["other_org"]
    caller = cases.api("admin")
    assert caller.get(f"/cases/{stranger.pk}").status_code == 404
    response = caller.post(f"/cases/{stranger.pk}/state", {"state": "in_contact", "version": 1})
    assert response.status_code == 404
    assert state_of(stranger) == ("new", 1, 0)


# Reading a case ----------------------------------------------------------------------------------


def test_a_case_reads_with_the_answers_in_the_readers_language_and_its_timeline(cases):
    anas = cases.by_name["anas"]
    bogdan = cases.user("bogdan")
    bogdan.language = "pl"
    bogdan.save(update_fields=["language"])
    body = cases.api("bogdan").get(f"/cases/{anas.pk}").json()
    assert (body["id"], body["state"], body["version"], body["loop"]) == (
        anas.pk,
        "new",
        anas.version,
        "inner",
    )
    assert body["owner"] == {"id": bogdan.pk, "name": str(bogdan)}
    assert body["employee"] == {
        "id": cases.world.frontline_person.pk,
        "full_name": "Ana Frontline",
    }
    assert (body["can_edit"], body["next_states"]) == (True, ["in_contact"])
    assert body["answers"] == [
        {
            "question_key": "ltr",
            "kind": "nps",
            "question": "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu?",
            "value": 2,
            "labels": [],
        },
        {
            "question_key": "reasons",
            "kind": "multi_choice",
            "question": "Co poszło nie tak?",
            "value": ["staff"],
            "labels": ["Postawa personelu"],
        },
        {
            "question_key": "comment",
            "kind": "text",
            "question": "Czy chcesz nam powiedzieć coś jeszcze?",
            "value": "She sent me home without checking.",
            "labels": [],
        },
    ]
    assert body["root_causes"] == []
    assert [event["kind"] for event in body["timeline"]] == ["opened", "routed"]


def test_a_read_only_case_offers_no_moves(cases):
    body = cases.api("executive").get(f"/cases/{cases.by_name['ioanas'].pk}").json()
    assert (body["can_edit"], body["next_states"]) == (False, [])
    assert body["owner_function"] == {"id": cases.billing.pk, "name": "Billing"}
    assert body["root_causes"] == [
        {
            "problem_id": cases.wrong_bill.pk,
            "code": "billing.wrong",
            "label": "Waiting time (billing.wrong)",
            "note": "",
            "source": "callback",
        }
    ]


# The workflow over the API -----------------------------------------------------------------------


def test_a_case_moves_through_the_workflow_to_closed_with_the_version_it_was_read_at(cases):
    case = cases.by_name["bogdans"]
    maria = cases.api("manager_north")
    version = case.version

    def move(state: str, **more):
        nonlocal version
        response = maria.post(
            f"/cases/{case.pk}/state", {"state": state, "version": version, **more}
        )
        assert response.status_code == 200, response.content
        version = response.json()["version"]
        return response.json()

    assert move("in_contact")["next_states"] == ["resolved", "not_resolved"]
    coded = maria.put(
        f"/cases/{case.pk}/root-causes",
        {
            "root_causes": [cases.wrong_bill.pk],
            "notes": {str(cases.wrong_bill.pk): "Charged twice"},
            "version": version,
        },
    )
    assert coded.status_code == 200
    version = coded.json()["version"]
    assert coded.json()["root_causes"][0]["note"] == "Charged twice"
    assert coded.json()["owner_function"]["id"] == cases.billing.pk
    assert move("resolved")["next_states"] == ["closed"]
    closed = move("closed", recovery_outcome="fixed")
    assert (closed["state"], closed["recovery_outcome"]) == ("closed", "fixed")
    assert closed["next_states"] == ["in_contact"]
    assert [event["kind"] for event in closed["timeline"]] == [
        "opened",
        "routed",
        "state_changed",
        "coded",
        "linked",
        "state_changed",
        "state_changed",
    ]
    case.refresh_from_db()
    assert case.closed_at is not None
    assert case.version == version


def test_a_stale_version_is_refused_with_409_naming_version_and_nothing_changes(cases):
    case = cases.by_name["bogdans"]
    maria = cases.api("manager_north")
    maria.post(f"/cases/{case.pk}/notes", {"text": "Left a voicemail"})
    before = state_of(case)
    response = maria.post(f"/cases/{case.pk}/state", {"state": "in_contact", "version": 1})
    assert response.status_code == 409
    assert problem_fields(response) == ["version"]
    assert "has changed since you read it" in response.json()["detail"]
    assert state_of(case) == before


@pytest.mark.parametrize("target", ["resolved", "not_resolved", "closed", "new"])
def test_a_move_the_workflow_does_not_allow_is_refused_naming_state(cases, target):
    case = cases.by_name["bogdans"]
    before = state_of(case)
    response = cases.api("manager_north").post(
        f"/cases/{case.pk}/state",
        {"state": target, "version": case.version, "recovery_outcome": "fixed"},
    )
    assert response.status_code == 409
    assert problem_fields(response) == ["state"]
    assert state_of(case) == before


def test_closing_without_a_root_cause_says_so_and_changes_nothing(cases):
    case = cases.by_name["bogdans"]
    maria = cases.api("manager_north")
    for state in ("in_contact", "resolved"):
        case.refresh_from_db()
        maria.post(f"/cases/{case.pk}/state", {"state": state, "version": case.version})
    before = state_of(case)
    assert before[0] == "resolved"
    response = maria.post(
        f"/cases/{case.pk}/state",
        {"state": "closed", "version": before[1], "recovery_outcome": "fixed"},
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["root_causes"]
    assert response.json()["errors"][0]["message"] == (
        "Code at least one root cause before closing the case."
    )
    assert state_of(case) == before
    case.refresh_from_db()
    assert case.recovery_outcome == ""


def test_reopening_needs_a_reason(cases):
    case = cases.by_name["bogdans"]
    CaseProblem.objects.create(organisation=cases.world.org, case=case, problem=cases.wrong_bill)
    Case.objects.filter(pk=case.pk).update(
        state="closed", closed_at=timezone.now(), recovery_outcome="fixed"
    )
    case.refresh_from_db()
    maria = cases.api("manager_north")
    response = maria.post(
        f"/cases/{case.pk}/state", {"state": "in_contact", "version": case.version}
    )
    assert (response.status_code, problem_fields(response)) == (422, ["reason"])
    response = maria.post(
        f"/cases/{case.pk}/state",
        {"state": "in_contact", "version": case.version, "reason": "She rang again"},
    )
    assert response.status_code == 200
    assert response.json()["timeline"][-1]["kind"] == "reopened"
    assert response.json()["reopened_count"] == 1


def test_a_read_only_case_refuses_moves_with_403(cases):
    case = cases.by_name["ioanas"]
    before = state_of(case)
    response = cases.api("executive").post(
        f"/cases/{case.pk}/state", {"state": "in_contact", "version": case.version}
    )
    assert response.status_code == 403
    assert state_of(case) == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"state": "in_contact"}, ["version"]),
        ({"state": "finished", "version": 1}, ["state"]),
        ({"state": "in_contact", "version": 1, "colour": "red"}, ["colour"]),
        ({"state": "in_contact", "version": 1, "recovery_outcome": "maybe"}, ["recovery_outcome"]),
    ],
)
def test_a_malformed_move_names_its_field(cases, body, fields):
    case = cases.by_name["bogdans"]
    response = cases.api("manager_north").post(f"/cases/{case.pk}/state", body)
    assert response.status_code == 422
    assert problem_fields(response) == fields
    assert state_of(case) == ("new", case.version, 2)


def test_recording_the_outcome_keeps_the_state(cases):
    case = cases.by_name["bogdans"]
    response = cases.api("manager_north").post(
        f"/cases/{case.pk}/outcome", {"recovery_outcome": "partly", "version": case.version}
    )
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["recovery_outcome"]) == ("new", "partly")


# Root causes, reassignment, coaching --------------------------------------------------------------


def test_root_causes_name_the_problem_that_is_not_valid(cases):
    case = cases.by_name["bogdans"]
    response = cases.api("manager_north").put(
        f"/cases/{case.pk}/root-causes", {"root_causes": [cases.wrong_bill.pk, 999_999]}
    )
    assert response.status_code == 422
    assert problem_fields(response) == ["root_causes[1]"]
    assert not CaseProblem.objects.filter(case=case).exists()


def test_a_case_is_reassigned_with_a_reason_but_never_to_its_employee(cases):
    case = cases.by_name["bogdans"]
    maria = cases.api("manager_north")
    refused = maria.post(
        f"/cases/{case.pk}/reassign",
        {"owner_id": cases.user("bogdan").pk, "reason": "He knows her"},
    )
    assert (refused.status_code, problem_fields(refused)) == (422, ["owner_id"])
    response = maria.post(
        f"/cases/{case.pk}/reassign",
        {"owner_id": cases.world.analyst.pk, "reason": "I am on leave", "version": case.version},
    )
    assert response.status_code == 200
    assert response.json()["owner"]["id"] == cases.world.analyst.pk
    assert response.json()["timeline"][-1]["kind"] == "reassigned"
    assert response.json()["timeline"][-1]["text"] == "I am on leave"


def test_the_supervisor_records_coaching_and_the_employee_acknowledges_it(cases):
    anas = cases.by_name["anas"]
    body = {
        "behaviour": "Sent the customer home without checking the card's status.",
        "agreed_action": "Check the status in the system before sending anyone away.",
        "due_on": "2026-10-12",
    }
    analyst = cases.api("analyst").post(f"/cases/{anas.pk}/coaching-notes", body)
    assert analyst.status_code == 403  # not Ana's supervisor nor the case's owner
    created = cases.api("bogdan").post(f"/cases/{anas.pk}/coaching-notes", body)
    assert created.status_code == 201
    note = CoachingNote.objects.get()
    assert created.json()["employee"]["full_name"] == "Ana Frontline"
    assert created.json()["due_on"] == "2026-10-12"

    ana = cases.api("frontline")
    listed = ana.get("/coaching-notes").json()
    assert [item["id"] for item in listed["items"]] == [note.pk]
    assert cases.api("manager_south").get("/coaching-notes").json()["count"] == 0
    assert ana.get(f"/cases/{anas.pk}").status_code == 404  # the case itself stays hidden
    seen = ana.post(f"/coaching-notes/{note.pk}/acknowledge")
    assert seen.status_code == 200
    assert seen.json()["acknowledged_at"] is not None
    assert cases.api("bogdan").post(f"/coaching-notes/{note.pk}/acknowledge").status_code == 404


# Lists: filters, pages, queries ------------------------------------------------------------------


def test_the_list_filters_by_state_owner_priority_loop_unit_and_overdue(cases):
    analyst = cases.api("analyst")
    by = cases.by_name
    # A case about no employee, coded with a problem the frontline cannot fix: the outer loop.
    systemic = cases.bank.case(unit_id=cases.world.south_branch.pk)
    cases.by_name["systemic"] = systemic
    case_code_root_causes(
        scope=cases.bank.analyst, case_id=systemic.pk, problem_ids=[cases.wrong_bill.pk]
    )
    Case.objects.filter(pk=systemic.pk).update(first_contact_due=None, close_due=None)
    Case.objects.filter(pk=by["anas"].pk).update(
        first_contact_due=timezone.now() - timedelta(hours=1), priority="urgent"
    )

    def names(**query) -> set[str]:
        response = analyst.get("/cases", **query)
        assert response.status_code == 200, response.content
        return {cases.name_of(item["id"]) for item in response.json()["items"]}

    assert names(state="new") == {"bogdans", "ioanas", "anas", "systemic"}
    assert names(state="closed") == set()
    assert names(owner_id=cases.user("bogdan").pk) == {"anas"}
    assert names(priority="urgent") == {"anas"}
    assert names(loop="outer") == {"systemic"}
    assert names(loop="inner") == {"bogdans", "ioanas", "anas"}  # Ioana's is about her too
    assert names(unit_id=cases.world.south.pk) == {"ioanas", "systemic"}
    assert names(function_id=cases.billing.pk) == {"ioanas", "systemic"}
    assert names(problem_id=cases.wrong_bill.pk) == {"ioanas", "systemic"}
    assert names(overdue="true") == {"anas"}
    listed = analyst.get("/cases", overdue="true").json()["items"]
    assert listed[0]["overdue"] is True
    assert cases.api("bogdan").get("/cases", mine="true").json()["count"] == 1
    bad = analyst.get("/cases", state="finished")
    assert bad.status_code == 422
    # The problem names the query schema too (sonda.api.problems keeps its parameter name).
    assert problem_fields(bad) == ["filters.state[0]"]


def test_an_executive_lists_and_works_their_callbacks(cases):
    ioanas = cases.by_name["ioanas"]
    ExecutiveCallback.objects.create(
        organisation=cases.world.org,
        case=ioanas,
        executive=cases.world.executive,
        month=date(2026, 10, 1),
    )
    executive = cases.api("executive")
    listed = executive.get("/cases", callbacks="true").json()
    assert [(item["id"], item["can_edit"]) for item in listed["items"]] == [(ioanas.pk, True)]
    note = executive.post(f"/cases/{ioanas.pk}/notes", {"text": "I called her myself."})
    assert note.status_code == 201
    assert cases.api("analyst").get("/cases", callbacks="true").json()["count"] == 0


def test_the_list_is_paginated_in_a_bounded_number_of_queries(cases, django_assert_max_num_queries):
    for _ in range(12):
        cases.bank.case(employee_id=cases.bank.bogdan.pk)
    analyst = cases.api("analyst")
    analyst.get("/cases")  # the token's first use is recorded once
    with django_assert_max_num_queries(8):
        response = analyst.get("/cases", limit=10, offset=5)
    assert response.status_code == 200
    assert response.json()["count"] == 15
    assert len(response.json()["items"]) == 10


def test_the_workload_counts_open_cases_per_owner(cases):
    body = cases.api("analyst").get("/cases/workload").json()
    rows = {row["owner"]["id"] if row["owner"] else None: row for row in body}
    maria = cases.world.manager_north.pk
    assert rows[maria]["open"] == 1
    assert rows[maria]["by_state"] == {"new": 1}
    assert rows[maria]["by_priority"] == {"normal": 1}
    assert rows[cases.user("bogdan").pk]["open"] == 1
    assert cases.api("manager_south").get("/cases/workload").json() == [
        {
            "owner": {"id": cases.world.manager_south.pk, "name": str(cases.world.manager_south)},
            "open": 1,
            "overdue": 0,
            "by_state": {"new": 1},
            "by_priority": {"normal": 1},
        }
    ]
