"""Opening cases: a completed response that an alert rule picks out, or an account gone silent.

For a response, the organisation's active rules are tried in the order they win (the most urgent
first, then by position) and the first that matches opens the case with its priority. The
options the customer chose that map to problems code the case at once, which decides its loop
and function; the owner is found as `sonda.loop.routing` says. One response opens one case at
most, ever: evaluating it again returns the case it opened (a unique constraint holds this
against two workers at once), and a closed case is reopened rather than opened twice.

Positive responses that name an employee (the interaction's context, or their full name in an
open answer) are recorded as praise for that employee, once per response and employee.

The evaluation itself is `sonda.loop.conditions` over plain data; this module loads that data.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from sonda.core.errors import ValidationFailed
from sonda.loop.conditions import (
    NonResponseCondition,
    ResponseFacts,
    RuleSpec,
    conditions_parse,
    fold,
    names_mentioned,
    rule_winner,
    rules_ordered,
)
from sonda.loop.models import (
    AlertRule,
    Case,
    CaseEventKind,
    CaseProblem,
    CodingSource,
    LoopSettings,
    Praise,
    PraiseSource,
    Problem,
    ProblemMapping,
)
from sonda.loop.routing import CodedProblem, case_owner_find, loop_decision
from sonda.loop.sla import case_deadlines, sla_clock
from sonda.loop.timeline import case_event_record
from sonda.org.models import Person, Unit
from sonda.surveys.models import (
    CHOICE_KINDS,
    Answer,
    Question,
    QuestionKind,
    Response,
    ResponseStatus,
)

logger = logging.getLogger(__name__)

AnswerRow = tuple[str, str, float | None, str, str]  # key, kind, number, choice, text


# Loading plain data ------------------------------------------------------------------------------


def alert_rule_specs(organisation_id: int) -> list[RuleSpec]:
    """The organisation's active rules as plain data (a rule that no longer parses is skipped)."""
    specs: list[RuleSpec] = []
    for rule in AlertRule.objects.filter(organisation_id=organisation_id, is_active=True):
        try:
            conditions = conditions_parse(rule.conditions)
        except ValidationFailed:
            logger.warning("alert rule %s has conditions that no longer parse; skipped", rule.pk)
            continue
        specs.append(
            RuleSpec.of(
                rule_id=rule.pk,
                priority=rule.priority,
                position=rule.position,
                program_id=rule.program_id,
                survey_id=rule.survey_id,
                conditions=conditions,
            )
        )
    return specs


def facts_from_rows(
    *,
    response_id: int,
    program_id: int,
    survey_id: int,
    language: str,
    promoter_min: int,
    detractor_max: int,
    rows: Iterable[AnswerRow],
) -> ResponseFacts:
    """A response's facts from its answer rows (key, kind, number, choice, text)."""
    scores: dict[str, float] = {}
    choices: dict[str, set[str]] = {}
    texts: dict[str, str] = {}
    for key, kind, number, choice, text in rows:
        if kind in CHOICE_KINDS:
            if choice:
                choices.setdefault(key, set()).add(choice)
        elif kind == QuestionKind.TEXT:
            if text:
                texts[key] = fold(text)
        elif number is not None:
            scores[key] = number
    return ResponseFacts(
        response_id=response_id,
        program_id=program_id,
        survey_id=survey_id,
        language=language,
        scores=scores,
        choices={key: frozenset(codes) for key, codes in choices.items()},
        texts=texts,
        promoter_min=promoter_min,
        detractor_max=detractor_max,
    )


def _answer_rows(response: Response) -> list[AnswerRow]:
    return list(
        Answer.objects.filter(response=response)
        .order_by("question_key", "value_choice")
        .values_list("question_key", "kind", "value_number", "value_choice", "value_text")
    )


def response_facts(response: Response, rows: Sequence[AnswerRow] | None = None) -> ResponseFacts:
    program = response.survey.program
    return facts_from_rows(
        response_id=response.pk,
        program_id=program.pk,
        survey_id=response.survey_id,
        language=response.language,
        promoter_min=program.promoter_min,
        detractor_max=program.detractor_max,
        rows=rows if rows is not None else _answer_rows(response),
    )


MappingTable = Mapping[tuple[str, str], int]  # (question key, option code) → problem id


def problem_mapping_table(*, organisation_id: int, survey_id: int, version_id: int) -> MappingTable:
    """Which problem each option reports in this survey version.

    A mapping of this survey beats one for every survey, which beats the problem code written on
    the option in the survey builder. Inactive problems report nothing.
    """
    active = dict(
        Problem.objects.filter(organisation_id=organisation_id, is_active=True).values_list(
            "code", "pk"
        )
    )
    active_ids = set(active.values())
    table: dict[tuple[str, str], int] = {}
    questions = Question.objects.filter(version_id=version_id, kind__in=CHOICE_KINDS)
    for question in questions.only("key", "options"):
        for option in question.options or []:
            code = option.get("problem", "") if isinstance(option, dict) else ""
            if code and code in active:
                table[(question.key, str(option.get("code", "")))] = active[code]
    mappings = ProblemMapping.objects.filter(
        Q(survey_id=survey_id) | Q(survey__isnull=True), organisation_id=organisation_id
    )
    # Every-survey mappings first, so that this survey's own overwrite them.
    for key, option, problem_id, for_survey in sorted(
        mappings.values_list("question_key", "option_code", "problem_id", "survey_id"),
        key=lambda row: row[3] is not None,
    ):
        if problem_id in active_ids:
            table[(key, option)] = problem_id
        elif for_survey is not None:
            table.pop((key, option), None)
    return table


def mapped_problem_ids(facts: ResponseFacts, table: MappingTable) -> list[int]:
    """The problems the response's chosen options report, each once, in answer order."""
    found: list[int] = []
    for key, codes in facts.choices.items():
        for code in sorted(codes):
            problem_id = table.get((key, code))
            if problem_id is not None and problem_id not in found:
                found.append(problem_id)
    return found


def loop_settings_of(organisation_id: int) -> LoopSettings:
    """The organisation's loop settings, created with the defaults when first asked for."""
    settings, _created = LoopSettings.objects.get_or_create(organisation_id=organisation_id)
    return settings


# Opening a case for a response -------------------------------------------------------------------


def cases_open_for_response(*, response_id: int, now: datetime | None = None) -> Case | None:
    """The case the response opens (or opened before), or None when no rule picks it out."""
    existing = Case.objects.filter(response_id=response_id).first()
    if existing is not None:
        return existing
    response = (
        Response.objects.select_related(
            "survey__program", "employee__supervisor", "employee__unit__manager", "unit__manager"
        )
        .filter(pk=response_id)
        .first()
    )
    if response is None or response.status != ResponseStatus.COMPLETE:
        return None
    rules = rules_ordered(alert_rule_specs(response.organisation_id))
    if not rules:
        return None
    facts = response_facts(response)
    rule = rule_winner(rules, facts)
    if rule is None:
        return None
    table = problem_mapping_table(
        organisation_id=response.organisation_id,
        survey_id=response.survey_id,
        version_id=response.version_id,
    )
    return _case_open(
        response=response,
        rule=rule,
        problem_ids=mapped_problem_ids(facts, table),
        at=now or timezone.now(),
    )


def _case_open(
    *, response: Response, rule: RuleSpec, problem_ids: Sequence[int], at: datetime
) -> Case:
    employee = response.employee
    unit = response.unit or (employee.unit if employee is not None else None)
    problems = {
        p.pk: p for p in Problem.objects.select_related("owner_function").filter(pk__in=problem_ids)
    }
    coded = [
        CodedProblem(
            problem_id=pid,
            frontline_fixable=problems[pid].frontline_fixable,
            owner_function_id=(
                problems[pid].owner_function_id
                if problems[pid].owner_function is not None
                and problems[pid].owner_function.is_active  # type: ignore[union-attr]
                else None
            ),
        )
        for pid in problem_ids
        if pid in problems
    ]
    route = case_owner_find(organisation_id=response.organisation_id, employee=employee, unit=unit)
    loop, function_id = loop_decision(concerns_employee=employee is not None, problems=coded)
    deadlines = case_deadlines(
        clock=sla_clock(response.organisation_id), priority=rule.priority, opened_at=at
    )
    try:
        with transaction.atomic():
            case = Case.objects.create(
                organisation_id=response.organisation_id,
                response=response,
                program_id=response.survey.program_id,
                survey_id=response.survey_id,
                customer_id=response.customer_id,
                unit=unit,
                unit_path=unit.path if unit is not None else "",
                employee=employee,
                alert_rule_id=rule.rule_id,
                priority=rule.priority,
                loop=loop,
                owner_id=route.owner_id,
                owner_function_id=function_id,
                queue=route.owner_id is None,
                opened_at=at,
                **deadlines,
            )
            _record_opening(
                case, rule=rule, coded=coded, problems=problems, route_via=route.via, at=at
            )
    except IntegrityError:
        # Another worker opened the response's case first: that one is the case.
        winner = Case.objects.filter(response_id=response.pk).first()
        if winner is None:
            raise
        return winner
    return case


def _record_opening(
    case: Case,
    *,
    rule: RuleSpec,
    coded: Sequence[CodedProblem],
    problems: Mapping[int, Problem],
    route_via: str,
    at: datetime,
) -> None:
    case_event_record(
        case=case,
        kind=CaseEventKind.OPENED,
        at=at,
        data={"alert_rule": rule.rule_id, "priority": rule.priority},
    )
    if coded:
        CaseProblem.objects.bulk_create(
            CaseProblem(
                organisation_id=case.organisation_id,
                case=case,
                problem_id=c.problem_id,
                source=CodingSource.ANSWER,
            )
            for c in coded
        )
        case_event_record(
            case=case,
            kind=CaseEventKind.CODED,
            at=at,
            data={
                "added": [problems[c.problem_id].code for c in coded],
                "removed": [],
                "problems": [problems[c.problem_id].code for c in coded],
                "source": CodingSource.ANSWER,
            },
        )
    case_event_record(
        case=case,
        kind=CaseEventKind.ROUTED,
        at=at,
        data={"to_owner": case.owner_id, "via": route_via, "loop": case.loop},
    )
    if case.owner_function_id is not None:
        case_event_record(
            case=case,
            kind=CaseEventKind.LINKED,
            at=at,
            data={"from_function": None, "to_function": case.owner_function_id},
        )


# Accounts gone silent (non-response) -------------------------------------------------------------


def cases_open_for_silence(*, organisation_id: int, now: datetime | None = None) -> list[Case]:
    """Open a case for each account of a non-response rule's program that stopped answering.

    An account is silent when its last complete response to the program is older than the
    rule's days. One case per rule, account and silence (keyed by that last response's time),
    however often this runs; customers who asked not to be contacted, erased or merged
    profiles are left alone.
    """
    at = now or timezone.now()
    opened: list[Case] = []
    for rule in alert_rule_specs(organisation_id):
        condition = next((c for c in rule.conditions if isinstance(c, NonResponseCondition)), None)
        if condition is None or rule.program_id is None:
            continue
        responses = Response.objects.filter(
            organisation_id=organisation_id,
            survey__program_id=rule.program_id,
            status=ResponseStatus.COMPLETE,
            customer__isnull=False,
            customer__merged_into__isnull=True,
            customer__erased_at__isnull=True,
            customer__do_not_contact=False,
        )
        if rule.survey_id is not None:
            responses = responses.filter(survey_id=rule.survey_id)
        last_unit = Subquery(
            responses.filter(customer_id=OuterRef("customer_id"))
            .order_by("-completed_at", "-id")
            .values("unit_id")[:1]
        )
        silent = (
            responses.order_by()
            .values("customer_id")
            .annotate(last=Max("completed_at"), last_unit_id=last_unit)
            .filter(last__lt=at - timedelta(days=condition.days))
            .order_by("customer_id")
        )
        known = set(
            Case.objects.filter(alert_rule_id=rule.rule_id, response__isnull=True).values_list(
                "customer_id", "silent_since"
            )
        )
        for row in silent:
            if (row["customer_id"], row["last"]) in known:
                continue
            case = _silence_case_open(
                organisation_id=organisation_id,
                rule=rule,
                customer_id=row["customer_id"],
                silent_since=row["last"],
                unit_id=row["last_unit_id"],
                at=at,
            )
            if case is not None:
                opened.append(case)
    return opened


def _silence_case_open(
    *,
    organisation_id: int,
    rule: RuleSpec,
    customer_id: int,
    silent_since: datetime,
    unit_id: int | None,
    at: datetime,
) -> Case | None:
    unit = (
        Unit.objects.select_related("manager").filter(pk=unit_id).first()
        if unit_id is not None
        else None
    )
    route = case_owner_find(organisation_id=organisation_id, employee=None, unit=unit)
    deadlines = case_deadlines(
        clock=sla_clock(organisation_id), priority=rule.priority, opened_at=at
    )
    try:
        with transaction.atomic():
            case = Case.objects.create(
                organisation_id=organisation_id,
                program_id=rule.program_id,
                survey_id=rule.survey_id,
                customer_id=customer_id,
                unit=unit,
                unit_path=unit.path if unit is not None else "",
                alert_rule_id=rule.rule_id,
                priority=rule.priority,
                owner_id=route.owner_id,
                queue=route.owner_id is None,
                silent_since=silent_since,
                opened_at=at,
                **deadlines,
            )
            case_event_record(
                case=case,
                kind=CaseEventKind.OPENED,
                at=at,
                data={
                    "alert_rule": rule.rule_id,
                    "priority": rule.priority,
                    "silent_since": silent_since.isoformat(),
                },
            )
            case_event_record(
                case=case,
                kind=CaseEventKind.ROUTED,
                at=at,
                data={"to_owner": case.owner_id, "via": route.via, "loop": case.loop},
            )
    except IntegrityError:
        return None  # another run opened it at the same moment
    return case


# Praise ------------------------------------------------------------------------------------------


def praise_record_for_response(*, response_id: int) -> list[Praise]:
    """Praise for the employees a positive response names; the praise it holds afterwards.

    Positive: every 0–10 recommendation answer is a promoter's. Named: the employee of the
    interaction, or a colleague of the response's unit whose full name an open answer contains.
    """
    response = (
        Response.objects.select_related("survey__program", "unit")
        .filter(pk=response_id, status=ResponseStatus.COMPLETE)
        .first()
    )
    if response is None:
        return []
    rows = _answer_rows(response)
    program = response.survey.program
    recommendations = [
        n for _k, kind, n, _c, _t in rows if kind == QuestionKind.NPS and n is not None
    ]
    if not recommendations or min(recommendations) < program.promoter_min:
        return list(Praise.objects.filter(response=response))
    named: dict[int, str] = {}
    if response.employee_id is not None:
        named[response.employee_id] = PraiseSource.CONTEXT
    texts = [t for _k, kind, _n, _c, t in rows if kind == QuestionKind.TEXT and t]
    if texts and response.unit is not None:
        colleagues = dict(
            Person.objects.filter(
                organisation_id=response.organisation_id,
                unit__path__startswith=response.unit.path,
                is_active=True,
            ).values_list("pk", "full_name")
        )
        for text in texts:
            for person_id in names_mentioned(fold(text), colleagues):
                named.setdefault(person_id, PraiseSource.TEXT)
    for person_id, source in named.items():
        Praise.objects.get_or_create(
            organisation_id=response.organisation_id,
            response=response,
            employee_id=person_id,
            defaults={"source": source},
        )
    return list(Praise.objects.filter(response=response).order_by("id"))


def loop_evaluate_response(*, response_id: int, now: datetime | None = None) -> Case | None:
    """Everything the loop does with a newly completed response: its case and its praise."""
    case = cases_open_for_response(response_id=response_id, now=now)
    praise_record_for_response(response_id=response_id)
    return case
