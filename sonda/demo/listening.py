"""The demo's listening: trigger rules, the contact policy, quiet hours, and the interactions behind
the responses.

Every response to the bank's transactional surveys that came by email or SMS answers an
invitation, and every invitation was asked for by an interaction event: a branch visit or a
completed call, with the same customer, unit, employee, channel and touchpoint. Most invitations
were never answered (the response rates land between a fifth and a third, by channel and
segment), a few bounced, and many events were not turned into invitations at all: outside the
sample, a unit's quota full, the contact policy, do-not-contact, withdrawn consent. Each event
has its decision row, so "why wasn't this customer invited?" has an answer in the demo too. The
unanswered invitations and the skipped events cover the last six months (see UNANSWERED_SINCE).

Like the responses, the rows are drawn from the seeded generator and written with plain
multi-row inserts (COPY on PostgreSQL), a chunk at a time.
"""

import json
import random
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, models

from sonda.accounts.access import scope_for
from sonda.accounts.models import User
from sonda.demo.bank import ADMIN_LOGIN
from sonda.demo.feedback_writing import bulk_insert, indexes_deferred, timestamp_adapter
from sonda.demo.questionnaires import BRANCH_SURVEY, CALL_SURVEY
from sonda.demo.specs import REFERENCE_DATE, OrganisationSpec
from sonda.demo.writing import DemoOrganisation
from sonda.listening.models import (
    ContactRule,
    ContactRuleKind,
    DecisionOutcome,
    Event,
    Invitation,
    InvitationDecision,
    InvitationStatus,
    ListeningSettings,
    Message,
    MessageKind,
    MessageStatus,
    RuleStatus,
    SkipReason,
    Timing,
    TriggerRule,
)
from sonda.surveys import services as surveys
from sonda.surveys.definition import QuestionSpec
from sonda.surveys.models import Response, ResponseSource, ResponseStatus, Survey

CHUNK = 20_000
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(9, 0)
BANK_TIME_ZONE, INSURER_TIME_ZONE = "Europe/Bucharest", "Europe/Warsaw"
BANK_ZONE = ZoneInfo(BANK_TIME_ZONE)
VALID_DAYS = 14
# Response rates by the invitation's channel, shifted by the customer's segment.
RESPONSE_RATE = {"email": 0.31, "sms": 0.24}
TIER_SHIFT = {"business": -0.05, "affluent": 0.03, "private": 0.04}
# Invitations that never arrived: the address bounced or the operator refused the SMS.
UNDELIVERED_SHARE = 0.03
OPENED_SHARE = 0.18  # of the unanswered invitations, opened and left
# The unanswered invitations and the skipped events are drawn for the last six months only: over
# the whole period they would be two million rows at full scale, too slow to write for a demo.
# Response rates and skips are to be read over these months; before them only answered
# invitations are on record.
UNANSWERED_SINCE = REFERENCE_DATE - timedelta(days=183)
# Events that were decided into no invitation, for each answered invitation, by reason.
SKIPS = {
    "branch": {
        SkipReason.SAMPLED_OUT: 0.9,
        SkipReason.CONTACT_POLICY: 0.45,
        SkipReason.QUOTA_FULL: 0.06,
        SkipReason.DO_NOT_CONTACT: 0.03,
        SkipReason.NO_CONSENT: 0.03,
    },
    "call": {
        SkipReason.SAMPLED_OUT: 0.35,
        SkipReason.CONTACT_POLICY: 0.4,
        SkipReason.DO_NOT_CONTACT: 0.03,
        SkipReason.NO_CONSENT: 0.03,
    },
}
SETTINGS = {
    # setting → (event type, source system, source id prefix)
    "branch": ("branch_visit", "core_banking", "VIS"),
    "call": ("call_completed", "contact_centre", "CALL"),
}


@dataclass(frozen=True)
class DemoRules:
    branch: TriggerRule
    call: TriggerRule
    mortgage: TriggerRule
    monthly: ContactRule
    business: ContactRule
    yearly: ContactRule


@dataclass(frozen=True)
class ListeningSummary:
    trigger_rules: int
    contact_rules: int
    events: int
    invitations: int
    answered: int
    messages: int
    decisions: int
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class Interaction:
    """One event, before it is written: what happened, and what became of it."""

    occurred: datetime
    setting: str
    customer: int  # index into the bank's customers
    unit_id: int | None
    employee_id: int | None
    touchpoint: str
    channel: str
    journey: str
    stage: str
    # Invited: the invitation's story. Skipped: the reason, the contact rule, the sentence.
    sent: datetime | None = None
    status: str = ""
    opened: datetime | None = None
    started: datetime | None = None
    completed: datetime | None = None
    response_id: int | None = None
    undelivered: bool = False
    reason: str = ""
    contact_rule: ContactRule | None = None
    detail: str = ""


def _policy_create(organisation: Any, *, polish: bool) -> tuple[ContactRule, ...]:
    names = (
        (
            "Najwyżej 1 zaproszenie w 30 dni",
            "Klienci biznesowi: 90 dni po odpowiedzi",
            "Najwyżej 4 zaproszenia w roku",
        )
        if polish
        else (
            "At most 1 invitation in 30 days",
            "Business customers: 90 days after a response",
            "At most 4 invitations a year",
        )
    )
    at = REFERENCE_DATE - timedelta(days=540)
    common = {"organisation": organisation, "created_at": at, "updated_at": at}
    return (
        ContactRule.objects.create(
            name=names[0],
            kind=ContactRuleKind.MAX_IN_WINDOW,
            max_invitations=1,
            window_days=30,
            **common,
        ),
        ContactRule.objects.create(
            name=names[1],
            kind=ContactRuleKind.GAP_AFTER_RESPONSE,
            gap_days=90,
            customer_conditions=[{"attribute": "tier", "op": "eq", "value": "business"}],
            **common,
        ),
        ContactRule.objects.create(
            name=names[2],
            kind=ContactRuleKind.MAX_IN_WINDOW,
            max_invitations=4,
            window_days=365,
            **common,
        ),
    )


def _settings_create(organisation: Any, time_zone: str) -> None:
    at = REFERENCE_DATE - timedelta(days=540)
    ListeningSettings.objects.create(
        organisation=organisation,
        time_zone=time_zone,
        quiet_hours_start=QUIET_FROM,
        quiet_hours_end=QUIET_UNTIL,
        created_at=at,
        updated_at=at,
    )


def rules_create(bank: DemoOrganisation) -> DemoRules:
    """The bank's trigger rules, contact policy and quiet hours (the HQ works in English)."""
    organisation = bank.organisation
    by_name = {
        s.name: s
        for s in Survey.objects.filter(
            organisation=organisation, name__in=[BRANCH_SURVEY, CALL_SURVEY]
        )
    }
    at = REFERENCE_DATE - timedelta(days=540)
    common = {"organisation": organisation, "created_at": at, "updated_at": at}
    branch = TriggerRule.objects.create(
        name="After a branch visit",
        survey=by_name[BRANCH_SURVEY],
        status=RuleStatus.ACTIVE,
        priority=10,
        event_types=["branch_visit"],
        timing=Timing.IMMEDIATE,
        delivery_order=["email", "sms"],
        sampling_percent=20,
        daily_quota_per_unit=40,
        valid_days=VALID_DAYS,
        reminder_after_days=3,
        **common,
    )
    call = TriggerRule.objects.create(
        name="After a call",
        survey=by_name[CALL_SURVEY],
        status=RuleStatus.ACTIVE,
        priority=20,
        event_types=["call_completed"],
        timing=Timing.NEXT_ALLOWED,
        delivery_order=["sms", "email"],
        sampling_percent=50,
        valid_days=VALID_DAYS,
        **common,
    )
    mortgage = TriggerRule.objects.create(
        name="After a mortgage disbursement",
        survey=by_name[BRANCH_SURVEY],
        status=RuleStatus.PAUSED,
        priority=5,
        event_types=["loan_disbursed"],
        conditions=[{"attribute": "product", "op": "eq", "value": "mortgage"}],
        timing=Timing.DELAY,
        delay_minutes=2 * 24 * 60,
        delivery_order=["email", "sms"],
        valid_days=21,
        **common,
    )
    monthly, business, yearly = _policy_create(organisation, polish=False)
    _settings_create(organisation, BANK_TIME_ZONE)
    return DemoRules(branch, call, mortgage, monthly, business, yearly)


CLAIM_PROGRAM, CLAIM_SURVEY = "NPS obsługi szkód", "Po likwidacji szkody"


def _claim_questions() -> list[QuestionSpec]:
    def texts(pl: str, en: str) -> dict[str, str]:
        return {"pl": pl, "en": en}

    return [
        QuestionSpec(
            key="ltr",
            kind="nps",
            required=True,
            text=texts(
                "Jak bardzo prawdopodobne jest, że po likwidacji tej szkody polecisz Bałtyk "
                "Ubezpieczenia znajomemu lub współpracownikowi?",
                "After this claim, how likely are you to recommend Bałtyk Ubezpieczenia to a "
                "friend or colleague?",
            ),
            scale_labels={
                "min": texts("Zdecydowanie nie", "Not at all likely"),
                "max": texts("Zdecydowanie tak", "Extremely likely"),
            },
        ),
        QuestionSpec(
            key="csat",
            kind="csat",
            scale_min=1,
            scale_max=5,
            text=texts(
                "Jak ogólnie oceniasz przebieg likwidacji szkody?",
                "Overall, how satisfied are you with how the claim was handled?",
            ),
            scale_labels={
                "min": texts("Bardzo niezadowolony", "Very dissatisfied"),
                "max": texts("Bardzo zadowolony", "Very satisfied"),
            },
        ),
    ]


def insurer_listening_create(insurer: DemoOrganisation) -> int:
    """The insurer's survey after a settled claim, asked two days later, its contact policy and
    quiet hours, in Polish; how many trigger and contact rules."""
    organisation = insurer.organisation
    scope = scope_for(User.objects.get(email=ADMIN_LOGIN), organisation)
    if scope is None:
        raise RuntimeError("the demo administrator is not a member of the demo insurer")
    program = surveys.program_create(
        scope=scope,
        name=CLAIM_PROGRAM,
        kind="transactional",
        description="Klienci oceniają likwidację szkody dwa dni po wypłacie odszkodowania.",
    )
    survey = surveys.survey_create(
        scope=scope,
        program_id=program.pk,
        name=CLAIM_SURVEY,
        languages=["pl", "en"],
        default_language="pl",
        questions=_claim_questions(),
    )
    surveys.survey_publish(scope=scope, survey_id=survey.pk)
    at = REFERENCE_DATE - timedelta(days=540)
    TriggerRule.objects.create(
        organisation=organisation,
        name="Po likwidacji szkody",
        survey=survey,
        status=RuleStatus.ACTIVE,
        priority=10,
        event_types=["claim_settled"],
        timing=Timing.DELAY,
        delay_minutes=2 * 24 * 60,
        delivery_order=["email", "sms"],
        sampling_percent=100,
        valid_days=VALID_DAYS,
        reminder_after_days=4,
        created_at=at,
        updated_at=at,
    )
    _settings_create(organisation, INSURER_TIME_ZONE)
    return 1 + len(_policy_create(organisation, polish=True))


@dataclass(frozen=True)
class _Customers:
    """The bank's customers as the invitations need them, by index into the spec."""

    ids: list[int]
    languages: list[str]
    tiers: list[str]
    countries: list[str]
    products: list[list[str]]
    address: dict[str, list[str]]  # channel → address per customer ("" when none)
    # (branch or country, channel, segment or "") → the customers who may be asked there
    pools: dict[tuple[str, str, str], list[int]]
    do_not_contact: list[int]
    withdrawn: list[int]  # customers who withdrew consent for email or SMS


def _customers(spec: OrganisationSpec, ids: Sequence[int]) -> _Customers:
    address: dict[str, list[str]] = {"email": [], "sms": []}
    pools: dict[tuple[str, str, str], list[int]] = {}
    do_not_contact, withdrawn = [], []
    for index, customer in enumerate(spec.customers):
        by_kind = {key.kind: key.value for key in customer.identities}
        address["email"].append(by_kind.get("email", ""))
        address["sms"].append(by_kind.get("phone", ""))
        consents = dict(customer.consents)
        if customer.do_not_contact:
            do_not_contact.append(index)
            continue
        for channel, kind, consent in (("email", "email", "email"), ("sms", "phone", "sms")):
            if kind not in by_kind:
                continue
            if not consents.get(consent):
                withdrawn.append(index)
                continue
            for place in (customer.attributes["branch"], customer.attributes["country"]):
                for tier in ("", customer.attributes["tier"]):
                    pools.setdefault((place, channel, tier), []).append(index)
    return _Customers(
        ids=list(ids),
        languages=[c.preferred_language for c in spec.customers],
        tiers=[c.attributes["tier"] for c in spec.customers],
        countries=[c.attributes["country"] for c in spec.customers],
        products=[list(c.attributes["products"]) for c in spec.customers],
        address=address,
        pools=pools,
        do_not_contact=do_not_contact,
        withdrawn=sorted(set(withdrawn)),
    )


def _between(rng: random.Random, low: int, high: int) -> int:
    """A whole number from low to high inclusive; randint's checks cost more than the draw."""
    return low + int(rng.random() * (high - low + 1))


def _near(rng: random.Random, at: datetime, *, days: int) -> datetime:
    """Another visit or call a few days either side, at about the same time of day."""
    near = at + timedelta(days=_between(rng, -days, days), minutes=_between(rng, -60, 60))
    return near if near < REFERENCE_DATE else at


def _quiet_free(at: datetime, zone: ZoneInfo) -> datetime:
    """The moment itself, or the end of the quiet hours it falls in (an SMS waits for 9:00)."""
    local = at.astimezone(zone)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return at
    morning = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(morning, QUIET_UNTIL, tzinfo=zone).astimezone(at.tzinfo)


def _answered(
    rng: random.Random,
    bank: DemoOrganisation,
    customers: _Customers,
    setting_of: dict[int, str],
    zone: ZoneInfo,
) -> list[Interaction]:
    """The interactions behind the responses that came by email or SMS."""
    index_of = {customer_id: index for index, customer_id in enumerate(customers.ids)}
    rows = (
        Response.objects.filter(
            organisation=bank.organisation,
            source=ResponseSource.DEMO,
            survey_id__in=list(setting_of),
            customer__isnull=False,
            channel__in=["email", "sms"],
        )
        .order_by("pk")
        .values_list(
            "pk",
            "survey_id",
            "customer_id",
            "unit_id",
            "employee_id",
            "touchpoint",
            "channel",
            "journey",
            "stage",
            "status",
            "started_at",
            "completed_at",
        )
    )
    out = []
    for (
        pk,
        survey,
        customer,
        unit,
        employee,
        touchpoint,
        channel,
        journey,
        stage,
        status,
        started,
        completed,
    ) in rows.iterator(chunk_size=CHUNK):
        opened = started - timedelta(seconds=_between(rng, 10, 300))
        # Most answer within hours; some the next day or later, after a reminder.
        sent = opened - timedelta(
            minutes=rng.choice((5, 20, 60, 180, 600, 1500, 4400)) * rng.random() + 1
        )
        if channel == "sms":
            quiet = _quiet_free(sent, zone)
            if quiet < opened:
                # Held back by the quiet hours: it left at 9:00, the evening's event before.
                sent = quiet
            elif quiet > sent:
                # Opened in the night: the message had left before 21:00.
                local = sent.astimezone(zone)
                evening = local.date() - timedelta(days=local.time() < QUIET_UNTIL)
                sent = datetime.combine(
                    evening, time(20, _between(rng, 0, 58)), tzinfo=zone
                ).astimezone(sent.tzinfo)
        occurred = sent - timedelta(seconds=_between(rng, 60, 900))
        out.append(
            Interaction(
                occurred=occurred,
                setting=setting_of[survey],
                customer=index_of[customer],
                unit_id=unit,
                employee_id=employee,
                touchpoint=touchpoint,
                channel=channel,
                journey=journey,
                stage=stage,
                sent=sent,
                # A half-answered survey's link ran out long before anyone looks at the demo.
                status=(
                    InvitationStatus.COMPLETED
                    if status == ResponseStatus.COMPLETE
                    else InvitationStatus.EXPIRED
                ),
                opened=opened,
                started=started,
                completed=completed,
                response_id=pk,
            )
        )
    return out


def _pool(
    customers: _Customers, answered: Interaction, units: dict[int, str], *, same_segment: bool
) -> list[int]:
    """Who else was served there: the branch's customers, or the call centre's country's."""
    place = (
        units.get(answered.unit_id or 0, "")
        if answered.setting == "branch"
        else customers.countries[answered.customer]
    )
    tier = customers.tiers[answered.customer] if same_segment else ""
    return customers.pools.get((place, answered.channel, tier)) or [answered.customer]


def _unanswered(
    rng: random.Random,
    customers: _Customers,
    answered: Interaction,
    pool: list[int],
) -> list[Interaction]:
    """Invitations sent around the same visit or call that nobody answered."""
    rate = RESPONSE_RATE[answered.channel] + TIER_SHIFT.get(customers.tiers[answered.customer], 0)
    expected = 1 / rate - 1
    count = int(expected) + (rng.random() < expected - int(expected))
    out = []
    for _ in range(count):
        occurred = _near(rng, answered.occurred, days=2)
        sent = occurred + timedelta(seconds=_between(rng, 60, 900))
        if answered.channel == "sms":
            sent = _quiet_free(sent, BANK_ZONE)
        interaction = Interaction(
            occurred=occurred,
            setting=answered.setting,
            customer=rng.choice(pool),
            unit_id=answered.unit_id,
            employee_id=answered.employee_id,
            touchpoint=answered.touchpoint,
            channel=answered.channel,
            journey=answered.journey,
            stage=answered.stage,
            sent=sent,
        )
        if rng.random() < UNDELIVERED_SHARE:
            interaction.status = InvitationStatus.FAILED
            interaction.undelivered = True
        else:
            if rng.random() < OPENED_SHARE:
                interaction.opened = sent + timedelta(minutes=_between(rng, 2, 2000))
            open_still = sent + timedelta(days=VALID_DAYS) > REFERENCE_DATE
            interaction.status = (
                InvitationStatus.EXPIRED
                if not open_still
                else InvitationStatus.OPENED
                if interaction.opened
                else InvitationStatus.DELIVERED
                if answered.channel == "sms"
                else InvitationStatus.SENT
            )
        out.append(interaction)
    return out


def _skipped(
    rng: random.Random,
    customers: _Customers,
    rules: DemoRules,
    answered: Interaction,
    pool: list[int],
) -> list[Interaction]:
    """Events around the same visit or call that the rules decided into no invitation."""
    out = []
    for reason, expected in SKIPS[answered.setting].items():
        count = int(expected) + (rng.random() < expected - int(expected))
        for _ in range(count):
            if reason == SkipReason.DO_NOT_CONTACT and customers.do_not_contact:
                customer = rng.choice(customers.do_not_contact)
            elif reason == SkipReason.NO_CONSENT and customers.withdrawn:
                customer = rng.choice(customers.withdrawn)
            else:
                customer = rng.choice(pool)
            occurred = _near(rng, answered.occurred, days=1)
            contact_rule, detail = None, ""
            if reason == SkipReason.SAMPLED_OUT:
                share = rules.branch if answered.setting == "branch" else rules.call
                detail = f"outside the rule's {share.sampling_percent:g}% sample"
            elif reason == SkipReason.QUOTA_FULL:
                detail = (
                    f"the unit had its {rules.branch.daily_quota_per_unit} invitations of "
                    f"{occurred.date().isoformat()}"
                )
            elif reason == SkipReason.CONTACT_POLICY:
                contact_rule, detail = _objection(rng, customers, rules, customer)
            elif reason == SkipReason.DO_NOT_CONTACT:
                detail = "the customer is not to be contacted"
            elif reason == SkipReason.NO_CONSENT:
                detail = "consent withdrawn on the rule's channels"
            out.append(
                Interaction(
                    occurred=occurred,
                    setting=answered.setting,
                    customer=customer,
                    unit_id=answered.unit_id,
                    employee_id=answered.employee_id,
                    touchpoint=answered.touchpoint,
                    channel=answered.channel,
                    journey=answered.journey,
                    stage=answered.stage,
                    reason=reason,
                    contact_rule=contact_rule,
                    detail=detail,
                )
            )
    return out


def _objection(
    rng: random.Random, customers: _Customers, rules: DemoRules, customer: int
) -> tuple[ContactRule, str]:
    """Which contact rule stopped the invitation, in the policy's own words."""
    if customers.tiers[customer] == "business" and rng.random() < 0.6:
        days = round(rng.uniform(3, 89), 1)
        return rules.business, f"a response {days:g} days away; the rule asks for 90 days between"
    if rng.random() < 0.85:
        return rules.monthly, "1 invitation within 30 days; the rule allows 1"
    return rules.yearly, "4 invitations within 365 days; the rule allows 4"


def _ids_after(
    model: type[models.Model], organisation_id: int, last_id: int, count: int
) -> list[int]:
    # The demo organisation is new and only this transaction writes to it.
    ids = list(
        model._default_manager.filter(organisation_id=organisation_id, pk__gt=last_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(ids) != count:
        raise RuntimeError(f"expected {count} new {model.__name__} rows, found {len(ids)}")
    return ids


def _last_id(model: type[models.Model]) -> int:
    last = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
    return int(last or 0)


def _chunked(
    model: type[models.Model], columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    for start in range(0, len(rows), CHUNK):
        bulk_insert(model, columns, rows[start : start + CHUNK])


EVENT_COLUMNS = (
    "organisation",
    "created_at",
    "updated_at",
    "event_type",
    "occurred_at",
    "customer",
    "channel",
    "unit",
    "employee",
    "touchpoint",
    "journey",
    "stage",
    "attributes",
    "source",
    "source_id",
    "dedupe_key",
)
INVITATION_COLUMNS = (
    "organisation",
    "created_at",
    "updated_at",
    "survey",
    "token",
    "customer",
    "language",
    "unit",
    "employee",
    "touchpoint",
    "channel",
    "journey",
    "stage",
    "status",
    "external_ref",
    "event",
    "event_occurred_at",
    "rule",
    "delivery",
    "send_at",
    "sent_at",
    "delivered_at",
    "failed_at",
    "expired_at",
    "skip_reason",
    "expires_at",
    "opened_at",
    "started_at",
    "completed_at",
)
MESSAGE_COLUMNS = (
    "organisation",
    "created_at",
    "updated_at",
    "invitation",
    "kind",
    "channel",
    "to_address",
    "language",
    "status",
    "idempotency_key",
    "attempts",
    "next_attempt_at",
    "provider_message_id",
    "last_error",
    "sent_at",
    "delivered_at",
    "failed_at",
)
DECISION_COLUMNS = (
    "organisation",
    "created_at",
    "updated_at",
    "event",
    "rule",
    "customer",
    "outcome",
    "reason",
    "contact_rule",
    "detail",
    "invitation",
)


def _attributes(
    rng: random.Random,
    customers: _Customers,
    interaction: Interaction,
    cache: dict[tuple[str, str, str], str],
) -> str:
    """The event's attributes as JSON: the product it was about and the customer's segment."""
    products = customers.products[interaction.customer]
    key = (
        products[int(rng.random() * len(products))],
        customers.tiers[interaction.customer],
        interaction.stage,
    )
    found = cache.get(key)
    if found is None:
        attributes = {"product": key[0], "segment": key[1]}
        if key[2]:
            attributes["journey_step"] = key[2]
        found = cache[key] = json.dumps(attributes)
    return found


def listening_generate(
    *, rng: random.Random, bank: DemoOrganisation, spec: OrganisationSpec
) -> ListeningSummary:
    """The bank's rules and policy, and the events, invitations, messages and decisions behind
    its transactional responses."""
    rules = rules_create(bank)
    organisation_id = bank.organisation.pk
    setting_of = {rules.branch.survey_id: "branch", rules.call.survey_id: "call"}
    rule_of = {"branch": rules.branch, "call": rules.call}
    zone = BANK_ZONE
    customers = _customers(spec, bank.customer_ids)
    units = {unit.pk: code for code, unit in bank.units.items()}
    answered = _answered(rng, bank, customers, setting_of, zone)
    interactions: list[Interaction] = []
    for one in answered:
        interactions.append(one)
        if one.occurred >= UNANSWERED_SINCE:
            # Unanswered invitations go to the same segment, so each segment's rate shows.
            peers = _pool(customers, one, units, same_segment=True)
            interactions.extend(_unanswered(rng, customers, one, peers))
            everyone = _pool(customers, one, units, same_segment=False)
            interactions.extend(_skipped(rng, customers, rules, one, everyone))
    interactions.sort(key=lambda i: i.occurred)
    with indexes_deferred(Event, Invitation, Message, InvitationDecision):
        return _write(rng, organisation_id, customers, rule_of, interactions)


def _responses_link(links: list[tuple[int, int]]) -> None:
    """Point each answered response at its invitation: (invitation id, response id) pairs."""
    table = connection.ops.quote_name(Response._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement: a statement per row costs a round trip each, seconds at full scale.
            cursor.execute(
                f"UPDATE {table} r SET invitation_id = v.invitation_id "  # noqa: S608
                "FROM (SELECT unnest(%s::bigint[]) AS invitation_id, "
                "unnest(%s::bigint[]) AS response_id) v WHERE r.id = v.response_id",
                [[link[0] for link in links], [link[1] for link in links]],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET invitation_id = %s WHERE id = %s",  # noqa: S608
                links,
            )


def _write(
    rng: random.Random,
    organisation_id: int,
    customers: _Customers,
    rule_of: dict[str, TriggerRule],
    interactions: list[Interaction],
) -> ListeningSummary:
    at = timestamp_adapter()

    def maybe(value: datetime | None) -> Any:
        return at(value) if value is not None else None

    # Each moment is adapted once: at full scale the adapter is a good part of the work.
    occurred_at = [at(one.occurred) for one in interactions]
    attributes: dict[tuple[str, str, str], str] = {}
    last_event = _last_id(Event)
    event_rows = []
    for number, (one, occurred) in enumerate(zip(interactions, occurred_at, strict=True), 1):
        event_type, source, prefix = SETTINGS[one.setting]
        source_id = f"{prefix}-{number:08d}"
        event_rows.append(
            (
                organisation_id,
                occurred,
                occurred,
                event_type,
                occurred,
                customers.ids[one.customer],
                one.channel,
                one.unit_id,
                one.employee_id,
                one.touchpoint,
                one.journey,
                one.stage,
                _attributes(rng, customers, one, attributes),
                source,
                source_id,
                f"src:{source}:{source_id}",
            )
        )
    _chunked(Event, EVENT_COLUMNS, event_rows)
    event_ids = _ids_after(Event, organisation_id, last_event, len(event_rows))

    # (event id, the interaction, its adapted occurrence, its adapted sending)
    invited = [
        (event_id, one, occurred, at(one.sent))
        for event_id, one, occurred in zip(event_ids, interactions, occurred_at, strict=True)
        if one.sent
    ]
    last_invitation = _last_id(Invitation)
    invitation_rows = []
    expired = InvitationStatus.EXPIRED.value
    for event_id, one, occurred, sent_at in invited:
        sent = one.sent
        assert sent is not None
        rule = rule_of[one.setting]
        expires = at(sent + timedelta(days=VALID_DAYS))
        delivered = (
            sent + timedelta(seconds=_between(rng, 2, 40))
            if one.channel == "sms" and not one.undelivered
            else None
        )
        last_change = one.completed or one.started or one.opened
        invitation_rows.append(
            (
                organisation_id,
                occurred,
                at(last_change) if last_change and last_change > sent else sent_at,
                rule.survey_id,
                secrets.token_urlsafe(32),
                customers.ids[one.customer],
                customers.languages[one.customer],
                one.unit_id,
                one.employee_id,
                one.touchpoint,
                one.channel,
                one.journey,
                one.stage,
                one.status,
                "",
                event_id,
                occurred,
                rule.pk,
                one.channel,
                sent_at,
                sent_at,
                maybe(delivered),
                at(sent + timedelta(minutes=1)) if one.undelivered else None,
                expires if one.status == expired else None,
                "",
                expires,
                maybe(one.opened),
                maybe(one.started),
                maybe(one.completed),
            )
        )
    _chunked(Invitation, INVITATION_COLUMNS, invitation_rows)
    invitation_ids = _ids_after(Invitation, organisation_id, last_invitation, len(invitation_rows))

    message_rows = []
    kind = MessageKind.INVITATION.value
    for invitation_id, (_, one, _, sent_at) in zip(invitation_ids, invited, strict=True):
        sent = one.sent
        assert sent is not None
        if one.undelivered:
            status = MessageStatus.BOUNCED if one.channel == "email" else MessageStatus.FAILED
            error = (
                "550 5.1.1 mailbox unavailable"
                if one.channel == "email"
                else "the operator refused the number"
            )
        else:
            status = MessageStatus.DELIVERED if one.channel == "sms" else MessageStatus.SENT
            error = ""
        message_rows.append(
            (
                organisation_id,
                sent_at,
                sent_at,
                invitation_id,
                kind,
                one.channel,
                customers.address[one.channel][one.customer] or "unknown",
                customers.languages[one.customer],
                status.value,
                f"demo-{invitation_id}-invitation",
                1,
                sent_at,
                f"demo-{invitation_id}",
                error,
                sent_at,
                at(sent + timedelta(seconds=20)) if status == MessageStatus.DELIVERED else None,
                at(sent + timedelta(minutes=1)) if one.undelivered else None,
            )
        )
    _chunked(Message, MESSAGE_COLUMNS, message_rows)

    invitation_of = {
        event_id: invitation_id
        for invitation_id, (event_id, *_) in zip(invitation_ids, invited, strict=True)
    }
    decision_rows = []
    skipped: Counter[str] = Counter()
    invited_outcome, skipped_outcome = DecisionOutcome.INVITED.value, DecisionOutcome.SKIPPED.value
    for event_id, one, occurred in zip(event_ids, interactions, occurred_at, strict=True):
        if one.sent:
            outcome, reason = invited_outcome, ""
        else:
            outcome, reason = skipped_outcome, str(one.reason)
            skipped[reason] += 1
        decision_rows.append(
            (
                organisation_id,
                occurred,
                occurred,
                event_id,
                rule_of[one.setting].pk,
                customers.ids[one.customer],
                outcome,
                reason,
                one.contact_rule.pk if one.contact_rule else None,
                one.detail,
                invitation_of.get(event_id),
            )
        )
    _chunked(InvitationDecision, DECISION_COLUMNS, decision_rows)

    links = [
        (invitation_id, one.response_id)
        for invitation_id, (_, one, *_) in zip(invitation_ids, invited, strict=True)
        if one.response_id is not None
    ]
    _responses_link(links)
    return ListeningSummary(
        trigger_rules=3,
        contact_rules=3,
        events=len(event_rows),
        invitations=len(invitation_rows),
        answered=len(links),
        messages=len(message_rows),
        decisions=len(decision_rows),
        skipped=skipped,
    )
