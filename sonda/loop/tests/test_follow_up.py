"""The follow-up survey after a case closes ("did we fix it?"): chosen in the loop settings (API and
page), sent once when a case closes to a customer who may be written to, its answer linked to the
case by the sweep without opening a case, and shown on the case page and in the API."""

from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sonda.accounts.models import AuditEvent
from sonda.api.testing import CALLERS, Api, problem_fields
from sonda.core.errors import Conflict, ValidationFailed
from sonda.customers.models import Customer
from sonda.customers.services import consent_set
from sonda.customers.tests.factories import CustomerFactory, CustomerIdentityFactory
from sonda.listening.delivery import messages_deliver_due
from sonda.listening.models import ContactRule, Invitation, Message
from sonda.listening.services import invitation_create
from sonda.listening.tasks import wake_delivery
from sonda.loop.emails import notification_text
from sonda.loop.follow_up import follow_up_entry_words
from sonda.loop.models import (
    Case,
    CaseEvent,
    LoopSettings,
    Notification,
    NotificationKind,
    Praise,
    ResponseEvaluation,
)
from sonda.loop.sweeps import loop_sweep
from sonda.loop.tests.case_pages_helpers import make_cases
from sonda.loop.tests.loop_helpers import OPENED, Bank, make_bank
from sonda.loop.workflow import (
    case_close,
    case_code_root_causes,
    case_reopen,
    case_transition,
)
from sonda.surveys.models import Response, Survey
from sonda.surveys.services import survey_create, survey_update
from sonda.surveys.specs import spec_from_json
from sonda.surveys.tests.factories import make_published_survey
from sonda.surveys.tests.respondent import Respondent

EMAIL = "ana.popescu@mail.example"
PHONE = "+40722000111"
CONTEXT = {
    "touchpoint": "counter",
    "channel": "branch",
    "journey": "mortgage",
    "stage": "signing",
    "language": "pl",
}
# "Did we fix it?": the recommendation asked again, under the key the detractor rule looks at,
# so that a follow-up answer would open a case if it were an ordinary response.
FIXED = {
    "key": "ltr",
    "kind": "nps",
    "required": True,
    "page": 1,
    "text": {
        "en": "Now that we called you, how likely are you to recommend us?",
        "ro": "Acum că v-am sunat, cât de probabil este să ne recomandați?",
        "pl": "Teraz, gdy zadzwoniliśmy, jak bardzo prawdopodobne jest, że nas polecisz?",
    },
}
SETTINGS = "/loop-settings"
HQ = ("admin", "analyst")


@pytest.fixture
def bank(world) -> Bank:
    return make_bank(world)


@pytest.fixture
def follow_up(bank) -> Survey:
    return make_published_survey(
        bank.analyst, program=bank.survey.program, name="Did we fix it?", questions=[FIXED]
    )


@pytest.fixture
def chosen(bank, follow_up) -> Survey:
    """The follow-up survey chosen in the settings."""
    LoopSettings.objects.update_or_create(
        organisation=bank.world.org, defaults={"follow_up_survey": follow_up}
    )
    return follow_up


def customer(bank, *, email: str | None = EMAIL, phone: str | None = None, **fields) -> Customer:
    person = CustomerFactory(organisation=bank.world.org, **fields)
    if email:
        CustomerIdentityFactory(customer=person, kind="email", value=email)
    if phone:
        CustomerIdentityFactory(customer=person, kind="phone", value=phone)
    return person


def ready_to_close(bank, who: Customer | None, *, at: datetime | None = None) -> Case:
    """Bogdan's case about a Polish response at the mortgage counter, called back and resolved."""
    case = bank.case(
        customer_id=who.pk if who is not None else None,
        employee_id=bank.bogdan.pk,
        unit_id=bank.world.north_branch.pk,
        **CONTEXT,
    )
    when = at - timedelta(hours=1) if at is not None else None
    waiting = bank.problem("waiting")
    case_transition(scope=bank.analyst, case_id=case.pk, state="in_contact", now=when)
    case_code_root_causes(scope=bank.analyst, case_id=case.pk, problem_ids=[waiting.pk], now=when)
    case_transition(scope=bank.analyst, case_id=case.pk, state="resolved", now=when)
    case.refresh_from_db()
    return case


def close(bank, case: Case, *, at: datetime | None = None) -> Case:
    return case_close(scope=bank.analyst, case_id=case.pk, recovery_outcome="fixed", now=at)


def follow_up_entries(case: Case) -> list[dict[str, Any]]:
    return [
        event.data
        for event in CaseEvent.objects.filter(case=case, kind="follow_up").order_by("at", "id")
    ]


def nothing_sent(case: Case) -> None:
    case.refresh_from_db()
    assert case.follow_up_invitation_id is None
    assert Invitation.objects.count() == 0
    assert Message.objects.count() == 0


CLOSED_AT = OPENED + timedelta(hours=3)  # 13:00 UTC, 16:00 in Bucharest: not quiet


# Sending -----------------------------------------------------------------------------------------


def test_without_a_follow_up_survey_closing_a_case_sends_nothing_and_says_nothing(bank, follow_up):
    case = ready_to_close(bank, customer(bank), at=CLOSED_AT)

    close(bank, case, at=CLOSED_AT)

    nothing_sent(case)
    assert follow_up_entries(case) == []


def test_closing_invites_the_customer_once_with_the_context_of_their_response(bank, chosen):
    ana = customer(bank, phone=PHONE)
    case = ready_to_close(bank, ana, at=CLOSED_AT)
    version = case.version

    closed = close(bank, case, at=CLOSED_AT)

    invitation = Invitation.objects.get()
    assert closed.follow_up_invitation_id == invitation.pk
    assert closed.version == version + 1
    assert Case.objects.get(pk=case.pk).follow_up_invitation_id == invitation.pk
    assert (
        invitation.organisation_id,
        invitation.survey_id,
        invitation.customer_id,
        invitation.unit_id,
        invitation.employee_id,
        invitation.touchpoint,
        invitation.channel,
        invitation.journey,
        invitation.stage,
        invitation.language,
    ) == (
        bank.world.org.pk,
        chosen.pk,
        ana.pk,
        bank.world.north_branch.pk,
        bank.bogdan.pk,
        "counter",
        "branch",
        "mortgage",
        "signing",
        "pl",
    )
    assert (invitation.status, invitation.delivery, invitation.send_at) == (
        "created",
        "email",
        CLOSED_AT,
    )
    assert invitation.expires_at == CLOSED_AT + timedelta(days=14)
    # Email is preferred to SMS; the message waits in the delivery queue like any other.
    assert list(
        Message.objects.values_list(
            "invitation_id", "kind", "channel", "to_address", "language", "status"
        )
    ) == [(invitation.pk, "invitation", "email", EMAIL, "pl", "queued")]
    assert Message.objects.get().next_attempt_at == CLOSED_AT
    assert follow_up_entries(case) == [
        {"outcome": "sent", "invitation": invitation.pk, "survey": chosen.pk, "delivery": "email"}
    ]
    last = CaseEvent.objects.filter(case=case).order_by("-at", "-id").values_list("kind")[:1]
    assert list(last) == [("follow_up",)]


def test_the_follow_up_goes_out_by_the_normal_delivery_and_wakes_it_at_commit(
    bank, chosen, mailbox, django_capture_on_commit_callbacks
):
    case = ready_to_close(bank, customer(bank))

    with django_capture_on_commit_callbacks() as callbacks:
        close(bank, case)
    sent = messages_deliver_due(now=timezone.now())

    assert wake_delivery in callbacks
    assert sent == 1
    invitation = Invitation.objects.get()
    assert invitation.status == "sent"
    [mail] = mailbox.messages
    assert str(make_header(decode_header(mail["To"]))) == EMAIL
    text = next(part for part in mail.walk() if part.get_content_type() == "text/plain")
    link = reverse("respond:survey", kwargs={"token": invitation.token})
    assert link in text.get_payload(decode=True).decode()


def test_a_customer_with_no_email_is_asked_by_sms_in_the_morning_not_at_night(bank, chosen):
    ana = customer(bank, email=None, phone=PHONE, time_zone="Europe/Bucharest")
    night = datetime(2026, 10, 5, 21, 30, tzinfo=UTC)  # 00:30 in Bucharest
    case = ready_to_close(bank, ana, at=night)

    close(bank, case, at=night)

    morning = datetime(2026, 10, 6, 6, 0, tzinfo=UTC)  # 09:00 in Bucharest
    invitation = Invitation.objects.get()
    assert (invitation.delivery, invitation.send_at) == ("sms", morning)
    assert list(Message.objects.values_list("channel", "to_address", "next_attempt_at")) == [
        ("sms", PHONE, morning)
    ]


def test_a_customer_who_unsubscribed_from_email_is_asked_by_sms(bank, chosen):
    ana = customer(bank, phone=PHONE)
    consent_set(customer=ana, channel="email", granted=False, source="unsubscribe")
    case = ready_to_close(bank, ana, at=CLOSED_AT)

    close(bank, case, at=CLOSED_AT)

    assert list(Message.objects.values_list("channel", "to_address")) == [("sms", PHONE)]


def test_the_contact_policy_does_not_hold_the_follow_up_back(bank, chosen):
    ana = customer(bank)
    ContactRule.objects.create(
        organisation=bank.world.org,
        name="One survey a month",
        kind="max_in_window",
        max_invitations=1,
        window_days=30,
    )
    earlier = invitation_create(
        organisation=bank.world.org, survey=bank.survey, customer_id=ana.pk, now=CLOSED_AT
    )
    case = ready_to_close(bank, ana, at=CLOSED_AT)

    close(bank, case, at=CLOSED_AT)

    case.refresh_from_db()
    assert case.follow_up_invitation_id is not None
    assert case.follow_up_invitation_id != earlier.pk
    assert Message.objects.count() == 1


def _anonymous(bank) -> Customer | None:
    return None


def _do_not_contact(bank) -> Customer | None:
    return customer(bank, phone=PHONE, do_not_contact=True)


def _erased(bank) -> Customer | None:
    return customer(bank, erased_at=OPENED)


def _opted_out(bank) -> Customer | None:
    ana = customer(bank, phone=PHONE)
    consent_set(customer=ana, channel="email", granted=False, source="unsubscribe")
    consent_set(customer=ana, channel="sms", granted=False, source="STOP")
    return ana


def _no_address(bank) -> Customer | None:
    return customer(bank, email=None)


@pytest.mark.parametrize(
    ("who", "reason", "words"),
    [
        (
            _anonymous,
            "no_customer",
            "not sent: the response is anonymous: there is no customer to ask",
        ),
        (_do_not_contact, "do_not_contact", "not sent: the customer is not to be contacted"),
        (_erased, "do_not_contact", "not sent: the customer is not to be contacted"),
        (_opted_out, "no_consent", "not sent: the customer withdrew consent to email and SMS"),
        (_no_address, "no_address", "not sent: no email address or phone number on record"),
    ],
)
def test_a_customer_who_cannot_be_written_to_gets_no_follow_up_and_the_timeline_says_why(
    bank, chosen, who, reason, words
):
    case = ready_to_close(bank, who(bank), at=CLOSED_AT)

    closed = close(bank, case, at=CLOSED_AT)

    assert closed.state == "closed"
    nothing_sent(case)
    [entry] = follow_up_entries(case)
    assert entry == {"outcome": "not_sent", "reason": reason, "survey": chosen.pk}
    assert follow_up_entry_words(entry) == words


def test_an_archived_follow_up_survey_sends_nothing_and_the_timeline_says_so(bank, chosen):
    survey_update(scope=bank.analyst, survey_id=chosen.pk, is_archived=True)
    case = ready_to_close(bank, customer(bank), at=CLOSED_AT)

    close(bank, case, at=CLOSED_AT)

    nothing_sent(case)
    assert follow_up_entries(case) == [
        {"outcome": "not_sent", "reason": "survey_unavailable", "survey": chosen.pk}
    ]


def test_a_case_reopened_and_closed_again_sends_no_second_follow_up(bank, chosen):
    case = ready_to_close(bank, customer(bank), at=CLOSED_AT)
    close(bank, case, at=CLOSED_AT)
    later = CLOSED_AT + timedelta(days=1)

    case_reopen(scope=bank.analyst, case_id=case.pk, reason="The fee came back", now=later)
    case_transition(scope=bank.analyst, case_id=case.pk, state="resolved", now=later)
    close(bank, case, at=later + timedelta(hours=1))

    assert Invitation.objects.count() == 1
    assert Message.objects.count() == 1
    assert [entry["outcome"] for entry in follow_up_entries(case)] == ["sent"]
    case.refresh_from_db()
    assert (case.state, case.reopened_count) == ("closed", 1)
    assert case.follow_up_invitation_id == Invitation.objects.get().pk


def test_a_retried_close_is_refused_and_sends_nothing_more(bank, chosen):
    case = ready_to_close(bank, customer(bank), at=CLOSED_AT)
    close(bank, case, at=CLOSED_AT)
    case.refresh_from_db()
    before = (case.version, CaseEvent.objects.filter(case=case).count())

    with pytest.raises(Conflict):
        close(bank, case, at=CLOSED_AT)

    case.refresh_from_db()
    assert (case.version, CaseEvent.objects.filter(case=case).count()) == before
    assert (Invitation.objects.count(), Message.objects.count()) == (1, 1)


def test_a_closing_that_fails_leaves_no_follow_up_behind(bank, chosen):
    case = bank.case(customer_id=customer(bank).pk)
    case_transition(scope=bank.analyst, case_id=case.pk, state="in_contact", now=CLOSED_AT)
    case_transition(scope=bank.analyst, case_id=case.pk, state="resolved", now=CLOSED_AT)

    with pytest.raises(ValidationFailed, match="root cause"):
        close(bank, case, at=CLOSED_AT)

    nothing_sent(case)
    assert follow_up_entries(case) == []


# The answer --------------------------------------------------------------------------------------


def answer(invitation: Invitation, score: str) -> Response:
    browser = Respondent()
    browser.open(reverse("respond:survey", kwargs={"token": invitation.token}))
    assert browser.answer({"ltr": score}).status_code == 303
    return Response.objects.get(invitation=invitation)


def test_the_answer_is_linked_to_the_case_and_opens_no_case_however_low(bank, chosen):
    case = ready_to_close(bank, customer(bank))
    close(bank, case)
    cases = Case.objects.count()

    response = answer(Invitation.objects.get(), "2")
    result = loop_sweep()

    assert result.cases == []
    assert Case.objects.count() == cases
    case.refresh_from_db()
    assert case.follow_up_response_id == response.pk
    assert case.state == "closed"
    assert follow_up_entries(case)[-1] == {
        "outcome": "answered",
        "response": response.pk,
        "measure": "nps",
        "value": 2.0,
    }
    assert ResponseEvaluation.objects.filter(response=response).exists()
    # A second sweep finds nothing left to do.
    version = case.version
    assert loop_sweep().evaluated == 0
    case.refresh_from_db()
    assert (case.version, len(follow_up_entries(case))) == (version, 2)


def test_the_timeline_quotes_the_answer_and_a_promoter_praises_nobody(bank, chosen):
    case = ready_to_close(bank, customer(bank))
    close(bank, case)

    answer(Invitation.objects.get(), "8")
    loop_sweep()

    entry = follow_up_entries(case)[-1]
    assert follow_up_entry_words(entry) == "answered: 8 (NPS)"
    assert Praise.objects.count() == 0


def test_the_owner_hears_what_the_customer_answered_and_nobody_else_does(bank, chosen):
    case = ready_to_close(bank, customer(bank))
    close(bank, case)
    case.refresh_from_db()
    assert case.owner_id is not None
    assert not Notification.objects.filter(kind=NotificationKind.FOLLOW_UP).exists()

    answer(Invitation.objects.get(), "3")
    loop_sweep()
    loop_sweep()  # a second sweep tells nobody twice

    (told,) = Notification.objects.filter(kind=NotificationKind.FOLLOW_UP)
    assert (told.recipient_id, told.case_id) == (case.owner_id, case.pk)
    assert notification_text(told) == (
        f"The customer of case {case.pk} answered the follow-up survey: 3 (NPS)."
    )


def test_an_ordinary_response_of_the_follow_up_survey_is_evaluated_as_usual(bank, chosen):
    ana = customer(bank)
    invitation = invitation_create(organisation=bank.world.org, survey=chosen, customer_id=ana.pk)
    bank.rule()

    response = answer(invitation, "1")
    result = loop_sweep()

    assert result.cases == [Case.objects.get(response=response).pk]


# The settings API --------------------------------------------------------------------------------


@pytest.fixture
def api(world) -> Api:
    return Api(world)


def settings_of(org) -> tuple[int, int | None]:
    row = LoopSettings.objects.filter(organisation=org).first()
    return (row.executive_callbacks_per_month, row.follow_up_survey_id) if row else (5, None)


@pytest.mark.parametrize("who", CALLERS)
def test_admins_and_analysts_read_the_loop_settings_and_nobody_else(api, world, follow_up, who):
    LoopSettings.objects.create(
        organisation=world.org, executive_callbacks_per_month=3, follow_up_survey=follow_up
    )

    response = api.as_(who).get(SETTINGS)

    expected = {"anonymous": 401, "admin": 200, "analyst": 200, "outsider": 200}
    assert response.status_code == expected.get(who, 403)
    if who in HQ:
        assert response.json() == {
            "executive_callbacks_per_month": 3,
            "follow_up_survey_id": follow_up.pk,
            "follow_up_survey": {"id": follow_up.pk, "name": "Did we fix it?"},
        }
    if who == "outsider":  # their own organisation's settings, the defaults
        assert response.json() == {
            "executive_callbacks_per_month": 5,
            "follow_up_survey_id": None,
            "follow_up_survey": None,
        }


@pytest.mark.parametrize("who", CALLERS)
def test_admins_and_analysts_choose_the_follow_up_survey_and_nobody_else(
    api, world, follow_up, who
):
    body = {"executive_callbacks_per_month": 7, "follow_up_survey_id": follow_up.pk}

    response = api.as_(who).put(SETTINGS, body)

    if who in HQ:
        assert response.status_code == 200
        assert response.json()["follow_up_survey_id"] == follow_up.pk
        assert settings_of(world.org) == (7, follow_up.pk)
        assert list(
            AuditEvent.objects.filter(action="loop.settings_updated").values_list(
                "actor_id", "detail"
            )
        ) == [
            (
                world.users_by_role[who].pk,
                {"executive_callbacks_per_month": 7, "follow_up_survey_id": follow_up.pk},
            )
        ]
        return
    # The other organisation's admin names a survey that is not theirs: no such survey.
    expected = {"anonymous": 401, "outsider": 422}
    assert response.status_code == expected.get(who, 403)
    if who == "outsider":
        assert problem_fields(response) == ["follow_up_survey_id"]
    assert settings_of(world.org) == (5, None)
    assert settings_of(world.other_org) == (5, None)
    assert not AuditEvent.objects.filter(action="loop.settings_updated").exists()


def _other_organisations(world, bank) -> int:
    return make_published_survey(world.scope(world.outsider, world.other_org)).pk


def _draft(world, bank) -> int:
    return survey_create(
        scope=bank.analyst,
        program_id=bank.survey.program_id,
        name="Still a draft",
        languages=["en", "ro", "pl"],
        default_language="en",
        questions=[spec_from_json(FIXED, index=0)],
    ).pk


def _archived(world, bank) -> int:
    survey = make_published_survey(bank.analyst, program=bank.survey.program, name="Old one")
    survey_update(scope=bank.analyst, survey_id=survey.pk, is_archived=True)
    return survey.pk


@pytest.mark.parametrize(
    ("survey", "message"),
    [
        (_other_organisations, "no survey with id"),
        (_draft, "the survey has no published version"),
        (_archived, "the survey is archived"),
    ],
)
def test_the_follow_up_survey_must_be_a_published_unarchived_survey_of_the_organisation(
    api, world, bank, follow_up, survey, message
):
    LoopSettings.objects.create(organisation=world.org, follow_up_survey=follow_up)
    survey_id = survey(world, bank)

    response = api.as_("analyst").put(
        SETTINGS, {"executive_callbacks_per_month": 9, "follow_up_survey_id": survey_id}
    )

    assert response.status_code == 422
    assert problem_fields(response) == ["follow_up_survey_id"]
    assert message in response.json()["errors"][0]["message"]
    assert settings_of(world.org) == (5, follow_up.pk)
    assert not AuditEvent.objects.filter(action="loop.settings_updated").exists()


@pytest.mark.parametrize("callbacks", [101, -1])
def test_callbacks_are_from_0_to_100(api, world, follow_up, callbacks):
    response = api.as_("admin").put(
        SETTINGS, {"executive_callbacks_per_month": callbacks, "follow_up_survey_id": follow_up.pk}
    )

    assert response.status_code == 422
    assert problem_fields(response) == ["executive_callbacks_per_month"]
    assert settings_of(world.org) == (5, None)


def test_no_follow_up_is_chosen_with_null_and_none_is_sent_afterwards(api, world, bank, chosen):
    response = api.as_("analyst").put(
        SETTINGS, {"executive_callbacks_per_month": 0, "follow_up_survey_id": None}
    )
    case = ready_to_close(bank, customer(bank), at=CLOSED_AT)
    close(bank, case, at=CLOSED_AT)

    assert response.status_code == 200
    assert response.json() == {
        "executive_callbacks_per_month": 0,
        "follow_up_survey_id": None,
        "follow_up_survey": None,
    }
    nothing_sent(case)


# The settings page -------------------------------------------------------------------------------

PAGE_STATUS = {
    "admin": 200,
    "analyst": 200,
    "executive": 403,
    "manager_north": 403,
    "manager_south": 403,
    "frontline": 403,
    "outsider": 200,
}


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(world, client):
    url = reverse("loop:settings")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


@pytest.mark.parametrize("who", sorted(PAGE_STATUS))
def test_who_opens_the_loop_settings_page(world, follow_up, who):
    LoopSettings.objects.create(organisation=world.org, follow_up_survey=follow_up)

    response = browser(world.users_by_role[who]).get(reverse("loop:settings"))

    assert response.status_code == PAGE_STATUS[who]
    content = response.content.decode()
    if who in HQ:
        assert f'<option value="{follow_up.pk}" selected>Did we fix it?</option>' in content
    if who == "outsider":
        assert "Did we fix it?" not in content


@pytest.mark.parametrize("who", ["executive", "manager_north", "frontline"])
def test_only_admins_and_analysts_change_the_settings_on_the_page(world, follow_up, who):
    response = browser(world.users_by_role[who]).post(
        reverse("loop:settings"),
        {"executive_callbacks_per_month": "2", "follow_up_survey": str(follow_up.pk)},
    )

    assert response.status_code == 403
    assert settings_of(world.org) == (5, None)


def test_an_analyst_chooses_the_follow_up_survey_on_the_page(world, follow_up):
    client = browser(world.analyst)

    response = client.post(
        reverse("loop:settings"),
        {"executive_callbacks_per_month": "4", "follow_up_survey": str(follow_up.pk)},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("loop:settings"), 302)]
    assert "The loop settings are saved." in response.content.decode()
    assert settings_of(world.org) == (4, follow_up.pk)


def test_the_page_shows_a_refused_value_by_its_field_and_changes_nothing(world, bank, follow_up):
    LoopSettings.objects.create(organisation=world.org, follow_up_survey=follow_up)
    response = browser(world.analyst).post(
        reverse("loop:settings"),
        {"executive_callbacks_per_month": "101", "follow_up_survey": ""},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"executive_callbacks_per_month": ["a whole number from 0 to 100"]}
    assert settings_of(world.org) == (5, follow_up.pk)


def test_the_page_offers_only_published_unarchived_surveys(world, bank, follow_up):
    draft = _draft(world, bank)
    archived = _archived(world, bank)

    content = browser(world.admin).get(reverse("loop:settings")).content.decode()

    assert f'<option value="{follow_up.pk}">Did we fix it?</option>' in content
    assert f'<option value="{bank.survey.pk}">' in content
    assert f'value="{draft}"' not in content
    assert f'value="{archived}"' not in content


@pytest.mark.parametrize(("who", "linked"), [("analyst", True), ("executive", False)])
def test_the_configuration_navigation_links_the_settings_for_those_who_change_them(
    world, who, linked
):
    content = browser(world.users_by_role[who]).get(reverse("loop:problems")).content.decode()
    assert (f'href="{reverse("loop:settings")}"' in content) is linked


# The case page and the case API ------------------------------------------------------------------


def follow_up_section(content: str) -> str:
    return content.split('id="follow-up-heading"', 1)[1].split("</section>", 1)[0]


def test_the_case_page_shows_the_follow_up_sent_then_answered_with_its_response(world):
    cases = make_cases(world)
    follow_up = make_published_survey(
        cases.bank.analyst, program=cases.bank.survey.program, name="Fixed?", questions=[FIXED]
    )
    LoopSettings.objects.create(organisation=world.org, follow_up_survey=follow_up)
    case = cases.by_name["ioanas"]
    Case.objects.filter(pk=case.pk).update(customer=customer(cases.bank))
    scope = cases.bank.analyst
    case_transition(scope=scope, case_id=case.pk, state="in_contact")
    case_transition(scope=scope, case_id=case.pk, state="resolved")
    close(cases.bank, case)
    url = reverse("loop:case", args=[case.pk])

    sent = follow_up_section(browser(world.analyst).get(url).content.decode())
    assert "Sent by email when the case closed" in sent
    assert "Not answered yet." in sent

    response = answer(Invitation.objects.get(), "8")
    loop_sweep()

    page = browser(world.analyst).get(url).content.decode()
    answered = follow_up_section(page)
    assert "<strong>8 (NPS)</strong>" in answered
    link = f'href="{reverse("responses:detail", args=[response.pk])}"'
    assert link in answered
    assert "Follow-up survey</strong> · answered: 8 (NPS)" in page
    # Ana reads the case as a member of Billing, not the customer's answers: no link for her.
    theirs = follow_up_section(browser(world.frontline).get(url).content.decode())
    assert "<strong>8 (NPS)</strong>" in theirs
    assert link not in theirs


def test_the_case_page_says_why_no_follow_up_was_sent(bank, chosen):
    case = ready_to_close(bank, customer(bank, do_not_contact=True), at=CLOSED_AT)
    close(bank, case, at=CLOSED_AT)

    content = browser(bank.world.analyst).get(reverse("loop:case", args=[case.pk]))

    assert "Not sent: the customer is not to be contacted." in follow_up_section(
        content.content.decode()
    )


def test_a_case_without_a_follow_up_shows_no_follow_up_section(bank, follow_up):
    case = ready_to_close(bank, customer(bank), at=CLOSED_AT)
    close(bank, case, at=CLOSED_AT)

    content = browser(bank.world.analyst).get(reverse("loop:case", args=[case.pk]))

    assert 'id="follow-up-heading"' not in content.content.decode()


def test_the_case_api_names_the_follow_up_invitation_and_its_answer(api, bank, chosen):
    case = ready_to_close(bank, customer(bank))
    before = api.as_("analyst").get(f"/cases/{case.pk}").json()
    close(bank, case)
    invitation = Invitation.objects.get()
    response = answer(invitation, "9")
    loop_sweep()

    after = api.as_("analyst").get(f"/cases/{case.pk}").json()

    assert (before["follow_up_invitation_id"], before["follow_up_response_id"]) == (None, None)
    assert (after["follow_up_invitation_id"], after["follow_up_response_id"]) == (
        invitation.pk,
        response.pk,
    )
    assert after["timeline"][-1]["kind"] == "follow_up"
    assert after["timeline"][-1]["data"] == {
        "outcome": "answered",
        "response": response.pk,
        "measure": "nps",
        "value": 9.0,
    }
