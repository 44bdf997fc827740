"""The dry run: what trigger rules would have done over past events, before switching them on.

It replays the stored events of a period through the very decisions the engine makes
(`sonda.listening.decisions.decide_event`), with a contact history seeded from the real
invitations and responses before the period and kept in memory as it goes. Nothing is written.

From the invitations it would have made it estimates the responses (the survey's historical
response rate, else the organisation's) and the margin of error of the NPS those responses would
give per unit and month (see "Required sample" in the domain): 1.96·√(Var/n)·100 points, with Var
from the unit's history of the survey's NPS answers, or the worst case Var = 1 without history.
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import ValidationFailed
from sonda.listening.decisions import (
    EVENT_FIELDS,
    CustomerFacts,
    Quotas,
    RuleFacts,
    decide_event,
    event_facts,
    load_customers,
    load_rules,
    local_day_start,
    organisation_clock,
)
from sonda.listening.models import Event, Invitation, InvitationStatus, RuleStatus, TriggerRule
from sonda.listening.policy import ContactPolicy
from sonda.org.models import Unit
from sonda.surveys.models import Answer, QuestionKind, Survey

MAX_DAYS = 366
CHUNK = 5000
Z95 = 1.96
WORST_CASE_VARIANCE = 1.0
# An invitation counts as sent once it left (email/SMS) or was at least opened (a link).
SENT = Q(sent_at__isnull=False) | Q(
    status__in=[InvitationStatus.OPENED, InvitationStatus.STARTED, InvitationStatus.COMPLETED]
)


@dataclass(frozen=True)
class RuleOutcome:
    rule_id: int
    name: str
    status: str
    survey_id: int
    survey_name: str
    invitations: int
    skips: dict[str, int]
    left_out: str = ""  # why the rule cannot invite anyone ("" when it can)


@dataclass(frozen=True)
class DayUnitChannel:
    day: date
    unit_id: int | None
    unit_name: str
    channel: str
    invitations: int


@dataclass(frozen=True)
class ResponseRate:
    survey_id: int
    survey_name: str
    rate: float | None
    source: str  # "survey", "organisation" or "none"
    sent: int
    completed: int


@dataclass(frozen=True)
class UnitMonth:
    month: str  # YYYY-MM
    unit_id: int | None
    unit_name: str
    survey_id: int
    survey_name: str
    invitations: int
    expected_responses: float
    variance: float
    variance_source: str  # "history" or "worst_case"
    history_answers: int
    margin: float | None  # ± NPS points at 95%; None without expected responses
    needed_responses: int  # for the target margin, with the same variance


@dataclass(frozen=True)
class Simulation:
    date_from: date
    date_to: date
    events: int
    invitations: int
    expected_responses: float
    rules: list[RuleOutcome]
    by_day_unit_channel: list[DayUnitChannel]
    by_channel: dict[str, int]
    skips: dict[str, int]
    skips_by_contact_rule: dict[str, int]
    response_rates: list[ResponseRate]
    by_unit_month: list[UnitMonth]
    margin_target: float = 5.0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def nps_margin(*, variance: float, n: float) -> float | None:
    """The 95% margin of error in NPS points of n answers with per-answer variance `variance`."""
    if n <= 0:
        return None
    return Z95 * math.sqrt(variance / n) * 100


def responses_needed(*, variance: float, margin: float) -> int:
    """Answers needed for a 95% margin of `margin` NPS points: 1.96²·Var·100²/E²."""
    return math.ceil(Z95**2 * variance * 100**2 / margin**2)


def _check(
    scope: Scope, rule_ids: Sequence[int], date_from: date, date_to: date, margin_target: float
) -> None:
    scope.require(CONFIGURE, "run trigger rules over past events")
    if margin_target <= 0:
        raise ValidationFailed.on("margin_target", "must be more than 0 points")
    if date_to < date_from:
        raise ValidationFailed.on("date_to", "must not be before date_from")
    if (date_to - date_from).days >= MAX_DAYS:
        raise ValidationFailed.on("date_to", f"a dry run covers at most {MAX_DAYS} days")
    known = set(
        TriggerRule.objects.filter(organisation=scope.organisation, pk__in=rule_ids).values_list(
            "id", flat=True
        )
    )
    unknown = [str(rule_id) for rule_id in rule_ids if rule_id not in known]
    if unknown:
        raise ValidationFailed.on("rule_ids", f"no trigger rule with id {', '.join(unknown)}")


def simulate_rules(
    *,
    scope: Scope,
    rule_ids: Sequence[int],
    date_from: date,
    date_to: date,
    margin_target: float = 5.0,
) -> Simulation:
    """The active rules, and those named (even paused), over the events of [date_from, date_to]
    in the organisation's time zone. Writes nothing."""
    _check(scope, rule_ids, date_from, date_to, margin_target)
    organisation_id = scope.organisation_id
    rules, excluded = load_rules(organisation_id=organisation_id, also=rule_ids)
    _quiet, zone = organisation_clock(organisation_id)
    start = local_day_start(date_from, zone)
    end = local_day_start(date_to + timedelta(days=1), zone)
    policy = ContactPolicy.of_organisation(organisation_id)
    quotas = Quotas()

    customers: dict[int, CustomerFacts] = {}
    invited_by_rule: Counter[int] = Counter()
    skips_by_rule: dict[int, Counter[str]] = {rule.id: Counter() for rule in rules}
    day_unit_channel: Counter[tuple[date, int | None, str]] = Counter()
    unit_month: Counter[tuple[str, int | None, int]] = Counter()
    skips: Counter[str] = Counter()
    by_contact_rule: Counter[int] = Counter()
    events = 0
    events_in_period = Event.objects.filter(
        organisation_id=organisation_id, occurred_at__gte=start, occurred_at__lt=end
    ).order_by("occurred_at", "id")
    after: tuple[datetime, int] | None = None
    while True:
        page = events_in_period
        if after is not None:
            page = page.filter(
                Q(occurred_at__gt=after[0]) | Q(occurred_at=after[0], id__gt=after[1])
            )
        rows = list(page.values(*EVENT_FIELDS)[:CHUNK])
        if not rows:
            break
        after = (rows[-1]["occurred_at"], rows[-1]["id"])
        new = sorted({row["customer_id"] for row in rows if row["customer_id"]} - customers.keys())
        customers.update(load_customers(organisation_id=organisation_id, customer_ids=new))
        # The history before the period is real; within it, only what the dry run decides.
        policy.load(
            organisation_id=organisation_id, customer_ids=new, lo=policy.look_back(start), hi=start
        )
        for event in event_facts(rows, customers, zone):
            events += 1
            for verdict in decide_event(event, rules, policy, quotas):
                rule = verdict.rule
                if verdict.invited:
                    assert rule is not None
                    invited_by_rule[rule.id] += 1
                    day_unit_channel[(event.day, event.unit_id, verdict.delivery)] += 1
                    month = event.occurred_at.astimezone(zone).strftime("%Y-%m")
                    unit_month[(month, event.unit_id, rule.survey_id)] += 1
                    continue
                skips[verdict.reason] += 1
                if rule is not None:
                    skips_by_rule[rule.id][verdict.reason] += 1
                if verdict.contact_rule_id is not None:
                    by_contact_rule[verdict.contact_rule_id] += 1

    survey_ids = {rule.survey_id for rule in rules}
    survey_names = dict(
        Survey.objects.filter(organisation_id=organisation_id).values_list("id", "name")
    )
    unit_ids = {key[1] for key in day_unit_channel} | {key[1] for key in unit_month}
    unit_names: dict[int | None, str] = {None: ""}
    unit_names.update(Unit.objects.filter(pk__in=unit_ids - {None}).values_list("id", "name"))
    rates = _response_rates(organisation_id, survey_ids, survey_names)
    rate_of = {rate.survey_id: rate.rate or 0.0 for rate in rates}
    variances = _variances(organisation_id, survey_ids, {key[1] for key in unit_month})

    by_unit_month = []
    for (month, unit_id, survey_id), invitations in sorted(
        unit_month.items(), key=lambda item: (item[0][0], unit_names.get(item[0][1], ""))
    ):
        expected = invitations * rate_of[survey_id]
        found = variances.get((survey_id, unit_id))
        variance, answers = found if found else (WORST_CASE_VARIANCE, 0)
        by_unit_month.append(
            UnitMonth(
                month=month,
                unit_id=unit_id,
                unit_name=unit_names.get(unit_id, ""),
                survey_id=survey_id,
                survey_name=survey_names.get(survey_id, ""),
                invitations=invitations,
                expected_responses=round(expected, 2),
                variance=round(variance, 4),
                variance_source="history" if found else "worst_case",
                history_answers=answers,
                margin=_rounded(nps_margin(variance=variance, n=expected)),
                needed_responses=responses_needed(variance=variance, margin=margin_target),
            )
        )

    by_channel: Counter[str] = Counter()
    for (_day, _unit, channel), n in day_unit_channel.items():
        by_channel[channel] += n
    contact_rule_names = {rule.id: rule.name for rule in policy.rules}
    notes = _notes(rules, excluded, rates, by_unit_month, margin_target)
    total = sum(invited_by_rule.values())
    return Simulation(
        date_from=date_from,
        date_to=date_to,
        events=events,
        invitations=total,
        expected_responses=round(sum(row.expected_responses for row in by_unit_month), 2),
        rules=_rule_outcomes(rules, excluded, invited_by_rule, skips_by_rule, survey_names),
        by_day_unit_channel=[
            DayUnitChannel(
                day=day,
                unit_id=unit_id,
                unit_name=unit_names.get(unit_id, ""),
                channel=channel,
                invitations=n,
            )
            for (day, unit_id, channel), n in sorted(
                day_unit_channel.items(),
                key=lambda item: (item[0][0], unit_names.get(item[0][1], ""), item[0][2]),
            )
        ],
        by_channel=dict(sorted(by_channel.items())),
        skips=dict(skips.most_common()),
        skips_by_contact_rule={
            contact_rule_names.get(rule_id, str(rule_id)): n
            for rule_id, n in by_contact_rule.most_common()
        },
        response_rates=rates,
        by_unit_month=by_unit_month,
        margin_target=margin_target,
        notes=notes,
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _response_rates(
    organisation_id: int, survey_ids: set[int], survey_names: dict[int, str]
) -> list[ResponseRate]:
    """Completed / sent invitations per survey; the organisation's overall rate for a survey
    without history."""
    sent = Invitation.objects.filter(SENT, organisation_id=organisation_id)
    per_survey = {
        row["survey_id"]: (row["sent"], row["completed"])
        for row in sent.filter(survey_id__in=survey_ids)
        .values("survey_id")
        .annotate(sent=Count("id"), completed=Count("id", filter=Q(status="completed")))
    }
    overall = sent.aggregate(sent=Count("id"), completed=Count("id", filter=Q(status="completed")))
    rates = []
    for survey_id in sorted(survey_ids):
        n_sent, n_completed = per_survey.get(survey_id, (0, 0))
        if n_sent:
            rate, source = n_completed / n_sent, "survey"
        elif overall["sent"]:
            rate, source = overall["completed"] / overall["sent"], "organisation"
            n_sent, n_completed = overall["sent"], overall["completed"]
        else:
            rate, source = None, "none"
        rates.append(
            ResponseRate(
                survey_id=survey_id,
                survey_name=survey_names.get(survey_id, ""),
                rate=None if rate is None else round(rate, 4),
                source=source,
                sent=n_sent,
                completed=n_completed,
            )
        )
    return rates


def _variances(
    organisation_id: int, survey_ids: set[int], unit_ids: set[int | None]
) -> dict[tuple[int, int | None], tuple[float, int]]:
    """(survey, unit) -> (variance of the +1/0/−1 NPS scores, number of answers), from the
    unit's own answers to the survey's NPS question (not those about a competitor)."""
    rows = (
        Answer.objects.filter(
            organisation_id=organisation_id,
            survey_id__in=survey_ids,
            unit_id__in=[unit for unit in unit_ids if unit is not None],
            kind=QuestionKind.NPS,
            value_number__isnull=False,
            question__competitor="",
        )
        .values("survey_id", "unit_id")
        .annotate(
            n=Count("id"),
            promoters=Count("id", filter=Q(value_number__gte=F("program__promoter_min"))),
            detractors=Count("id", filter=Q(value_number__lte=F("program__detractor_max"))),
        )
    )
    variances = {}
    for row in rows:
        n = row["n"]
        p, d = row["promoters"] / n, row["detractors"] / n
        variances[(row["survey_id"], row["unit_id"])] = (p + d - (p - d) ** 2, n)
    return variances


def _rule_outcomes(
    rules: list[RuleFacts],
    excluded: list[Any],
    invited: Counter[int],
    skips: dict[int, Counter[str]],
    survey_names: dict[int, str],
) -> list[RuleOutcome]:
    outcomes = [
        RuleOutcome(
            rule_id=rule.id,
            name=rule.name,
            status=rule.status,
            survey_id=rule.survey_id,
            survey_name=survey_names.get(rule.survey_id, ""),
            invitations=invited[rule.id],
            skips=dict(skips[rule.id].most_common()),
        )
        for rule in rules
    ]
    left_out = {
        rule.pk: rule for rule in TriggerRule.objects.filter(pk__in=[item.id for item in excluded])
    }
    for item in excluded:
        rule = left_out[item.id]
        outcomes.append(
            RuleOutcome(
                rule_id=item.id,
                name=item.name,
                status=rule.status,
                survey_id=rule.survey_id,
                survey_name=survey_names.get(rule.survey_id, ""),
                invitations=0,
                skips={},
                left_out=item.why,
            )
        )
    return outcomes


def _notes(
    rules: list[RuleFacts],
    excluded: list[Any],
    rates: list[ResponseRate],
    by_unit_month: list[UnitMonth],
    margin_target: float,
) -> list[str]:
    notes = [f"Rule '{item.name}' is left out: {item.why}." for item in excluded]
    paused = [rule.name for rule in rules if rule.status == RuleStatus.PAUSED]
    if paused:
        notes.append(f"Simulated as if switched on: {', '.join(paused)}.")
    if not rules:
        notes.append("No rule can invite anyone: switch a rule on or name one.")
    for rate in rates:
        if rate.source == "organisation":
            notes.append(
                f"'{rate.survey_name}' has no response history; the organisation's rate "
                f"({rate.rate:.1%}) is used."
            )
        elif rate.source == "none":
            notes.append(
                f"'{rate.survey_name}': no response history in the organisation; "
                "expected responses are not estimated."
            )
    if any(row.variance_source == "worst_case" for row in by_unit_month):
        notes.append(
            "Units without NPS answers to the survey use the worst case (variance 1) for the "
            "margin of error."
        )
    short = [row for row in by_unit_month if row.margin is not None and row.margin > margin_target]
    if short:
        notes.append(
            f"{len(short)} unit-month{'s' if len(short) != 1 else ''} would not reach "
            f"±{margin_target:g} points."
        )
    return notes
