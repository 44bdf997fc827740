"""The demo bank closes the loop: its problem taxonomy, HQ functions, alert rules, SLAs, and eight
months of cases, coaching and praise.

The bank started closing the loop on LOOP_LIVE (March 2026), while the troubled app release of
sonda.demo.experience still hurt, so its cases tell the story the answers tell: callbacks find
logins broken by the release in March, fewer in April as the fix rolls out, none after; queues on
Monday mornings; a weaker Nord-Est region. Everything the product lets an analyst configure is
configured through the loop's services as the demo's CX analyst: the taxonomy in en/ro/pl with
owning functions, option mappings from the surveys' reasons, alert rules, SLA targets and the
Romanian business calendar. The cases are then opened by the bulk evaluator (`sonda.loop.bulk`),
as the sweep would have opened them a minute after each answer, and their lives until the
reference date are drawn by sonda.demo.loop_lives: callbacks, root causes, closing, reopening,
SLA warnings and escalations, coaching, executive callbacks. Praise goes to the employees that
promoters' interactions name. Eight months keep the full demo's extra time to seconds (about
13,000 cases) while still showing the release's problem come and go.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import F, Max, Min, QuerySet
from django.utils import timezone

from sonda.accounts.access import Scope, scope_for
from sonda.accounts.models import User
from sonda.demo.bank import ANALYST_LOGIN
from sonda.demo.loop_lives import case_lives_write
from sonda.demo.loop_world import LoopWorld
from sonda.demo.questionnaires import CALL_SURVEY
from sonda.demo.specs import REFERENCE_DATE, OrganisationSpec
from sonda.demo.writing import DemoOrganisation
from sonda.loop.bulk import cases_open_bulk, rows_insert
from sonda.loop.models import (
    AlertRule,
    Function,
    LoopSettings,
    Praise,
    PraiseSource,
    Problem,
    ProblemMapping,
    SlaTarget,
)
from sonda.loop.rules import alert_rule_create
from sonda.loop.sla import business_calendar_set, sla_clock, sla_target_set
from sonda.loop.taxonomy import function_create, problem_create, problem_mapping_set
from sonda.surveys.models import Answer, QuestionKind, Response, Survey

# Monday 2 March 2026, 09:00 in Bucharest.
LOOP_LIVE = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
CONFIGURED = LOOP_LIVE - timedelta(days=14)
# The sweep evaluates completed responses every minute.
SWEEP_DELAY = timedelta(minutes=1)
BANK_ZONE = "Europe/Bucharest"

Labels = tuple[str, str, str]  # en, ro, pl

# HQ functions: name, what they own, mailbox, the unit whose manager leads it (when it exists).
FUNCTIONS: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "Retail operations",
        "The branch network: staffing, queues, procedures and opening hours.",
        "retail.operations",
        "HQ-OPS",
    ),
    ("Contact centre", "Routing, transfers and waiting on the line.", "contact.centre", "RO-CC"),
    ("Digital", "The mobile app and internet banking.", "digital", "HQ-IT"),
    ("Pricing", "Fees, charges and rates.", "pricing", None),
    ("Products", "Cards, savings, loans and what the offer lacks.", "products", "HQ-LEND"),
    ("Billing & payments", "Statements, charges and their corrections.", "billing", "HQ-PAY"),
    ("HR & training", "Recruitment, product training and service standards.", "hr", None),
)

# The taxonomy: (code, labels, owning function, the frontline can fix it) under each top level.
TAXONOMY: tuple[tuple[str, Labels, tuple[tuple[str, Labels, str, bool], ...]], ...] = (
    (
        "staff",
        ("Staff", "Personal", "Personel"),
        (
            ("staff.attitude", ("Attitude", "Atitudine", "Postawa"), "HR & training", True),
            (
                "staff.competence",
                ("Competence", "Competență", "Kompetencje"),
                "HR & training",
                False,
            ),
            (
                "staff.information",
                (
                    "Wrong or unclear information",
                    "Informații greșite sau neclare",
                    "Błędne lub niejasne informacje",
                ),
                "HR & training",
                True,
            ),
        ),
    ),
    (
        "process",
        ("Process", "Proces", "Proces"),
        (
            (
                "process.waiting",
                ("Waiting time", "Timp de așteptare", "Czas oczekiwania"),
                "Retail operations",
                False,
            ),
            (
                "process.staffing",
                (
                    "Too few desks open at peak hours",
                    "Prea puține ghișee deschise la orele de vârf",
                    "Za mało otwartych stanowisk w godzinach szczytu",
                ),
                "Retail operations",
                False,
            ),
            (
                "process.paperwork",
                ("Paperwork", "Birocrație", "Formalności"),
                "Retail operations",
                False,
            ),
            (
                "process.transfers",
                ("Call transfers", "Transferuri între consultanți", "Przełączanie rozmów"),
                "Contact centre",
                False,
            ),
        ),
    ),
    (
        "product",
        ("Product", "Produs", "Produkt"),
        (
            (
                "product.availability",
                ("Availability", "Disponibilitate", "Dostępność"),
                "Products",
                False,
            ),
            (
                "product.fit",
                (
                    "Offer does not fit the customer's needs",
                    "Oferta nu se potrivește nevoilor clientului",
                    "Oferta niedopasowana do potrzeb klienta",
                ),
                "Products",
                False,
            ),
            ("product.fees", ("Fees", "Comisioane", "Opłaty"), "Pricing", False),
        ),
    ),
    (
        "billing",
        ("Billing", "Facturare", "Rozliczenia"),
        (
            (
                "billing.wrong_charge",
                (
                    "Wrong bill or charge",
                    "Extras sau debitare greșită",
                    "Błędny wyciąg lub obciążenie",
                ),
                "Billing & payments",
                False,
            ),
        ),
    ),
    (
        "digital",
        ("Digital", "Digital", "Bankowość cyfrowa"),
        (
            (
                "digital.app_errors",
                ("App errors", "Erori în aplicație", "Błędy aplikacji"),
                "Digital",
                False,
            ),
            (
                "digital.login",
                (
                    "Cannot log in to the app",
                    "Autentificare imposibilă în aplicație",
                    "Brak możliwości logowania do aplikacji",
                ),
                "Digital",
                False,
            ),
        ),
    ),
    (
        "branch",
        ("Branch", "Sucursală", "Oddział"),
        (
            (
                "branch.opening_hours",
                ("Opening hours", "Program de lucru", "Godziny otwarcia"),
                "Retail operations",
                False,
            ),
        ),
    ),
)

# The surveys' reasons (sonda.demo.questionnaires) and the problems they report.
REASON_PROBLEMS = {
    "waiting_time": "process.waiting",
    "staff_attitude": "staff.attitude",
    "wrong_information": "staff.information",
    "fees": "product.fees",
    "app_problems": "digital.app_errors",
    "process_complex": "process.paperwork",
    "opening_hours": "branch.opening_hours",
    "transfers": "process.transfers",
    "product_offer": "product.fit",
}

RUDE = {
    "en": ["rude", "impolite", "unprofessional"],
    "ro": ["nepoliticos*", "nepoliticoas*", "obraznic*"],
    "pl": ["niegrzeczn*", "nieuprzejm*", "opryskliw*"],
}
# Business hours to the first contact, to closing, and the warning's lead, per priority.
SLA_TARGETS = {"urgent": (4, 16, 1), "high": (8, 40, 2), "normal": (16, 80, 4), "low": (24, 120, 4)}
# Romanian public holidays of 2025 and 2026 (Orthodox Easter and Pentecost included).
HOLIDAYS = (
    "2025-01-01",
    "2025-01-02",
    "2025-01-06",
    "2025-01-07",
    "2025-01-24",
    "2025-04-18",
    "2025-04-20",
    "2025-04-21",
    "2025-05-01",
    "2025-06-01",
    "2025-06-08",
    "2025-06-09",
    "2025-08-15",
    "2025-11-30",
    "2025-12-01",
    "2025-12-25",
    "2025-12-26",
    "2026-01-01",
    "2026-01-02",
    "2026-01-06",
    "2026-01-07",
    "2026-01-24",
    "2026-04-10",
    "2026-04-12",
    "2026-04-13",
    "2026-05-01",
    "2026-05-31",
    "2026-06-01",
    "2026-08-15",
    "2026-11-30",
    "2026-12-01",
    "2026-12-25",
    "2026-12-26",
)


@dataclass(frozen=True)
class LoopSummary:
    problems: int
    functions: int
    alert_rules: int
    cases: int
    states: Counter[str] = field(default_factory=Counter)
    reopened: int = 0
    escalated: int = 0
    events: int = 0
    coaching_notes: int = 0
    praise: int = 0
    executive_callbacks: int = 0
    open_in_queue: int = 0


def _labels(labels: Labels) -> dict[str, str]:
    return dict(zip(("en", "ro", "pl"), labels, strict=True))


def _analyst(bank: DemoOrganisation) -> Scope:
    scope = scope_for(User.objects.get(email=ANALYST_LOGIN), bank.organisation)
    if scope is None:
        raise RuntimeError("the demo analyst is not a member of the demo bank")
    return scope


def _functions_create(
    scope: Scope, bank: DemoOrganisation, spec: OrganisationSpec
) -> dict[str, Function]:
    """The HQ functions, led by the heads of their HQ units where the scale has them.

    The demo's HQ staff have no logins; the CX analyst stands in as a member of each function, so
    every function has someone who hears of its cases.
    """
    heads = {p.manages: p.number for p in spec.people if p.manages}
    domain = spec.people[0].email.partition("@")[2]
    functions = {}
    for name, description, mailbox, unit in FUNCTIONS:
        head = heads.get(unit) if unit else None
        functions[name] = function_create(
            scope=scope,
            name=name,
            description=description,
            email=f"{mailbox}@{domain}",
            lead_id=bank.people[head].pk if head else None,
            member_ids=[scope.user.pk],
        )
    return functions


def _taxonomy_create(scope: Scope, functions: dict[str, Function]) -> dict[str, Problem]:
    problems: dict[str, Problem] = {}
    for top_position, (code, labels, leaves) in enumerate(TAXONOMY):
        top = problem_create(scope=scope, code=code, labels=_labels(labels), position=top_position)
        problems[code] = top
        for position, (leaf, leaf_labels, function, fixable) in enumerate(leaves):
            problems[leaf] = problem_create(
                scope=scope,
                code=leaf,
                labels=_labels(leaf_labels),
                parent_id=top.pk,
                owner_function_id=functions[function].pk,
                frontline_fixable=fixable,
                position=position,
            )
    for option, code in REASON_PROBLEMS.items():
        problem_mapping_set(
            scope=scope, question_key="reasons", option_code=option, problem_id=problems[code].pk
        )
    return problems


def _rules_create(scope: Scope) -> list[AlertRule]:
    """Rude staff first, then angry detractors and what they tick, then every detractor."""
    call = Survey.objects.get(organisation=scope.organisation, name=CALL_SURVEY)
    rules: list[tuple[str, list[dict[str, Any]], str, dict[str, Any]]] = [
        ("Rude staff mentioned", [{"kind": "words", "phrases": RUDE}], "urgent", {}),
        ("Angry detractors (0–3)", [{"kind": "score", "question": "ltr", "max": 3}], "high", {}),
        (
            "Staff attitude ticked",
            [{"kind": "answer", "question": "reasons", "options": ["staff_attitude"]}],
            "high",
            {},
        ),
        (
            "Competitor mentioned",
            [{"kind": "competitor", "names": ["Danubia Bank", "Vistula Bank"]}],
            "high",
            {},
        ),
        (
            "Detractors",
            [{"kind": "loyalty", "question": "ltr", "classes": ["detractor"]}],
            "normal",
            {},
        ),
        (
            "Unhappy with the call (CSAT 1–2)",
            [{"kind": "score", "question": "csat", "max": 2}],
            "normal",
            {"survey_id": call.pk},
        ),
        (
            "Hard to get it handled (CES 1)",
            [{"kind": "score", "question": "ces", "max": 1}],
            "low",
            {"survey_id": call.pk},
        ),
    ]
    return [
        alert_rule_create(
            scope=scope,
            name=name,
            conditions=conditions,
            priority=priority,
            position=position * 10,
            **where,
        )
        for position, (name, conditions, priority, where) in enumerate(rules)
    ]


def _service_levels_set(scope: Scope) -> None:
    for priority, (first_contact, close, warn) in SLA_TARGETS.items():
        sla_target_set(
            scope=scope,
            priority=priority,
            first_contact_hours=first_contact,
            close_hours=close,
            warn_before_hours=warn,
        )
    working_day = [{"start": "09:00", "end": "17:00"}]
    business_calendar_set(
        scope=scope,
        calendar={
            "time_zone": BANK_ZONE,
            "hours": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), working_day),
            "holidays": list(HOLIDAYS),
        },
    )


def _dated(queryset: "QuerySet[Any]") -> None:
    queryset.update(created_at=CONFIGURED, updated_at=CONFIGURED)


def _praise_write(organisation_id: int, rng: random.Random) -> int:
    """Praise for every employee that a promoter's interaction named since the loop went live.

    As `praise_record_for_response` decides it: every 0–10 recommendation of the response is a
    promoter's. Praise older than a few days has been seen.
    """
    rows = (
        Answer.objects.filter(
            organisation_id=organisation_id,
            kind=QuestionKind.NPS,
            is_complete=True,
            employee__isnull=False,
            answered_at__gte=LOOP_LIVE,
            answered_at__lt=REFERENCE_DATE,
        )
        .values("response_id", "employee_id", "program__promoter_min")
        .annotate(lowest=Min("value_number"), at=Max("answered_at"))
        .filter(lowest__gte=F("program__promoter_min"))
        .order_by("response_id")
        .values_list("response_id", "employee_id", "at")
    )
    praise = []
    for response_id, employee_id, answered in rows:
        at = answered + SWEEP_DELAY
        seen = at + timedelta(hours=rng.uniform(2, 72))
        praise.append(
            {
                "organisation_id": organisation_id,
                "response_id": response_id,
                "employee_id": employee_id,
                "source": PraiseSource.CONTEXT.value,
                "seen_at": seen if seen < REFERENCE_DATE and rng.random() < 0.85 else None,
                "created_at": at,
                "updated_at": at,
            }
        )
    rows_insert(Praise, praise, stamp=REFERENCE_DATE)
    return len(praise)


def loop_generate(
    *, rng: random.Random, bank: DemoOrganisation, spec: OrganisationSpec
) -> LoopSummary:
    """The bank's loop configuration, its cases since LOOP_LIVE with their lives, and praise."""
    scope = _analyst(bank)
    organisation = bank.organisation
    functions = _functions_create(scope, bank, spec)
    problems = _taxonomy_create(scope, functions)
    rules = _rules_create(scope)
    _service_levels_set(scope)
    for model in (Function, Problem, ProblemMapping, AlertRule, SlaTarget, LoopSettings):
        _dated(model.objects.filter(organisation=organisation))
    before = (
        Response.objects.filter(organisation=organisation, started_at__lt=LOOP_LIVE)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    opening = cases_open_bulk(
        organisation_id=organisation.pk,
        after_id=before or 0,
        opened_after_completion=SWEEP_DELAY,
    )
    world = LoopWorld.load(
        bank=bank,
        spec=spec,
        clock=sla_clock(organisation.pk),
        problems={code: p.pk for code, p in problems.items()},
        reference=REFERENCE_DATE,
        swept_until=max(timezone.now(), REFERENCE_DATE),
    )
    lives = case_lives_write(rng=rng, world=world, case_ids=opening.case_ids)
    praise = _praise_write(organisation.pk, rng)
    return LoopSummary(
        problems=len(problems),
        functions=len(functions),
        alert_rules=len(rules),
        cases=opening.opened,
        states=lives.states,
        reopened=lives.reopened,
        escalated=lives.escalated,
        events=lives.events,
        coaching_notes=lives.coaching_notes,
        praise=praise,
        executive_callbacks=lives.callbacks,
        open_in_queue=lives.queued,
    )
