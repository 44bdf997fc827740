"""Events in through the service: each item checked and answered by its index, valid ones stored
even when others fail, identities resolved to profiles, retries harmless, new events decided."""

from datetime import UTC, datetime, timedelta

import pytest

from sonda.core.errors import PermissionDenied, ValidationFailed
from sonda.customers.models import Customer, CustomerIdentity
from sonda.customers.tests.factories import CustomerFactory
from sonda.listening.ingest import MAX_ITEMS, events_ingest
from sonda.listening.models import Event, Invitation, InvitationDecision
from sonda.listening.tests.listening_factories import TriggerRuleFactory, make_customer
from sonda.org.tests.factories import PersonFactory
from sonda.surveys.tests.factories import make_published_survey

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 14:00 in Bucharest: no quiet hours


def visit(n: int = 1, **changes):
    return {
        "type": "branch_visit",
        "occurred_at": "2026-03-10T13:55:00+02:00",
        "customer": {"email": f"Client{n}@Mail.example"},
        "unit_code": "N1",
        "channel": "branch",
        "touchpoint": "cash_desk",
        "attributes": {"product": "mortgage", "amount": 1200},
        "source": "core",
        "source_id": f"visit-{n}",
        **changes,
    }


def ingest(world, items, who="analyst"):
    return events_ingest(scope=world.scope(getattr(world, who)), items=items, now=NOW)


@pytest.fixture
def survey(world):
    return make_published_survey(world.scope(world.analyst))


def test_a_visit_is_stored_with_its_context_and_a_new_customer_profile(world):
    result = ingest(world, [visit(1)])
    (item,) = result.items
    assert (item.index, item.status) == (0, "created")
    stored = Event.objects.get(pk=item.event_id)
    assert stored.event_type == "branch_visit"
    assert stored.occurred_at == datetime(2026, 3, 10, 11, 55, tzinfo=UTC)
    assert stored.unit_id == world.north_branch.pk
    assert stored.attributes == {"product": "mortgage", "amount": 1200}
    assert stored.dedupe_key == "src:core:visit-1"
    identity = CustomerIdentity.objects.get(customer=stored.customer)
    assert (identity.kind, identity.value) == ("email", "client1@mail.example")


def test_an_identity_already_known_reaches_the_same_profile(world):
    ana = make_customer(world.org, email="client1@mail.example")
    result = ingest(world, [visit(1), visit(2, customer={"phone": "+40 721 234 567"})])
    events = Event.objects.in_bulk([item.event_id for item in result.items])
    assert events[result.items[0].event_id].customer_id == ana.pk
    phone = CustomerIdentity.objects.get(kind="phone")
    assert phone.value == "+40721234567"
    assert Customer.objects.filter(organisation=world.org).count() == 2


def test_a_merged_customer_id_records_the_event_on_the_surviving_profile(world):
    survivor = CustomerFactory(organisation=world.org)
    merged = CustomerFactory(organisation=world.org, merged_into=survivor)
    result = ingest(world, [visit(1, customer=None, customer_id=merged.pk)])
    assert Event.objects.get(pk=result.items[0].event_id).customer_id == survivor.pk


def test_an_employee_is_named_by_email_and_a_unit_by_id(world):
    person = PersonFactory(organisation=world.org, unit=world.north_branch, email="Ion@B.example")
    item = visit(1, unit_code=None, unit_id=world.south.pk, employee_email="ion@b.example")
    result = ingest(world, [item])
    stored = Event.objects.get(pk=result.items[0].event_id)
    assert (stored.unit_id, stored.employee_id) == (world.south.pk, person.pk)


def test_each_invalid_item_is_named_by_its_index_and_field_and_the_valid_ones_are_stored(world):
    items = [
        visit(1),
        visit(2, occurred_at="2026-03-10 13:55"),
        visit(3, type=""),
        visit(4, customer={"email": "not-an-address"}),
        visit(5, unit_code="NOPE"),
        visit(6, attributes={"basket": {"nested": True}}),
        visit(7, occurred_at="2026-03-12T12:00:00Z"),
        visit(8, colour="blue"),
        visit(9, channel="x" * 33),
        "not an object",
        visit(11, customer_id=10**9, customer=None),
        visit(12),
    ]
    result = ingest(world, items)
    assert [item.status for item in result.items] == ["created"] + ["invalid"] * 10 + ["created"]
    assert [(e.index, e.field, e.message) for e in result.errors] == [
        (1, "occurred_at", "needs its offset from UTC (e.g. +02:00 or Z)"),
        (2, "type", "is required"),
        (3, "customer.email", "'not-an-address' is not an email address"),
        (4, "unit_code", "no unit with code 'NOPE'"),
        (5, "attributes.basket", "must be a plain value or a list of them"),
        (6, "occurred_at", "is more than a day in the future"),
        (7, "colour", "unknown field"),
        (8, "channel", "is longer than 32 characters"),
        (9, "item", "must be an object"),
        (10, "customer_id", f"no customer with id {10**9}"),
    ]
    assert Event.objects.count() == 2


def test_attributes_over_8_kb_are_refused(world):
    result = ingest(world, [visit(1, attributes={"note": "x" * 9000})])
    assert [error.field for error in result.errors] == ["attributes"]


def test_another_organisations_unit_is_unknown_here(world):
    from sonda.org.tests.factories import UnitFactory

    stranger = UnitFactory(organisation=world.other_org, code="X1")
    result = ingest(world, [visit(1, unit_code=None, unit_id=stranger.pk)])
    assert [error.field for error in result.errors] == ["unit_id"]


def test_a_retried_event_is_a_duplicate_answering_the_first_events_id(world):
    first = ingest(world, [visit(1)]).items[0]
    again = ingest(world, [visit(1, attributes={"changed": True})]).items[0]
    assert (again.status, again.event_id) == ("duplicate", first.event_id)
    assert Event.objects.count() == 1


def test_the_idempotency_key_wins_over_the_source_id(world):
    ingest(world, [visit(1, idempotency_key="call-77")])
    again = ingest(world, [visit(2, idempotency_key="call-77")]).items[0]
    assert again.status == "duplicate"
    assert Event.objects.get().dedupe_key == "key:call-77"


def test_without_a_key_the_same_content_is_the_same_event(world):
    plain = visit(1, source=None, source_id=None)
    result = ingest(world, [plain, dict(plain), {**plain, "touchpoint": "atm"}])
    assert [item.status for item in result.items] == ["created", "duplicate", "created"]
    assert result.items[1].event_id == result.items[0].event_id
    assert Event.objects.get(pk=result.items[0].event_id).dedupe_key.startswith("sha256:")


def test_a_very_long_key_still_fits_the_column(world):
    result = ingest(world, [visit(1, idempotency_key="k" * 200)])
    assert len(Event.objects.get(pk=result.items[0].event_id).dedupe_key) <= 200


def test_new_events_are_decided_and_their_invitations_answered(world, survey, settings):
    settings.SONDA_PUBLIC_URL = "https://feedback.banca.example"
    TriggerRuleFactory(survey=survey, event_types=["branch_visit"], delivery_order=["link"])
    result = ingest(world, [visit(1), visit(2, type="call")])
    invited, other = result.items
    (invitation,) = invited.invitations
    stored = Invitation.objects.get(pk=invitation["id"])
    assert invitation == {
        "id": stored.pk,
        "survey_id": survey.pk,
        "delivery": "link",
        "url": f"https://feedback.banca.example/s/{stored.token}/",
    }
    assert other.invitations == []
    assert InvitationDecision.objects.filter(event_id=other.event_id, reason="no_rule").exists()


def test_a_replayed_event_decides_nothing_twice(world, survey):
    TriggerRuleFactory(survey=survey, delivery_order=["email"])
    first = ingest(world, [visit(1), visit(2)])
    again = ingest(world, [visit(1), visit(2)])
    assert first.invitations == 2
    assert again.invitations == 0
    assert [item.status for item in again.items] == ["duplicate", "duplicate"]
    assert Invitation.objects.count() == 2
    assert InvitationDecision.objects.count() == 2


def test_batches_are_stored_in_chunks_and_indexes_stay_the_callers(world):
    items = [visit(n) for n in range(5)] + [visit(5, type="")]
    result = events_ingest(scope=world.scope(world.analyst), items=items, now=NOW, chunk_size=2)
    assert [item.index for item in result.items] == list(range(6))
    assert [error.index for error in result.errors] == [5]
    assert result.created == 5


def test_more_than_10000_items_are_refused_as_a_whole(world):
    with pytest.raises(ValidationFailed) as refused:
        ingest(world, [visit(1)] * (MAX_ITEMS + 1))
    assert refused.value.errors[0].field == "items"
    assert Event.objects.count() == 0


@pytest.mark.parametrize("who", ["executive", "manager_north", "frontline"])
def test_only_those_who_configure_listening_may_send_events(world, who):
    with pytest.raises(PermissionDenied):
        ingest(world, [visit(1)], who=who)


def test_an_event_may_name_no_customer(world):
    result = ingest(world, [visit(1, customer=None, occurred_at="2026-03-09T10:00:00Z")])
    assert Event.objects.get(pk=result.items[0].event_id).customer_id is None


def test_an_event_just_within_a_day_ahead_is_accepted(world):
    soon = (NOW + timedelta(hours=23)).isoformat()
    assert ingest(world, [visit(1, occurred_at=soon)]).created == 1
