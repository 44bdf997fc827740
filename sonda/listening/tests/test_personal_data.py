"""A customer's listening data in the personal-data registry: export, erasure, merge.

Events, the decisions taken on them, invitations and their messages.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from sonda.accounts.models import AuditEvent
from sonda.customers.identities import identity_normalise
from sonda.customers.models import Customer
from sonda.customers.services import customer_create, customer_merge
from sonda.listening.models import (
    ContactRule,
    Event,
    Invitation,
    InvitationDecision,
    InvitationStatus,
    Message,
    MessageKind,
    MessageStatus,
)
from sonda.listening.selectors import invitation_by_token, invitation_is_expired
from sonda.listening.services import invitation_create, invitation_mark
from sonda.listening.tests.listening_factories import (
    ContactRuleFactory,
    EventFactory,
    TriggerRuleFactory,
)
from sonda.privacy.services import customer_data_export, customer_erase
from sonda.surveys.tests.factories import make_published_survey

ANA_EMAIL = "ana.popescu@mail.example"


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


def invite(world, survey, customer, *, sent: datetime, status: InvitationStatus | None = None):
    invitation = invitation_create(
        organisation=world.org,
        survey=survey,
        customer_id=customer.pk,
        language="ro",
        unit_id=world.north_branch.pk,
        touchpoint="Branch cash desk",
        channel="email",
        journey="mortgage",
        stage="application",
        now=sent,
    )
    invitation_mark(invitation_id=invitation.pk, status=InvitationStatus.SENT, now=sent)
    if status is not None:
        invitation_mark(invitation_id=invitation.pk, status=status, now=sent + timedelta(hours=1))
    return Invitation.objects.get(pk=invitation.pk)


def test_the_export_lists_the_customer_s_invitations_without_their_tokens(world, survey, ana):
    sent = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    invite(world, survey, ana, sent=sent, status=InvitationStatus.COMPLETED)
    invite(world, survey, make_customer(world, "Ion", "ion@mail.example"), sent=sent)
    document = customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk)
    exported = document["listening"]["invitations"]
    created_at = Invitation.objects.get(customer=ana).created_at.isoformat()
    assert exported == [
        {
            "survey": "After a branch visit",
            "channel": "email",
            "status": "completed",
            "language": "ro",
            "touchpoint": "Branch cash desk",
            "journey": "mortgage",
            "stage": "application",
            "created_at": created_at,
            "expires_at": "2026-03-16T09:00:00+00:00",
            "opened_at": None,
            "started_at": None,
            "completed_at": "2026-03-02T10:00:00+00:00",
        }
    ]
    token = Invitation.objects.get(customer=ana).token
    assert token not in repr(document)


def test_erasure_detaches_every_invitation_and_expires_the_open_ones(world, survey, ana):
    now = timezone.now()
    open_one = invite(world, survey, ana, sent=now - timedelta(hours=2))
    started = invite(
        world, survey, ana, sent=now - timedelta(hours=1), status=InvitationStatus.STARTED
    )
    done = invite(
        world, survey, ana, sent=now - timedelta(days=3), status=InvitationStatus.COMPLETED
    )
    others = invite(world, survey, make_customer(world, "Ion", "ion@mail.example"), sent=now)
    result = customer_erase(scope=world.scope(world.admin), kind="email", value=ANA_EMAIL)
    assert result.rows["listening"] == 3
    assert Invitation.objects.count() == 4
    assert not Invitation.objects.filter(customer=ana).exists()
    for invitation in (open_one, started):
        found = invitation_by_token(invitation.token)
        assert found is not None
        assert found.status == InvitationStatus.EXPIRED
        assert invitation_is_expired(found)
    finished = Invitation.objects.get(pk=done.pk)
    assert (finished.status, finished.expires_at, finished.customer_id) == (
        InvitationStatus.COMPLETED,
        done.expires_at,
        None,
    )
    untouched = Invitation.objects.get(pk=others.pk)
    assert (untouched.status, untouched.expires_at) == (others.status, others.expires_at)
    assert untouched.customer_id == others.customer_id


def test_a_merge_moves_invitations_to_the_surviving_profile(world, survey, ana):
    duplicate = make_customer(world, "Ana P.", "ana.p@work.example")
    moved = invite(world, survey, duplicate, sent=timezone.now())
    kept = invite(world, survey, ana, sent=timezone.now())
    customer_merge(scope=world.scope(world.analyst), surviving_id=ana.pk, merged_id=duplicate.pk)
    assert sorted(Invitation.objects.filter(customer=ana).values_list("pk", flat=True)) == sorted(
        [moved.pk, kept.pk]
    )
    assert not Invitation.objects.filter(customer=duplicate).exists()
    event = AuditEvent.objects.get(action="customer.merged")
    assert event.detail["rows_repointed"]["listening"] == 1


VISITED = datetime(2026, 3, 2, 8, 40, tzinfo=UTC)


def visit(world, customer: Customer, *, at: datetime = VISITED, **attributes) -> Event:
    return EventFactory(
        organisation=world.org,
        customer=customer,
        occurred_at=at,
        unit=world.north_branch,
        touchpoint="Branch cash desk",
        attributes=attributes or {"product": "mortgage", "note": "asked about the rate"},
    )


def decide(world, event: Event, *, rule, invitation=None, contact_rule=None) -> InvitationDecision:
    invited = invitation is not None
    return InvitationDecision.objects.create(
        organisation=world.org,
        event=event,
        rule=rule,
        customer=event.customer,
        outcome="invited" if invited else "skipped",
        reason="" if invited else "contact_policy",
        contact_rule=contact_rule,
        detail="" if invited else "1 invitation within 30 days; the rule allows 1",
        invitation=invitation,
    )


def message(world, invitation: Invitation, *, to: str, status: str, kind=MessageKind.INVITATION):
    sent = invitation.sent_at or invitation.created_at
    return Message.objects.create(
        organisation=world.org,
        invitation=invitation,
        kind=kind,
        channel="email",
        to_address=to,
        language="ro",
        status=status,
        idempotency_key=f"test-{invitation.pk}-{kind}",
        next_attempt_at=sent or timezone.now(),
        sent_at=sent if status != MessageStatus.QUEUED else None,
        last_error="550 5.1.1 <ana.popescu@mail.example> unknown" if status == "bounced" else "",
    )


@pytest.fixture
def rule(survey):
    return TriggerRuleFactory(survey=survey, name="After a branch visit")


@pytest.fixture
def monthly(world) -> ContactRule:
    return ContactRuleFactory(organisation=world.org, name="At most 1 invitation in 30 days")


def test_the_export_lists_the_customer_s_events_decisions_and_messages(
    world, survey, ana, rule, monthly
):
    invited = visit(world, ana)
    skipped = visit(world, ana, at=VISITED + timedelta(days=3), product="card")
    invitation = invite(world, survey, ana, sent=VISITED + timedelta(minutes=5))
    Invitation.objects.filter(pk=invitation.pk).update(
        event=invited, rule=rule, sent_at=VISITED + timedelta(minutes=5)
    )
    invitation.refresh_from_db()
    decide(world, invited, rule=rule, invitation=invitation)
    decide(world, skipped, rule=rule, contact_rule=monthly)
    message(world, invitation, to=ANA_EMAIL, status=MessageStatus.SENT)
    ion = make_customer(world, "Ion", "ion@mail.example")
    decide(world, visit(world, ion), rule=rule)

    exported = customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk)["listening"]
    assert exported["events"] == [
        {
            "event_type": "branch_visit",
            "occurred_at": "2026-03-02T08:40:00+00:00",
            "channel": "branch",
            "unit": world.north_branch.name,
            "touchpoint": "Branch cash desk",
            "journey": "",
            "stage": "",
            "attributes": {"product": "mortgage", "note": "asked about the rate"},
            "source": "test",
        },
        {
            "event_type": "branch_visit",
            "occurred_at": "2026-03-05T08:40:00+00:00",
            "channel": "branch",
            "unit": world.north_branch.name,
            "touchpoint": "Branch cash desk",
            "journey": "",
            "stage": "",
            "attributes": {"product": "card"},
            "source": "test",
        },
    ]
    decisions = [{k: v for k, v in d.items() if k != "decided_at"} for d in exported["decisions"]]
    assert decisions == [
        {
            "event_type": "branch_visit",
            "occurred_at": "2026-03-02T08:40:00+00:00",
            "rule": "After a branch visit",
            "outcome": "invited",
            "reason": "",
            "contact_rule": "",
            "detail": "",
        },
        {
            "event_type": "branch_visit",
            "occurred_at": "2026-03-05T08:40:00+00:00",
            "rule": "After a branch visit",
            "outcome": "skipped",
            "reason": "contact_policy",
            "contact_rule": "At most 1 invitation in 30 days",
            "detail": "1 invitation within 30 days; the rule allows 1",
        },
    ]
    [sent] = exported["messages"]
    assert {k: sent[k] for k in ("survey", "kind", "channel", "to_address", "status")} == {
        "survey": "After a branch visit",
        "kind": "invitation",
        "channel": "email",
        "to_address": ANA_EMAIL,
        "status": "sent",
    }
    assert sent["sent_at"] == "2026-03-02T08:45:00+00:00"
    assert len(exported["invitations"]) == 1
    assert "ion@mail.example" not in repr(exported)


def test_erasure_keeps_events_and_decisions_for_the_counts_but_not_what_was_personal(
    world, survey, ana, rule, monthly
):
    now = timezone.now()
    event = visit(world, ana, at=now - timedelta(days=2))
    other = visit(world, ana, at=now - timedelta(days=1))
    bounced = invite(world, survey, ana, sent=now - timedelta(days=2))
    Invitation.objects.filter(pk=bounced.pk).update(event=event, rule=rule)
    decide(world, event, rule=rule, invitation=bounced)
    decide(world, other, rule=rule, contact_rule=monthly)
    message(world, bounced, to=ANA_EMAIL, status=MessageStatus.BOUNCED)
    waiting = invite(world, survey, ana, sent=now)
    queued = message(world, waiting, to=ANA_EMAIL, status=MessageStatus.QUEUED)
    ion = make_customer(world, "Ion", "ion@mail.example")
    ions_event = visit(world, ion, product="loan")
    ions_invitation = invite(world, survey, ion, sent=now)
    ions_message = message(world, ions_invitation, to="ion@mail.example", status="sent")

    result = customer_erase(scope=world.scope(world.admin), kind="email", value=ANA_EMAIL)

    # 2 messages, 2 events, 2 decisions, 2 invitations
    assert result.rows["listening"] == 8
    assert Event.objects.count() == 3
    assert list(Event.objects.filter(customer=ana).values_list("attributes", flat=True)) == [
        {},
        {},
    ]
    decisions = InvitationDecision.objects.filter(customer=ana)
    assert sorted(decisions.values_list("outcome", "reason", "contact_rule", "detail")) == [
        ("invited", "", None, ""),
        ("skipped", "contact_policy", monthly.pk, ""),
    ]
    erased = Message.objects.filter(invitation__in=[bounced, waiting])
    assert sorted(erased.values_list("to_address", "last_error", "status")) == [
        ("", "", "bounced"),
        ("", "", "cancelled"),
    ]
    assert Message.objects.get(pk=queued.pk).status == MessageStatus.CANCELLED
    assert Event.objects.get(pk=ions_event.pk).attributes == {"product": "loan"}
    assert Message.objects.get(pk=ions_message.pk).to_address == "ion@mail.example"
    assert not Invitation.objects.filter(customer=ana).exists()
    assert Invitation.objects.get(pk=waiting.pk).status == InvitationStatus.EXPIRED


def test_an_erased_customer_s_export_holds_nothing_personal_of_listening(world, survey, ana, rule):
    event = visit(world, ana)
    invitation = invite(world, survey, ana, sent=VISITED)
    decide(world, event, rule=rule, invitation=invitation)
    message(world, invitation, to=ANA_EMAIL, status=MessageStatus.SENT)
    customer_erase(scope=world.scope(world.admin), kind="email", value=ANA_EMAIL)
    assert not Message.objects.filter(to_address=ANA_EMAIL).exists()
    assert not Event.objects.exclude(attributes={}).exists()


def test_a_merge_moves_events_and_decisions_to_the_surviving_profile(world, survey, ana, rule):
    duplicate = make_customer(world, "Ana P.", "ana.p@work.example")
    moved = visit(world, duplicate)
    kept = visit(world, ana)
    decide(world, moved, rule=rule)
    decide(world, kept, rule=rule)
    invitation = invite(world, survey, duplicate, sent=VISITED)
    message(world, invitation, to="ana.p@work.example", status=MessageStatus.SENT)

    customer_merge(scope=world.scope(world.analyst), surviving_id=ana.pk, merged_id=duplicate.pk)

    assert set(Event.objects.filter(customer=ana).values_list("pk", flat=True)) == {
        moved.pk,
        kept.pk,
    }
    assert InvitationDecision.objects.filter(customer=ana).count() == 2
    assert not InvitationDecision.objects.filter(customer=duplicate).exists()
    audit = AuditEvent.objects.get(action="customer.merged")
    # an event, its decision and the invitation
    assert audit.detail["rows_repointed"]["listening"] == 3
    exported = customer_data_export(scope=world.scope(world.admin), customer_id=ana.pk)
    assert [m["to_address"] for m in exported["listening"]["messages"]] == ["ana.p@work.example"]
