"""The cases pages: the list, the callback screen and its guided call, the workload, a function's
view and an employee's coaching, for every role."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sonda.loop.models import (
    Case,
    CaseEvent,
    CaseProblem,
    CoachingNote,
    ExecutiveCallback,
    Praise,
)
from sonda.loop.sla import sla_sweep
from sonda.loop.taxonomy import problem_update
from sonda.loop.tests.case_pages_helpers import MATRIX, make_cases
from sonda.loop.workflow import case_add_note, case_code_root_causes

WHO = sorted(MATRIX)


@pytest.fixture
def cases(world):
    return make_cases(world)


def state_of(case: Case) -> tuple[str, int, int]:
    case.refresh_from_db()
    return case.state, case.version, CaseEvent.objects.filter(case=case).count()


def listed_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/loop/cases/(\d+)/"', html)}


def buttons(html: str) -> list[str]:
    return re.findall(r'<button type="submit" name="state" value="([a-z_]+)"', html)


# Who sees and changes which case -----------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(cases, client):
    response = client.get(reverse("loop:case", args=[cases.by_name["bogdans"].pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", WHO)
def test_each_role_lists_reads_and_changes_only_its_cases(cases, who):
    seen, editable = MATRIX[who]
    browser = cases.browser(who)
    html = browser.get(reverse("loop:cases")).content.decode()
    expected = {cases.by_name[name].pk for name in seen}
    if who == "outsider":
        expected = {cases.by_name["other_org"].pk}
    assert listed_ids(html) == expected
    for name, case in cases.by_name.items():
        if name == "other_org":
            continue
        page = browser.get(reverse("loop:case", args=[case.pk]))
        assert page.status_code == (200 if name in seen else 404), (who, name)
        before = state_of(case)
        posted = browser.post(reverse("loop:case_note", args=[case.pk]), {"text": "Called"})
        expected_status = 302 if name in editable else 403 if name in seen else 404
        assert posted.status_code == expected_status, (who, name)
        if name in editable:
            assert state_of(case)[1:] == (before[1] + 1, before[2] + 1)
        else:
            assert state_of(case) == before
        if name in seen and name not in editable:
            assert 'action="/loop/cases/' not in page.content.decode()  # no forms at all
            assert "read-only" in page.content.decode()


ACTIONS: dict[str, dict[str, object]] = {
    "case_state": {"state": "in_contact", "version": "1"},
    "case_root_causes": {"problems": ["0"]},
    "case_outcome": {"recovery_outcome": "fixed"},
    "case_reassign": {"owner": "0", "reason": "Leave"},
    "case_coaching": {"behaviour": "x", "agreed_action": "y"},
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize(("who", "status"), [("executive", 403), ("manager_south", 404)])
def test_every_action_of_the_call_is_refused_to_who_may_not_change_the_case(
    cases, action, who, status
):
    case = cases.by_name["bogdans"]
    data: dict[str, object] = dict(ACTIONS[action])
    for key in ("problems", "owner"):
        if key in data:  # a valid choice, so that only the access rules can refuse
            data[key] = (
                [str(cases.wrong_bill.pk)] if key == "problems" else str(cases.world.analyst.pk)
            )
    before = state_of(case)
    response = cases.browser(who).post(reverse(f"loop:{action}", args=[case.pk]), data)
    assert response.status_code == status
    assert state_of(case) == before
    assert not CaseProblem.objects.filter(case=case).exists()
    assert not CoachingNote.objects.exists()


# The callback screen -----------------------------------------------------------------------------


def test_the_callback_screen_shows_the_answers_in_the_readers_language_and_the_history(cases):
    anas = cases.by_name["anas"]
    # The same customer answered before, and that answer opened a case Bogdan also sees.
    earlier = cases.bank.case(
        {"ltr": 5, "comment": "Queue too long."},
        customer_id=anas.customer_id,
        employee_id=cases.bank.ioana.pk,  # south: Bogdan does not see the case
    )
    Case.objects.filter(pk=earlier.pk).update(owner=cases.user("bogdan"))
    bogdan = cases.user("bogdan")
    bogdan.language = "ro"
    bogdan.save(update_fields=["language"])
    html = cases.browser("bogdan").get(reverse("loop:case", args=[anas.pk])).content.decode()
    answers = html.split('id="answers-heading"', 1)[1].split("</section>", 1)[0]
    assert "Cât de probabil este să ne recomandați unui prieten?" in answers
    assert "Atitudinea personalului" in answers  # the chosen reason, in his language
    assert "She sent me home without checking." in answers  # the customer's own words
    assert "Timpul de așteptare" not in answers  # options not chosen are not shown
    history = html.split('id="history-heading"', 1)[1]
    assert listed_ids(history) == {earlier.pk}
    assert history.count("<li>") == 1  # the earlier response
    assert "Ana Frontline" in html


def test_the_call_offers_only_the_moves_the_workflow_allows(cases):
    case = cases.by_name["bogdans"]
    maria = cases.browser("manager_north")
    page = maria.get(reverse("loop:case", args=[case.pk])).content.decode()
    assert buttons(page) == ["in_contact"]
    assert f'name="version" value="{case.version}"' in page
    response = maria.post(
        reverse("loop:case_state", args=[case.pk]),
        {"state": "in_contact", "version": case.version},
    )
    assert response.status_code == 302
    page = maria.get(reverse("loop:case", args=[case.pk])).content.decode()
    assert "The case is now “In contact”." in page
    assert buttons(page) == ["resolved", "not_resolved"]


def test_closing_without_a_root_cause_shows_the_clear_message_and_changes_nothing(cases):
    case = cases.by_name["bogdans"]
    Case.objects.filter(pk=case.pk).update(
        state="resolved", first_contact_at=timezone.now(), resolved_at=timezone.now()
    )
    before = state_of(case)
    maria = cases.browser("manager_north")
    page = maria.get(reverse("loop:case", args=[case.pk])).content.decode()
    assert buttons(page) == ["closed"]
    assert 'name="recovery_outcome"' in page
    response = maria.post(
        reverse("loop:case_state", args=[case.pk]),
        {"state": "closed", "recovery_outcome": "fixed", "version": case.version},
    )
    assert response.status_code == 200
    assert "Code at least one root cause before closing the case." in response.content.decode()
    assert state_of(case) == before


def test_the_call_codes_root_causes_records_the_outcome_and_closes(cases):
    case = cases.by_name["bogdans"]
    maria = cases.browser("manager_north")

    def post(name: str, data: dict[str, object]):
        case.refresh_from_db()
        response = maria.post(
            reverse(f"loop:{name}", args=[case.pk]), {**data, "version": case.version}
        )
        assert response.status_code == 302, response.content.decode()

    post("case_state", {"state": "in_contact"})
    post("case_note", {"text": "The card was blocked by mistake; unblocked it."})
    post("case_root_causes", {"problems": [cases.wrong_bill.pk]})
    post("case_outcome", {"recovery_outcome": "fixed"})
    post("case_state", {"state": "resolved"})
    post("case_state", {"state": "closed"})
    case.refresh_from_db()
    assert (case.state, case.recovery_outcome) == ("closed", "fixed")
    assert list(CaseProblem.objects.filter(case=case).values_list("problem", flat=True)) == [
        cases.wrong_bill.pk
    ]
    page = maria.get(reverse("loop:case", args=[case.pk])).content.decode()
    assert buttons(page) == ["in_contact"]
    assert 'name="reason"' in page  # reopening asks why
    assert "The card was blocked by mistake; unblocked it." in page
    assert "from “Resolved” to “Closed”" in page


def test_the_timeline_says_who_a_missed_deadline_went_to(cases):
    anas = cases.by_name["anas"]
    now = timezone.now()
    Case.objects.filter(pk=anas.pk).update(first_contact_due=now - timedelta(hours=1))
    sla_sweep(now=now, organisation_id=cases.world.org.pk)
    html = cases.browser("bogdan").get(reverse("loop:case", args=[anas.pk])).content.decode()
    timeline = html.split('id="timeline-heading"', 1)[1].split("</section>", 1)[0]
    # Bogdan missed the first contact: it goes up to his own supervisor, Maria.
    assert (
        f"<strong>Escalated</strong> · first contact missed · level 1 · to "
        f"{cases.world.manager_north}" in timeline
    )
    assert f"<strong>Routed</strong> · to {cases.user('bogdan')}" in timeline


def test_a_stale_form_says_the_case_changed_and_writes_nothing(cases):
    case = cases.by_name["bogdans"]
    seen_version = case.version
    case_add_note(scope=cases.bank.scope(cases.world.admin), case_id=case.pk, text="Meanwhile")
    before = state_of(case)
    response = cases.browser("manager_north").post(
        reverse("loop:case_state", args=[case.pk]),
        {"state": "in_contact", "version": seen_version},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "The case changed while you were looking at it" in html
    assert "Meanwhile" in html  # the change is on the page to look at
    # The form comes back with the new version, so a second press goes through.
    assert f'name="version" value="{before[1]}"' in html
    assert state_of(case) == before


def test_a_case_is_reassigned_with_a_reason(cases):
    case = cases.by_name["bogdans"]
    maria = cases.browser("manager_north")
    page = maria.get(reverse("loop:case", args=[case.pk])).content.decode()
    reassign = page.split('id="reassign-heading"', 1)[1]
    assert f'value="{cases.user("bogdan").pk}"' not in reassign  # never the case's employee
    refused = maria.post(
        reverse("loop:case_reassign", args=[case.pk]),
        {"owner": cases.world.analyst.pk, "reason": "", "version": case.version},
    )
    assert refused.status_code == 200
    assert refused.context["reassign_form"].errors == {"reason": ["This field is required."]}
    response = maria.post(
        reverse("loop:case_reassign", args=[case.pk]),
        {"owner": cases.world.analyst.pk, "reason": "On leave next week", "version": case.version},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.owner == cases.world.analyst
    assert case.events.last().text == "On leave next week"


def test_only_the_supervisor_or_the_owner_records_coaching(cases):
    anas = cases.by_name["anas"]
    data = {"behaviour": "Sent the customer home.", "agreed_action": "Check the status first."}
    analyst_page = cases.browser("analyst").get(reverse("loop:case", args=[anas.pk]))
    assert 'id="coaching-heading"' not in analyst_page.content.decode()
    refused = cases.browser("analyst").post(reverse("loop:case_coaching", args=[anas.pk]), data)
    assert refused.status_code == 403
    bogdan = cases.browser("bogdan")
    assert (
        'id="coaching-heading"' in bogdan.get(reverse("loop:case", args=[anas.pk])).content.decode()
    )
    assert bogdan.post(reverse("loop:case_coaching", args=[anas.pk]), data).status_code == 302
    note = CoachingNote.objects.get()
    assert (note.employee, note.supervisor) == (cases.world.frontline_person, cases.user("bogdan"))


# Lists -------------------------------------------------------------------------------------------


def test_the_list_filters_and_shows_overdue_cases(cases):
    Case.objects.filter(pk=cases.by_name["anas"].pk).update(
        first_contact_due=timezone.now() - timedelta(hours=1)
    )
    analyst = cases.browser("analyst")
    overdue = analyst.get(reverse("loop:cases"), {"overdue": "on"}).content.decode()
    assert listed_ids(overdue) == {cases.by_name["anas"].pk}
    assert "overdue" in overdue
    south = analyst.get(reverse("loop:cases"), {"unit": cases.world.south.pk}).content.decode()
    assert listed_ids(south) == {cases.by_name["ioanas"].pk}
    mine = cases.browser("bogdan").get(reverse("loop:cases"), {"owner": "me"}).content.decode()
    assert listed_ids(mine) == {cases.by_name["anas"].pk}
    closed = analyst.get(reverse("loop:cases"), {"state": "closed"}).content.decode()
    assert listed_ids(closed) == set()
    assert "No cases match." in closed


def test_an_executive_finds_their_callbacks(cases):
    ExecutiveCallback.objects.create(
        organisation=cases.world.org,
        case=cases.by_name["bogdans"],
        executive=cases.world.executive,
        month=date(2026, 10, 1),
    )
    executive = cases.browser("executive")
    html = executive.get(reverse("loop:cases"), {"owner": "callbacks"}).content.decode()
    assert listed_ids(html) == {cases.by_name["bogdans"].pk}
    page = executive.get(reverse("loop:case", args=[cases.by_name["bogdans"].pk]))
    assert buttons(page.content.decode()) == ["in_contact"]


def test_the_list_is_paginated_in_a_bounded_number_of_queries(
    cases, settings, django_assert_max_num_queries
):
    settings.SONDA_PAGE_SIZE = 10
    for _ in range(12):
        cases.bank.case(employee_id=cases.bank.bogdan.pk)
    analyst = cases.browser("analyst")
    analyst.get(reverse("loop:cases"))
    with django_assert_max_num_queries(14):
        response = analyst.get(reverse("loop:cases"), {"state": "open", "page": 2})
    assert response.status_code == 200
    assert len(listed_ids(response.content.decode())) == 5
    assert "Page 2 of 2" in response.content.decode()


def test_the_workload_shows_open_cases_per_owner(cases):
    html = cases.browser("manager_north").get(reverse("loop:workload")).content.decode()
    assert str(cases.world.manager_north) in html
    assert str(cases.user("bogdan")) in html
    assert str(cases.world.manager_south) not in html  # not a case manager_north sees


def test_a_function_member_reads_its_problems_cases_grouped_by_problem(cases):
    html = cases.browser("frontline").get(reverse("loop:function_cases")).content.decode()
    assert "Billing" in html
    assert "Waiting time (billing.wrong)" in html
    assert "1 open of 1 cases" in html
    assert listed_ids(html) == {cases.by_name["ioanas"].pk}
    page = cases.browser("frontline").get(reverse("loop:case", args=[cases.by_name["ioanas"].pk]))
    assert "read-only" in page.content.decode()


# Coaching and praise -----------------------------------------------------------------------------


def test_an_employee_reads_and_acknowledges_coaching_and_sees_praise(cases):
    anas = cases.by_name["anas"]
    note = CoachingNote.objects.create(
        organisation=cases.world.org,
        case=anas,
        supervisor=cases.user("bogdan"),
        employee=cases.world.frontline_person,
        behaviour="Sent the customer home without checking.",
        agreed_action="Check the card's status before sending anyone away.",
    )
    happy = cases.bank.respond(
        {"ltr": 10, "comment": "Ana was wonderful."}, employee_id=cases.world.frontline_person.pk
    )
    Praise.objects.create(
        organisation=cases.world.org, response=happy, employee=cases.world.frontline_person
    )
    ana = cases.browser("frontline")
    html = ana.get(reverse("loop:coaching")).content.decode()
    assert "Check the card&#x27;s status before sending anyone away." in html
    assert "Ana was wonderful." in html
    assert listed_ids(html) == set()  # the case about her stays hidden
    response = ana.post(reverse("loop:coaching_acknowledge", args=[note.pk]))
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.acknowledged_at is not None
    other = cases.browser("manager_south").post(
        reverse("loop:coaching_acknowledge", args=[note.pk])
    )
    assert other.status_code == 404


def test_the_navigation_offers_cases_or_coaching_by_role(cases):
    def nav(who: str) -> str:
        html = cases.browser(who).get(reverse("home")).content.decode()
        return html.split('<ul class="nav-list">', 1)[1].split("</ul>", 1)[0]

    assert ">Cases<" in nav("manager_north")
    assert ">Coaching<" not in nav("manager_north")
    # Ana works in a function: she has its cases to read, and her coaching.
    assert ">Cases<" in nav("frontline")
    assert ">Coaching<" in nav("frontline")
    cases.billing.members.clear()
    assert ">Cases<" not in nav("frontline")
    # Bogdan is frontline too, but a case is routed to him.
    assert ">Cases<" in nav("bogdan")


def test_a_retired_problem_stays_coded_when_the_call_saves_its_root_causes(cases):
    case = cases.by_name["bogdans"]
    waiting = cases.bank.problem("waiting")
    case_code_root_causes(
        scope=cases.world.scope(cases.world.analyst), case_id=case.pk, problem_ids=[waiting.pk]
    )
    problem_update(
        scope=cases.world.scope(cases.world.analyst), problem_id=waiting.pk, is_active=False
    )
    maria = cases.browser("manager_north")
    page = maria.get(reverse("loop:case", args=[case.pk])).content.decode()
    assert re.search(rf'name="problems" value="{waiting.pk}"[^>]*checked', page)
    assert "(retired)" in page
    case.refresh_from_db()
    response = maria.post(
        reverse("loop:case_root_causes", args=[case.pk]),
        {"problems": [waiting.pk, cases.wrong_bill.pk], "version": case.version},
    )
    assert response.status_code == 302
    assert set(CaseProblem.objects.filter(case=case).values_list("problem", flat=True)) == {
        waiting.pk,
        cases.wrong_bill.pk,
    }
    # Another case never had it: the page does not offer it there.
    other = maria.get(reverse("loop:case", args=[cases.by_name["anas"].pk])).content.decode()
    assert not re.search(rf'name="problems" value="{waiting.pk}"', other)
    assert re.search(rf'name="problems" value="{cases.wrong_bill.pk}"', other)
