"""Which events lead to an invitation: trigger rules × sampling × quotas × the contact policy.

`decide_events` is called by event ingestion, inside its transaction, for the events it has just
stored. It works on the whole batch at once: a fixed number of queries (rules, events, customers,
identities, consents, contact history, quota counts), the decisions in memory, then three bulk
inserts (invitations, their messages, and one decision row per rule considered).

The per-event logic (`decide_event`) knows nothing of the database, so the dry run
(`sonda.listening.simulation`) runs exactly the same decisions over past events.
"""

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from sonda.accounts.access import Scope
from sonda.customers.models import Consent, Customer, CustomerIdentity, IdentityKind
from sonda.customers.selectors import customer_get
from sonda.listening.conditions import Matcher, conditions_compile
from sonda.listening.models import (
    DecisionOutcome,
    DeliveryChannel,
    Event,
    Invitation,
    InvitationDecision,
    InvitationStatus,
    ListeningSettings,
    Message,
    MessageKind,
    RuleStatus,
    SkipReason,
    Timing,
    TriggerRule,
)
from sonda.listening.policy import ContactPolicy, among
from sonda.listening.quiet_hours import QuietHours
from sonda.listening.services import invitation_token
from sonda.surveys.models import Survey, SurveyVersion, VersionStatus

# Plain strings for the hot path: reading a member off an enum class is slow on Python 3.11.
INVITED = DecisionOutcome.INVITED.value
SKIPPED = DecisionOutcome.SKIPPED.value
NO_RULE = SkipReason.NO_RULE.value
NO_CUSTOMER = SkipReason.NO_CUSTOMER.value
SAMPLED_OUT = SkipReason.SAMPLED_OUT.value
QUOTA_FULL = SkipReason.QUOTA_FULL.value
CONTACT_POLICY = SkipReason.CONTACT_POLICY.value
DO_NOT_CONTACT = SkipReason.DO_NOT_CONTACT.value
NO_CONSENT = SkipReason.NO_CONSENT.value
NO_ADDRESS = SkipReason.NO_ADDRESS.value
LINK = DeliveryChannel.LINK.value
EMAIL = DeliveryChannel.EMAIL.value  # also the identity kind of an email address
DELAY = Timing.DELAY.value
# The decision rows' sentences (stored as written: they are the record of what happened).
NOBODY = "the event names no customer"
NOBODY_NO_RULE = "the event names no customer and no rule matched it"
NO_RULE_DETAIL = "no active trigger rule matched the event"
DO_NOT_ASK = "the customer is not to be contacted"
NO_CONSENT_DETAIL = "consent withdrawn on the rule's channels"
NO_ADDRESS_DETAIL = "no address for the rule's channels"
LOCK_NAMESPACE = 0x534F4E  # "SON": advisory locks on a customer's contact history
BULK = 2000


# --- What the decisions are made of ----------------------------------------------------------


@dataclass(slots=True)
class CustomerFacts:
    id: int
    attributes: dict[str, Any]
    do_not_contact: bool
    time_zone: str
    language: str
    email: str  # the address to write to, "" when none
    phone: str
    withdrawn: frozenset[str]  # channels whose consent was withdrawn


@dataclass(slots=True)
class EventFacts:
    id: int
    occurred_at: datetime
    at: float  # occurred_at in epoch seconds: the decision time of the contact policy
    day: date  # the organisation's local day of the event (daily quotas)
    event_type: str
    channel: str
    touchpoint: str
    unit_id: int | None
    unit_path: str
    employee_id: int | None
    journey: str
    stage: str
    attributes: dict[str, Any]
    customer: CustomerFacts | None


@dataclass(frozen=True, slots=True)
class RuleFacts:
    """A trigger rule compiled for matching many events."""

    id: int
    name: str
    status: str
    survey_id: int
    program_id: int
    event_types: frozenset[str]
    channels: frozenset[str]
    touchpoints: frozenset[str]
    unit_path: str | None
    conditions: Matcher
    timing: str
    delay: timedelta
    delivery_order: tuple[str, ...]
    sampling: float  # fraction in [0, 1]
    quota: int | None
    also_evaluate_others: bool
    valid_for: timedelta
    languages: tuple[str, ...]
    default_language: str

    def matches(self, event: EventFacts) -> bool:
        if self.event_types and event.event_type not in self.event_types:
            return False
        if self.channels and event.channel not in self.channels:
            return False
        if self.touchpoints and event.touchpoint not in self.touchpoints:
            return False
        if self.unit_path is not None and not event.unit_path.startswith(self.unit_path):
            return False
        customer_attributes = event.customer.attributes if event.customer else {}
        return self.conditions(event.attributes, customer_attributes)

    def language_for(self, customer: CustomerFacts) -> str:
        if customer.language and customer.language in self.languages:
            return customer.language
        return self.default_language


@dataclass(slots=True)
class Verdict:
    """The decision of one rule (or of no rule) on one event."""

    event: EventFacts
    rule: RuleFacts | None
    outcome: str
    reason: str = ""
    contact_rule_id: int | None = None
    detail: str = ""
    delivery: str = ""
    address: str = ""

    @property
    def invited(self) -> bool:
        return self.outcome == INVITED


@dataclass(slots=True)
class Quotas:
    """Invitations counted per (rule, unit, local day), including those decided in this run."""

    counts: dict[tuple[int, int | None, date], int] = field(default_factory=dict)

    def used(self, rule_id: int, unit_id: int | None, day: date) -> int:
        return self.counts.get((rule_id, unit_id, day), 0)

    def add(self, rule_id: int, unit_id: int | None, day: date) -> None:
        key = (rule_id, unit_id, day)
        self.counts[key] = self.counts.get(key, 0) + 1


@dataclass(frozen=True, slots=True)
class ExcludedRule:
    """A rule that cannot invite anyone, and why (shown by the dry run)."""

    id: int
    name: str
    why: str


# --- The decision itself: pure, shared with the dry run ---------------------------------------


def in_sample(*, rule_id: int, customer_id: int, sampling: float) -> bool:
    """Deterministic sampling: a customer is always in, or always out, of a rule's sample."""
    if sampling >= 1:
        return True
    if sampling <= 0:
        return False
    digest = hashlib.sha256(f"{rule_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 18446744073709551616 < sampling


def choose_delivery(rule: RuleFacts, customer: CustomerFacts) -> tuple[str, str, str]:
    """(delivery, address, "") for the first channel of the rule's order that may and can be
    used; ("", "", skip reason) when none can."""
    withdrawn = False
    for channel in rule.delivery_order:
        if channel == LINK:
            return channel, "", ""
        if channel in customer.withdrawn:
            withdrawn = True
            continue
        address = customer.email if channel == EMAIL else customer.phone
        if address:
            return channel, address, ""
    return "", "", NO_CONSENT if withdrawn else NO_ADDRESS


def decide_event(
    event: EventFacts,
    rules: Sequence[RuleFacts],
    policy: ContactPolicy,
    quotas: Quotas,
) -> list[Verdict]:
    """The verdicts of the rules that matched `event`, in order; records each invitation in
    `policy` and `quotas` so that the next event sees it.

    The first matching rule decides. After it invites, later rules are tried only when it lets
    them (`also_evaluate_others`). A skip stops the evaluation too (the customer should not be
    asked now), except a skip by the rule's own sample or quota: a lower rule may still ask.
    """
    verdicts: list[Verdict] = []
    customer = event.customer
    for rule in rules:
        if not rule.matches(event):
            continue
        if customer is None:
            verdicts.append(Verdict(event, rule, SKIPPED, NO_CUSTOMER, detail=NOBODY))
            break
        if customer.do_not_contact:
            verdicts.append(Verdict(event, rule, SKIPPED, DO_NOT_CONTACT, detail=DO_NOT_ASK))
            break
        if not in_sample(rule_id=rule.id, customer_id=customer.id, sampling=rule.sampling):
            detail = f"outside the rule's {rule.sampling * 100:g}% sample"
            verdicts.append(Verdict(event, rule, SKIPPED, SAMPLED_OUT, detail=detail))
            continue
        if rule.quota is not None and quotas.used(rule.id, event.unit_id, event.day) >= rule.quota:
            detail = f"the unit had its {rule.quota} invitations of {event.day.isoformat()}"
            verdicts.append(Verdict(event, rule, SKIPPED, QUOTA_FULL, detail=detail))
            continue
        objection = policy.first_objection(
            customer_id=customer.id,
            customer_attributes=customer.attributes,
            survey_id=rule.survey_id,
            program_id=rule.program_id,
            at=event.at,
        )
        if objection is not None:
            detail = f"{objection.rule_name}: {objection.detail}"
            verdicts.append(
                Verdict(event, rule, SKIPPED, CONTACT_POLICY, objection.rule_id, detail)
            )
            break
        delivery, address, refusal = choose_delivery(rule, customer)
        if refusal:
            detail = NO_CONSENT_DETAIL if refusal == NO_CONSENT else NO_ADDRESS_DETAIL
            verdicts.append(Verdict(event, rule, SKIPPED, refusal, detail=detail))
            break
        policy.record(
            customer_id=customer.id,
            at=event.at,
            survey_id=rule.survey_id,
            program_id=rule.program_id,
        )
        quotas.add(rule.id, event.unit_id, event.day)
        verdicts.append(Verdict(event, rule, INVITED, delivery=delivery, address=address))
        if not rule.also_evaluate_others:
            break
    if not verdicts:
        if customer is None:
            verdicts.append(Verdict(event, None, SKIPPED, NO_CUSTOMER, detail=NOBODY_NO_RULE))
        else:
            verdicts.append(Verdict(event, None, SKIPPED, NO_RULE, detail=NO_RULE_DETAIL))
    return verdicts


def send_time(
    *, rule: RuleFacts, event: EventFacts, delivery: str, quiet: QuietHours, now: datetime
) -> datetime:
    """When the invitation goes out: now, or after the rule's delay, moved out of the quiet
    hours of the customer's time zone (always for SMS, for email when the organisation asks)."""
    at = now
    if rule.timing == DELAY:
        at = max(now, event.occurred_at + rule.delay)
    if delivery == LINK:
        return at
    customer_zone = event.customer.time_zone if event.customer else ""
    return quiet.next_allowed_time(at, channel=delivery, customer_time_zone=customer_zone)


# --- Loading the facts, in a fixed number of queries ------------------------------------------


def load_rules(
    *, organisation_id: int, also: Iterable[int] = ()
) -> tuple[list[RuleFacts], list[ExcludedRule]]:
    """The active rules (and the rules named in `also`, even paused), by priority then id; and
    those that cannot invite because their survey is archived or has no published version."""
    wanted = set(also)
    candidates = [
        rule
        for rule in TriggerRule.objects.filter(organisation_id=organisation_id).order_by(
            "priority", "id"
        )
        if rule.status == RuleStatus.ACTIVE or rule.pk in wanted
    ]
    survey_ids = {rule.survey_id for rule in candidates}
    surveys = {
        row["id"]: row
        for row in Survey.objects.filter(pk__in=survey_ids).values(
            "id", "program_id", "languages", "default_language", "is_archived"
        )
    }
    published = set(
        SurveyVersion.objects.filter(
            survey_id__in=survey_ids, status=VersionStatus.PUBLISHED
        ).values_list("survey_id", flat=True)
    )
    unit_paths = dict(
        TriggerRule.objects.filter(
            pk__in=[rule.pk for rule in candidates], unit__isnull=False
        ).values_list("id", "unit__path")
    )
    rules: list[RuleFacts] = []
    excluded: list[ExcludedRule] = []
    for rule in candidates:
        survey = surveys[rule.survey_id]
        if survey["is_archived"]:
            excluded.append(ExcludedRule(rule.pk, rule.name, "its survey is archived"))
            continue
        if rule.survey_id not in published:
            excluded.append(ExcludedRule(rule.pk, rule.name, "its survey has no published version"))
            continue
        languages = tuple(survey["languages"] or ())
        default = survey["default_language"]
        if languages and default not in languages:
            default = languages[0]
        rules.append(
            RuleFacts(
                id=rule.pk,
                name=rule.name,
                status=rule.status,
                survey_id=rule.survey_id,
                program_id=survey["program_id"],
                event_types=frozenset(rule.event_types or ()),
                channels=frozenset(rule.channels or ()),
                touchpoints=frozenset(rule.touchpoints or ()),
                unit_path=unit_paths.get(rule.pk) if rule.unit_id else None,
                conditions=conditions_compile(rule.conditions),
                timing=rule.timing,
                delay=timedelta(minutes=rule.delay_minutes or 0),
                delivery_order=tuple(rule.delivery_order or ()),
                sampling=float(rule.sampling_percent) / 100,
                quota=rule.daily_quota_per_unit,
                also_evaluate_others=rule.also_evaluate_others,
                valid_for=timedelta(days=rule.valid_days),
                languages=languages,
                default_language=default,
            )
        )
    return rules, excluded


def load_customers(
    *, organisation_id: int, customer_ids: Sequence[int]
) -> dict[int, CustomerFacts]:
    """The customers with the address to use per channel and the channels they withdrew."""
    if not customer_ids:
        return {}
    emails: dict[int, str] = {}
    phones: dict[int, str] = {}
    # The newest identity of a kind is the address to use (ordered by id: later ones win).
    for customer_id, kind, value in (
        CustomerIdentity.objects.filter(
            organisation_id=organisation_id,
            customer_id__in=among(customer_ids),
            kind__in=[IdentityKind.EMAIL, IdentityKind.PHONE],
        )
        .order_by("id")
        .values_list("customer_id", "kind", "value")
    ):
        (emails if kind == EMAIL else phones)[customer_id] = value
    withdrawn: dict[int, set[str]] = {}
    for customer_id, channel in Consent.objects.filter(
        organisation_id=organisation_id, customer_id__in=among(customer_ids), granted=False
    ).values_list("customer_id", "channel"):
        withdrawn.setdefault(customer_id, set()).add(channel)
    customers: dict[int, CustomerFacts] = {}
    for row in Customer.objects.filter(
        organisation_id=organisation_id, pk__in=among(customer_ids)
    ).values("id", "attributes", "do_not_contact", "erased_at", "time_zone", "preferred_language"):
        customer_id = row["id"]
        customers[customer_id] = CustomerFacts(
            id=customer_id,
            attributes=row["attributes"] or {},
            # An erased profile is no one to write to.
            do_not_contact=row["do_not_contact"] or row["erased_at"] is not None,
            time_zone=row["time_zone"],
            language=row["preferred_language"],
            email=emails.get(customer_id, ""),
            phone=phones.get(customer_id, ""),
            withdrawn=frozenset(withdrawn.get(customer_id, ())),
        )
    return customers


EVENT_FIELDS = (
    "id",
    "event_type",
    "occurred_at",
    "customer_id",
    "channel",
    "touchpoint",
    "unit_id",
    "unit__path",
    "employee_id",
    "journey",
    "stage",
    "attributes",
)


def event_facts(
    rows: Iterable[dict[str, Any]], customers: dict[int, CustomerFacts], zone: ZoneInfo
) -> list[EventFacts]:
    """Events as the decisions see them, in time order (then by id)."""
    facts = []
    for row in rows:
        occurred_at: datetime = row["occurred_at"]
        customer_id = row["customer_id"]
        facts.append(
            EventFacts(
                id=row["id"],
                occurred_at=occurred_at,
                at=occurred_at.timestamp(),
                day=occurred_at.astimezone(zone).date(),
                event_type=row["event_type"],
                channel=row["channel"],
                touchpoint=row["touchpoint"],
                unit_id=row["unit_id"],
                unit_path=row["unit__path"] or "",
                employee_id=row["employee_id"],
                journey=row["journey"],
                stage=row["stage"],
                attributes=row["attributes"] if isinstance(row["attributes"], dict) else {},
                customer=customers.get(customer_id) if customer_id is not None else None,
            )
        )
    facts.sort(key=lambda fact: (fact.at, fact.id))
    return facts


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone)


def load_quotas(
    *,
    organisation_id: int,
    rules: Sequence[RuleFacts],
    events: Sequence[EventFacts],
    zone: ZoneInfo,
) -> Quotas:
    """The invitations already counted against each rule's daily quota on the batch's days."""
    quotas = Quotas()
    rule_ids = [rule.id for rule in rules if rule.quota is not None]
    if not rule_ids or not events:
        return quotas
    days = {event.day for event in events}
    rows = (
        Invitation.objects.filter(
            organisation_id=organisation_id,
            rule_id__in=rule_ids,
            event_occurred_at__gte=local_day_start(min(days), zone),
            event_occurred_at__lt=local_day_start(max(days) + timedelta(days=1), zone),
        )
        .exclude(status=InvitationStatus.SKIPPED)
        .annotate(day=TruncDate("event_occurred_at", tzinfo=zone))
        .values("rule_id", "unit_id", "day")
        .annotate(n=Count("id"))
    )
    for row in rows:
        quotas.counts[(row["rule_id"], row["unit_id"], row["day"])] = row["n"]
    return quotas


def lock_contact_histories(customer_ids: Sequence[int]) -> None:
    """On PostgreSQL, hold each customer's contact history until the transaction ends, in id
    order, so two concurrent batches cannot both invite one customer past the policy."""
    if connection.vendor != "postgresql" or not customer_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, (k %% 2147483647)::int) "
            "FROM unnest(%s::bigint[]) AS k",
            [LOCK_NAMESPACE, sorted(customer_ids)],
        )


def organisation_clock(organisation_id: int) -> tuple[QuietHours, ZoneInfo]:
    settings = ListeningSettings.objects.filter(organisation_id=organisation_id).first()
    quiet = QuietHours.of(settings)
    return quiet, quiet.zone()


# --- The engine -------------------------------------------------------------------------------


@dataclass
class Decided:
    events: int
    invited: int
    skipped: int
    # event id -> the invitations made for it (a "link" invitation's token goes back to the caller)
    invitations: dict[int, list[Invitation]] = field(default_factory=dict)


def decide_events(
    *, organisation_id: int, event_ids: Sequence[int], now: datetime | None = None
) -> Decided:
    """Decide, record and schedule the invitations of events just stored (in the caller's
    transaction). Replayed events never come here, so nothing is decided twice."""
    now = now or timezone.now()
    if not event_ids:
        return Decided(events=0, invited=0, skipped=0)
    with transaction.atomic():
        rows = list(
            Event.objects.filter(organisation_id=organisation_id, pk__in=among(event_ids)).values(
                *EVENT_FIELDS
            )
        )
        rules, _excluded = load_rules(organisation_id=organisation_id)
        quiet, zone = organisation_clock(organisation_id)
        customer_ids = sorted({row["customer_id"] for row in rows if row["customer_id"]})
        policy = ContactPolicy([])
        if rules and customer_ids:
            lock_contact_histories(customer_ids)
            policy = ContactPolicy.of_organisation(organisation_id)
        customers = load_customers(organisation_id=organisation_id, customer_ids=customer_ids)
        events = event_facts(rows, customers, zone)
        if policy.rules and events:
            policy.load(
                organisation_id=organisation_id,
                customer_ids=customer_ids,
                lo=policy.look_back(events[0].occurred_at),
                hi=events[-1].occurred_at + timedelta(seconds=policy.reach),
            )
        quotas = load_quotas(organisation_id=organisation_id, rules=rules, events=events, zone=zone)
        verdicts = [
            verdict for event in events for verdict in decide_event(event, rules, policy, quotas)
        ]
        return _write(organisation_id, verdicts, quiet=quiet, now=now, events=len(events))


def _write(
    organisation_id: int, verdicts: list[Verdict], *, quiet: QuietHours, now: datetime, events: int
) -> Decided:
    stamp = timezone.now()
    invitations: list[Invitation] = []
    invited: list[Verdict] = []
    for verdict in verdicts:
        if not verdict.invited:
            continue
        rule, event, customer = verdict.rule, verdict.event, verdict.event.customer
        assert rule is not None
        assert customer is not None
        send_at = send_time(rule=rule, event=event, delivery=verdict.delivery, quiet=quiet, now=now)
        invitations.append(
            Invitation(
                created_at=stamp,
                updated_at=stamp,
                organisation_id=organisation_id,
                survey_id=rule.survey_id,
                token=invitation_token(),
                customer_id=customer.id,
                language=rule.language_for(customer),
                unit_id=event.unit_id,
                employee_id=event.employee_id,
                touchpoint=event.touchpoint,
                channel=event.channel,
                journey=event.journey,
                stage=event.stage,
                event_id=event.id,
                event_occurred_at=event.occurred_at,
                rule_id=rule.id,
                delivery=verdict.delivery,
                send_at=send_at,
                expires_at=send_at + rule.valid_for,
            )
        )
        invited.append(verdict)
    _insert_invitations(invitations)
    messages = [
        {
            "created_at": stamp,
            "updated_at": stamp,
            "organisation_id": organisation_id,
            "invitation_id": invitation.pk,
            "kind": MessageKind.INVITATION.value,
            "channel": verdict.delivery,
            "to_address": verdict.address,
            "language": invitation.language,
            "idempotency_key": secrets.token_hex(16),
            "next_attempt_at": invitation.send_at or now,
        }
        for verdict, invitation in zip(invited, invitations, strict=True)
        if verdict.delivery != LINK
    ]
    _insert_rows(Message, messages)
    made = iter(invitations)
    decisions = []
    by_event: dict[int, list[Invitation]] = {}
    skipped = 0
    for verdict in verdicts:
        invitation = next(made) if verdict.invited else None
        if invitation is not None:
            by_event.setdefault(verdict.event.id, []).append(invitation)
        else:
            skipped += 1
        rule, customer = verdict.rule, verdict.event.customer
        decisions.append(
            {
                "created_at": stamp,
                "updated_at": stamp,
                "organisation_id": organisation_id,
                "event_id": verdict.event.id,
                "rule_id": rule.id if rule is not None else None,
                "customer_id": customer.id if customer is not None else None,
                "outcome": str(verdict.outcome),
                "reason": str(verdict.reason),
                "contact_rule_id": verdict.contact_rule_id,
                "detail": verdict.detail[:300],
                "invitation_id": invitation.pk if invitation is not None else None,
            }
        )
    _insert_rows(InvitationDecision, decisions)
    if messages:
        from sonda.listening.tasks import wake_delivery

        transaction.on_commit(wake_delivery)
    return Decided(events=events, invited=len(invitations), skipped=skipped, invitations=by_event)


# On PostgreSQL the rows go in by COPY, an order of magnitude faster than multi-row INSERTs
# built by the ORM for a 10,000-event batch; elsewhere through bulk_create.


def _insert_invitations(invitations: list[Invitation]) -> None:
    if not invitations:
        return
    if connection.vendor != "postgresql":
        Invitation.objects.bulk_create(invitations, batch_size=BULK)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Invitation._meta.db_table, len(invitations)],
        )
        for invitation, (pk,) in zip(invitations, cursor.fetchall(), strict=True):
            invitation.pk = pk
    fields = Invitation._meta.concrete_fields
    _copy(
        Invitation,
        [field.column for field in fields],
        [tuple(getattr(obj, field.attname) for field in fields) for obj in invitations],
    )
    for invitation in invitations:
        invitation._state.adding = False
        invitation._state.db = connection.alias


def _insert_rows(
    model: type[Message] | type[InvitationDecision], rows: list[dict[str, Any]]
) -> None:
    """Rows given as {attname: value}; the fields left out take their model default."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=BULK)  # type: ignore[misc]
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    missing = [field for field in fields if field.attname not in rows[0]]
    defaults = {field.attname: field.get_default() for field in missing}
    names = [field.attname for field in fields]
    _copy(
        model,
        [field.column for field in fields],
        [tuple(row[name] if name in row else defaults[name] for name in names) for row in rows],
    )


def _copy(model: type[Any], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    quote = connection.ops.quote_name
    statement = (
        f"COPY {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


# --- "Why was / wasn't this customer invited?" ------------------------------------------------


@dataclass(frozen=True)
class DecisionLine:
    rule_name: str
    outcome: str
    outcome_label: str
    reason: str
    reason_label: str
    contact_rule_name: str
    detail: str
    invitation_id: int | None
    invitation_status: str
    invitation_status_label: str
    delivery: str


@dataclass(frozen=True)
class EventDecisions:
    event_id: int
    event_type: str
    occurred_at: datetime
    channel: str
    touchpoint: str
    unit_name: str
    decisions: list[DecisionLine]


def customer_decisions(*, scope: Scope, customer_id: int, limit: int = 100) -> list[EventDecisions]:
    """Per event of the customer (newest first), what each rule considered decided and why."""
    customer = customer_get(scope=scope, customer_id=customer_id)
    events = list(
        Event.objects.filter(organisation=scope.organisation, customer=customer)
        .select_related("unit")
        .order_by("-occurred_at", "-id")[:limit]
    )
    decisions: dict[int, list[DecisionLine]] = {}
    for decision in (
        InvitationDecision.objects.filter(
            organisation=scope.organisation, event_id__in=[event.pk for event in events]
        )
        .select_related("rule", "contact_rule", "invitation")
        .order_by("event_id", "id")
    ):
        invitation = decision.invitation
        decisions.setdefault(decision.event_id, []).append(
            DecisionLine(
                rule_name=decision.rule.name if decision.rule else "",
                outcome=decision.outcome,
                outcome_label=str(DecisionOutcome(decision.outcome).label),
                reason=decision.reason,
                reason_label=str(SkipReason(decision.reason).label) if decision.reason else "",
                contact_rule_name=decision.contact_rule.name if decision.contact_rule else "",
                detail=decision.detail,
                invitation_id=invitation.pk if invitation else None,
                invitation_status=invitation.status if invitation else "",
                invitation_status_label=(
                    str(InvitationStatus(invitation.status).label) if invitation else ""
                ),
                delivery=invitation.delivery if invitation else "",
            )
        )
    return [
        EventDecisions(
            event_id=event.pk,
            event_type=event.event_type,
            occurred_at=event.occurred_at,
            channel=event.channel,
            touchpoint=event.touchpoint,
            unit_name=event.unit.name if event.unit else "",
            decisions=decisions.get(event.pk, []),
        )
        for event in events
    ]
