"""Trigger rules, the contact policy and quiet hours over the API.

Admins and analysts write; executives read; managers and frontline employees are refused lists
(403) and do not find rules (404). Handlers parse, call a service or selector, and answer.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.params.functions import Query
from ninja.responses import Status

from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.listening import rules, rules_selectors
from sonda.listening.models import ContactRule, ListeningSettings, TriggerRule
from sonda.listening.rule_schemas import (
    ContactRuleCreateIn,
    ContactRuleOut,
    ContactRuleUpdateIn,
    ListeningSettingsIn,
    ListeningSettingsOut,
    TriggerRuleCreateIn,
    TriggerRuleOut,
    TriggerRuleUpdateIn,
    conditions_of,
)

trigger_rules_router = Router(tags=["trigger rules"])
contact_rules_router = Router(tags=["contact policy"])
settings_router = Router(tags=["contact policy"])


def _given(payload: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields the client sent, for a service's partial update (left out: KEEP)."""
    return {name: getattr(payload, name) for name in names if payload.given(name)}


# Trigger rules ---------------------------------------------------------------------------------


@trigger_rules_router.get(
    "", response=list[TriggerRuleOut], summary="List trigger rules in the order they are tried"
)
@paginate(Page)
def trigger_rule_list(
    request: HttpRequest,
    status: str | None = Query(None, description="active or paused: only those rules."),
) -> QuerySet[TriggerRule]:
    return rules_selectors.trigger_rule_list(scope=scope_of(request), status=status)


@trigger_rules_router.get("/{rule_id}", response=TriggerRuleOut, summary="Get a trigger rule")
def trigger_rule_get(request: HttpRequest, rule_id: int) -> TriggerRule:
    return rules_selectors.trigger_rule_get(scope=scope_of(request), rule_id=rule_id)


@trigger_rules_router.post(
    "", response={201: TriggerRuleOut}, summary="Create a trigger rule (paused by default)"
)
def trigger_rule_create(request: HttpRequest, payload: TriggerRuleCreateIn) -> Status[TriggerRule]:
    scope = scope_of(request)
    rule = rules.trigger_rule_create(
        scope=scope,
        name=payload.name,
        survey_id=payload.survey_id,
        status=payload.status,
        priority=payload.priority,
        event_types=payload.event_types,
        channels=payload.channels,
        unit_id=payload.unit_id,
        touchpoints=payload.touchpoints,
        conditions=conditions_of(payload.conditions),
        timing=payload.timing,
        delay_minutes=payload.delay_minutes,
        delivery_order=payload.delivery_order,
        sampling_percent=payload.sampling_percent,
        daily_quota_per_unit=payload.daily_quota_per_unit,
        also_evaluate_others=payload.also_evaluate_others,
        valid_days=payload.valid_days,
        reminder_after_days=payload.reminder_after_days,
    )
    return Status(201, rules_selectors.trigger_rule_get(scope=scope, rule_id=rule.pk))


@trigger_rules_router.patch("/{rule_id}", response=TriggerRuleOut, summary="Change a trigger rule")
def trigger_rule_update(
    request: HttpRequest, rule_id: int, payload: TriggerRuleUpdateIn
) -> TriggerRule:
    scope = scope_of(request)
    # Outside the caller's view the rule is not found, whatever their role may do.
    rules_selectors.trigger_rule_get(scope=scope, rule_id=rule_id)
    changes = _given(
        payload,
        (
            "name",
            "survey_id",
            "priority",
            "event_types",
            "channels",
            "unit_id",
            "touchpoints",
            "timing",
            "delay_minutes",
            "delivery_order",
            "sampling_percent",
            "daily_quota_per_unit",
            "also_evaluate_others",
            "valid_days",
            "reminder_after_days",
        ),
    )
    if payload.given("conditions"):
        changes["conditions"] = conditions_of(payload.conditions)
    rules.trigger_rule_update(scope=scope, rule_id=rule_id, **changes)
    return rules_selectors.trigger_rule_get(scope=scope, rule_id=rule_id)


@trigger_rules_router.post(
    "/{rule_id}/pause", response=TriggerRuleOut, summary="Pause a trigger rule"
)
def trigger_rule_pause(request: HttpRequest, rule_id: int) -> TriggerRule:
    scope = scope_of(request)
    rules_selectors.trigger_rule_get(scope=scope, rule_id=rule_id)
    rules.trigger_rule_pause(scope=scope, rule_id=rule_id)
    return rules_selectors.trigger_rule_get(scope=scope, rule_id=rule_id)


@trigger_rules_router.post(
    "/{rule_id}/resume",
    response=TriggerRuleOut,
    summary="Switch a trigger rule on (its survey must be published)",
)
def trigger_rule_resume(request: HttpRequest, rule_id: int) -> TriggerRule:
    scope = scope_of(request)
    rules_selectors.trigger_rule_get(scope=scope, rule_id=rule_id)
    rules.trigger_rule_resume(scope=scope, rule_id=rule_id)
    return rules_selectors.trigger_rule_get(scope=scope, rule_id=rule_id)


# Contact rules ---------------------------------------------------------------------------------


@contact_rules_router.get(
    "", response=list[ContactRuleOut], summary="List the rules of the contact policy"
)
@paginate(Page)
def contact_rule_list(request: HttpRequest) -> QuerySet[ContactRule]:
    return rules_selectors.contact_rule_list(scope=scope_of(request))


@contact_rules_router.get("/{rule_id}", response=ContactRuleOut, summary="Get a contact rule")
def contact_rule_get(request: HttpRequest, rule_id: int) -> ContactRule:
    return rules_selectors.contact_rule_get(scope=scope_of(request), rule_id=rule_id)


@contact_rules_router.post("", response={201: ContactRuleOut}, summary="Create a contact rule")
def contact_rule_create(request: HttpRequest, payload: ContactRuleCreateIn) -> Status[ContactRule]:
    scope = scope_of(request)
    rule = rules.contact_rule_create(
        scope=scope,
        name=payload.name,
        kind=payload.kind,
        rule_scope=payload.scope,
        program_id=payload.program_id,
        survey_id=payload.survey_id,
        max_invitations=payload.max_invitations,
        window_days=payload.window_days,
        gap_days=payload.gap_days,
        customer_conditions=conditions_of(payload.customer_conditions),
        active=payload.active,
    )
    return Status(201, rules_selectors.contact_rule_get(scope=scope, rule_id=rule.pk))


@contact_rules_router.patch(
    "/{rule_id}",
    response=ContactRuleOut,
    summary="Change a contact rule (`active: false` stops applying it)",
)
def contact_rule_update(
    request: HttpRequest, rule_id: int, payload: ContactRuleUpdateIn
) -> ContactRule:
    scope = scope_of(request)
    rules_selectors.contact_rule_get(scope=scope, rule_id=rule_id)
    changes = _given(
        payload,
        (
            "name",
            "kind",
            "program_id",
            "survey_id",
            "max_invitations",
            "window_days",
            "gap_days",
            "active",
        ),
    )
    if payload.given("scope"):
        changes["rule_scope"] = payload.scope
    if payload.given("customer_conditions"):
        changes["customer_conditions"] = conditions_of(payload.customer_conditions)
    rules.contact_rule_update(scope=scope, rule_id=rule_id, **changes)
    return rules_selectors.contact_rule_get(scope=scope, rule_id=rule_id)


# Quiet hours -----------------------------------------------------------------------------------


@settings_router.get(
    "", response=ListeningSettingsOut, summary="Get the quiet hours and default time zone"
)
def listening_settings_get(request: HttpRequest) -> ListeningSettings:
    return rules_selectors.listening_settings_get(scope=scope_of(request))


@settings_router.put(
    "", response=ListeningSettingsOut, summary="Set the quiet hours and default time zone"
)
def listening_settings_put(request: HttpRequest, payload: ListeningSettingsIn) -> ListeningSettings:
    scope = scope_of(request)
    rules.listening_settings_update(
        scope=scope,
        time_zone=payload.time_zone,
        quiet_hours_start=payload.quiet_hours_start,
        quiet_hours_end=payload.quiet_hours_end,
        quiet_hours_for_email=payload.quiet_hours_for_email,
    )
    return rules_selectors.listening_settings_get(scope=scope)
