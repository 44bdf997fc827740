import hashlib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from sonda.accounts.access import scope_for
from sonda.accounts.models import Membership, Organisation, Role, User
from sonda.customers.identities import identity_normalise
from sonda.customers.models import Consent, Customer, CustomerIdentity
from sonda.demo.generator import (
    DEMO_INSURER_SLUG,
    DEMO_LOGINS,
    DEMO_ORGANISATION_SLUG,
    DEMO_PASSWORD,
    REFERENCE_DATE,
    SCALES,
    demo_generate,
)
from sonda.org.models import Person, Unit
from sonda.org.selectors import unit_list
from sonda.surveys.models import Answer, Response

TINY = SCALES["tiny"]


class _Rollback(Exception):
    pass


def fingerprint(slug: str) -> str:
    """A checksum of an organisation's generated rows by their natural keys (never database ids)."""
    organisation = Organisation.objects.get(slug=slug)
    units = Unit.objects.filter(organisation=organisation).select_related(
        "parent", "unit_type", "manager"
    )
    code_of = {u.pk: u.code for u in units}
    people = Person.objects.filter(organisation=organisation).select_related(
        "unit", "supervisor", "user"
    )
    identities: dict[int, list[str]] = {}
    for identity in CustomerIdentity.objects.filter(organisation=organisation):
        identities.setdefault(identity.customer_id, []).append(str(identity))
    consents: dict[int, list[str]] = {}
    for consent in Consent.objects.filter(organisation=organisation):
        consents.setdefault(consent.customer_id, []).append(f"{consent.channel}={consent.granted}")
    rows = {
        "organisation": [
            organisation.name,
            organisation.default_language,
            organisation.time_zone,
            organisation.created_at.isoformat(),
        ],
        "units": sorted(
            [
                u.code,
                u.name,
                u.unit_type.code,
                u.parent.code if u.parent else None,
                u.depth,
                [code_of[int(part)] for part in u.path.strip(".").split(".")],
                u.manager.employee_number if u.manager else None,
                u.created_at.isoformat(),
            ]
            for u in units
        ),
        "people": sorted(
            [
                p.employee_number,
                p.full_name,
                p.email,
                p.job_title,
                p.unit.code,
                p.supervisor.employee_number if p.supervisor else None,
                p.user.email if p.user else None,
                p.created_at.isoformat(),
            ]
            for p in people
        ),
        "customers": [
            [
                c.full_name,
                c.preferred_language,
                c.time_zone,
                c.attributes,
                c.do_not_contact,
                c.created_at.isoformat(),
                sorted(identities.get(c.pk, [])),
                sorted(consents.get(c.pk, [])),
            ]
            for c in Customer.objects.filter(organisation=organisation).order_by("pk")
        ],
        "memberships": sorted(
            [m.user.email, m.role, m.unit.code if m.unit else None]
            for m in Membership.objects.filter(organisation=organisation).select_related(
                "user", "unit"
            )
        ),
    }
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


def generated_fingerprints(seed: int) -> tuple[str, str]:
    """Generate the tiny demo, take its checksums, and roll it all back."""
    try:
        with transaction.atomic():
            demo_generate(seed=seed, scale=TINY)
            prints = (fingerprint(DEMO_ORGANISATION_SLUG), fingerprint(DEMO_INSURER_SLUG))
            raise _Rollback
    except _Rollback:
        pass
    assert not Organisation.objects.exists()
    return prints


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_demo_and_another_seed_another():
    first = generated_fingerprints(7)
    assert generated_fingerprints(7) == first
    other = generated_fingerprints(8)
    assert other[0] != first[0]
    assert other[1] != first[1]


@pytest.mark.django_db
def test_the_tiny_demo_has_a_few_units_about_twenty_people_and_two_hundred_customers():
    result = demo_generate(seed=1, scale=TINY)
    bank = Organisation.objects.get(slug=DEMO_ORGANISATION_SLUG)
    insurer = Organisation.objects.get(slug=DEMO_INSURER_SLUG)
    assert result.created
    assert Unit.objects.filter(organisation=bank).count() == 13
    assert Person.objects.filter(organisation=bank).count() == 23
    assert Customer.objects.filter(organisation=bank).count() == 200
    assert Unit.objects.filter(organisation=insurer).count() == 10
    assert Person.objects.filter(organisation=insurer).count() == 20
    assert Customer.objects.filter(organisation=insurer).count() == 20
    assert result.organisations[DEMO_ORGANISATION_SLUG]["customers"] == 200
    assert result.organisations[DEMO_ORGANISATION_SLUG]["identities"] == (
        CustomerIdentity.objects.filter(organisation=bank).count()
    )
    assert sorted(
        Unit.objects.filter(organisation=bank, depth__lte=1).values_list("code", flat=True)
    ) == ["HQ", "HQ-COMPL", "HQ-CX", "PL", "RO"]
    # Every bank customer is known to the CRM, under one id each.
    assert CustomerIdentity.objects.filter(organisation=bank, source="crm").count() == 200


@pytest.mark.django_db
def test_every_employee_but_the_head_reports_to_someone_in_the_same_organisation_without_cycles():
    demo_generate(seed=3, scale=TINY)
    for slug in (DEMO_ORGANISATION_SLUG, DEMO_INSURER_SLUG):
        people = {p.pk: p for p in Person.objects.filter(organisation__slug=slug)}
        heads = [p for p in people.values() if p.supervisor_id is None]
        assert len(heads) == 1
        for person in people.values():
            seen = {person.pk}
            current = person
            while current.supervisor_id is not None:
                assert current.supervisor_id in people  # the same organisation
                assert current.supervisor_id not in seen
                seen.add(current.supervisor_id)
                current = people[current.supervisor_id]
            assert current.pk == heads[0].pk


@pytest.mark.django_db
def test_supervisors_follow_the_line_from_advisor_to_country_head_and_units_have_managers():
    demo_generate(seed=3, scale=TINY)
    banker = Person.objects.get(user__email="frontline@demo.sonda.dev")
    chain = []
    current: Person | None = banker
    while current is not None:
        chain.append(current.job_title)
        current = current.supervisor
    assert chain == [
        "Personal Banker",
        "Branch Manager",
        "Region Head",
        "Country Head Romania",
        "Chief Executive Officer",
    ]
    agent = Person.objects.filter(
        organisation__slug=DEMO_ORGANISATION_SLUG, job_title="Call Centre Agent"
    ).first()
    assert agent is not None
    assert agent.supervisor is not None
    assert agent.supervisor.job_title == "Team Leader"
    assert agent.supervisor.supervisor is not None
    assert agent.supervisor.supervisor.job_title == "Call Centre Manager"
    assert not Unit.objects.filter(organisation__slug=DEMO_ORGANISATION_SLUG, manager=None).exists()
    branch = Unit.objects.get(organisation__slug=DEMO_ORGANISATION_SLUG, code="RO-BI-01")
    assert branch.manager == banker.supervisor


@pytest.mark.django_db
def test_identities_are_stored_as_identity_resolution_normalises_them():
    demo_generate(seed=5, scale=TINY)
    phones = CustomerIdentity.objects.filter(kind="phone")
    emails = CustomerIdentity.objects.filter(kind="email")
    assert phones.exists()
    assert emails.exists()
    for identity in phones:
        assert identity.value[:3] in {"+40", "+48"}
        assert identity_normalise(kind="phone", value=identity.value).value == identity.value
    for identity in emails:
        assert identity_normalise(kind="email", value=identity.value).value == identity.value
        assert identity.value.endswith(".example")


@pytest.mark.django_db
def test_customers_speak_the_language_of_their_country_or_english():
    demo_generate(seed=5, scale=TINY)
    bank = Customer.objects.filter(organisation__slug=DEMO_ORGANISATION_SLUG)
    for customer in bank:
        expected = {"RO": {"ro", "en"}, "PL": {"pl", "en"}}[customer.attributes["country"]]
        assert customer.preferred_language in expected
        assert customer.attributes["tier"] in {"mass", "affluent", "private", "business"}
        assert set(customer.attributes["products"]) <= {
            "current_account",
            "card",
            "mortgage",
            "loan",
            "savings",
        }
        assert customer.created_at == REFERENCE_DATE


@pytest.mark.django_db
def test_the_demo_logins_sign_in_with_the_roles_they_describe():
    demo_generate(seed=1, scale=TINY)
    bank = Organisation.objects.get(slug=DEMO_ORGANISATION_SLUG)
    insurer = Organisation.objects.get(slug=DEMO_INSURER_SLUG)
    roles = {}
    for email, password, _ in DEMO_LOGINS:
        user = User.objects.get(email=email)
        assert password == DEMO_PASSWORD
        assert user.check_password(password)
        scope = scope_for(user, bank)
        assert scope is not None
        roles[email] = (scope.role, scope.unit_path)
    region = Unit.objects.get(organisation=bank, code="RO-BI")
    branch = Unit.objects.get(organisation=bank, code="RO-BI-01")
    team = Unit.objects.get(organisation=bank, code="RO-CC-T1")
    assert roles == {
        "admin@demo.sonda.dev": (Role.ADMIN, None),
        "analyst@demo.sonda.dev": (Role.ANALYST, None),
        "executive@demo.sonda.dev": (Role.EXECUTIVE, None),
        "region.manager@demo.sonda.dev": (Role.MANAGER, region.path),
        "branch.manager@demo.sonda.dev": (Role.MANAGER, branch.path),
        "team.leader@demo.sonda.dev": (Role.MANAGER, team.path),
        "frontline@demo.sonda.dev": (Role.FRONTLINE, None),
    }
    admin = User.objects.get(email="admin@demo.sonda.dev")
    insurer_scope = scope_for(admin, insurer)
    assert insurer_scope is not None
    assert insurer_scope.role == Role.ADMIN
    region_manager = scope_for(User.objects.get(email="region.manager@demo.sonda.dev"), bank)
    assert region_manager is not None
    assert {u.code for u in unit_list(scope=region_manager)} == {"RO-BI", "RO-BI-01"}
    linked = Person.objects.filter(organisation=bank, user__isnull=False)
    assert sorted(p.user.email for p in linked if p.user) == [
        "analyst@demo.sonda.dev",
        "branch.manager@demo.sonda.dev",
        "executive@demo.sonda.dev",
        "frontline@demo.sonda.dev",
        "region.manager@demo.sonda.dev",
        "team.leader@demo.sonda.dev",
    ]


@pytest.mark.django_db
def test_a_second_run_prints_the_logins_and_changes_nothing():
    first = StringIO()
    call_command("demo", "--scale", "tiny", "--seed", "4", stdout=first)
    counts = (Organisation.objects.count(), Customer.objects.count(), User.objects.count())
    fingerprints = (fingerprint(DEMO_ORGANISATION_SLUG), fingerprint(DEMO_INSURER_SLUG))
    second = StringIO()
    call_command("demo", "--scale", "tiny", "--seed", "9", stdout=second)
    assert (Organisation.objects.count(), Customer.objects.count(), User.objects.count()) == counts
    assert (fingerprint(DEMO_ORGANISATION_SLUG), fingerprint(DEMO_INSURER_SLUG)) == fingerprints
    assert "Created carpathia-bank: units 13, people 23, customers 200" in first.getvalue()
    assert "exists already; nothing changed" in second.getvalue()
    for email, _, role in DEMO_LOGINS:
        assert email in second.getvalue()
        assert role in second.getvalue()
    assert DEMO_PASSWORD in second.getvalue()


@pytest.mark.django_db
def test_the_scale_comes_from_the_environment_when_not_given(monkeypatch):
    monkeypatch.setenv("SONDA_DEMO_SCALE", "tiny")
    call_command("demo", stdout=StringIO())
    assert Customer.objects.filter(organisation__slug=DEMO_ORGANISATION_SLUG).count() == 200


@pytest.mark.django_db
def test_an_unknown_scale_in_the_environment_is_an_error_naming_it(monkeypatch):
    monkeypatch.setenv("SONDA_DEMO_SCALE", "huge")
    with pytest.raises(CommandError, match="SONDA_DEMO_SCALE: unknown scale 'huge'"):
        call_command("demo", stdout=StringIO())
    assert not Organisation.objects.exists()


@pytest.mark.django_db
def test_an_unrelated_organisation_holding_the_insurer_slug_stops_the_demo_untouched():
    Organisation.objects.create(name="Someone else", slug=DEMO_INSURER_SLUG)
    with pytest.raises(CommandError, match=DEMO_INSURER_SLUG):
        call_command("demo", "--scale", "tiny", stdout=StringIO())
    assert list(Organisation.objects.values_list("name", flat=True)) == ["Someone else"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_the_full_demo_bank_has_forty_branches_about_400_people_and_20000_customers():
    if connection.vendor != "sqlite":
        # PostgreSQL checks each of the 1.3 million answers' foreign keys at commit: minutes.
        pytest.skip("the full demo is sized for the embedded SQLite setup; other scales run here")
    result = demo_generate(seed=2026, scale=SCALES["full"])
    bank = Organisation.objects.get(slug=DEMO_ORGANISATION_SLUG)
    counts = result.organisations[DEMO_ORGANISATION_SLUG]
    assert Unit.objects.filter(organisation=bank, unit_type__code="branch").count() == 40
    assert Unit.objects.filter(organisation=bank, unit_type__code="team").count() in range(8, 13)
    assert Person.objects.filter(organisation=bank).count() == counts["people"]
    assert 380 <= counts["people"] <= 480
    assert Customer.objects.filter(organisation=bank).count() == 20_000
    do_not_contact = Customer.objects.filter(organisation=bank, do_not_contact=True).count()
    assert 200 <= do_not_contact <= 600  # about 2%
    withdrawn = Consent.objects.filter(organisation=bank, granted=False).count()
    assert 0 < withdrawn < Consent.objects.filter(organisation=bank, granted=True).count()
    # Eighteen months of feedback: about 200,000 responses, each with a handful of answers.
    assert result.feedback is not None
    assert result.feedback.responses == 200_000
    assert Response.objects.filter(organisation=bank, source="demo").count() == 200_000
    assert Answer.objects.filter(response__source="demo").count() == result.feedback.answers
    assert 1_100_000 <= result.feedback.answers <= 1_500_000
