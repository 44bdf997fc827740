"""Writes of listening configuration: trigger rules, the contact policy, quiet hours.

Every write validates the whole resulting rule (not only what changed), so a rule in the database
is always one the decision engine can use as it stands. Errors name the field they are about, in
the API's words (`survey_id`, `delivery_order[1]`, `conditions[0].op`).

Updates take `KEEP` for "leave as it is", because `None` is a meaningful value for the optional
fields (no unit, no quota, no reminder).
"""

from collections.abc import Mapping, Sequence
from datetime import time
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Model

from sonda.accounts.access import CONFIGURE, Scope
from sonda.accounts.services import audit_record
from sonda.core.errors import FieldError, NotFound, ValidationFailed
from sonda.listening.conditions import conditions_validate
from sonda.listening.models import (
    ContactRule,
    ContactRuleKind,
    ContactScope,
    DeliveryChannel,
    ListeningSettings,
    RuleStatus,
    Timing,
    TriggerRule,
)
from sonda.org.models import Unit
from sonda.surveys.models import Program, Survey, SurveyVersion, VersionStatus


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""An update's "leave this field as it is"."""

MAX_PRIORITY = 1_000_000
MAX_DELAY_MINUTES = 30 * 24 * 60  # an invitation a month after the interaction asks about a memory
MAX_VALID_DAYS = 90
MAX_LIST_ITEMS = 50
MAX_DAYS = 3650
MAX_INVITATIONS = 1000
# The longest text each list's items may be: the length of the event field they are matched to.
LIST_ITEM_LENGTHS = {"event_types": 64, "channels": 32, "touchpoints": 100}
DEFAULT_DELIVERY_ORDER = ("email", "sms", "link")


def _listed(value: Any) -> Any:
    """A list or tuple as a list (a JSON-ready copy); anything else as it is, for validation."""
    return list(value) if isinstance(value, (list, tuple)) else value


def _changes(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not KEEP}


def _audit(scope: Scope, action: str, target: Model, detail: dict[str, Any]) -> None:
    audit_record(
        action=action,
        organisation=scope.organisation,
        actor=scope.user,
        target=target,
        detail=detail,
    )


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.on("name", "a name is required")
    if len(value.strip()) > 200:
        raise ValidationFailed.on("name", "at most 200 characters")
    return value.strip()


def _whole(value: object, field: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed.on(field, f"a whole number from {low:,} to {high:,}")
    return value


def _optional_whole(value: object, field: str, *, low: int, high: int) -> int | None:
    return None if value is None else _whole(value, field, low=low, high=high)


def _texts(value: object, field: str) -> list[str]:
    """A list of non-empty texts, trimmed, each listed once (in the order given)."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationFailed.on(field, "must be a list of texts")
    if len(value) > MAX_LIST_ITEMS:
        raise ValidationFailed.on(field, f"at most {MAX_LIST_ITEMS} items")
    longest = LIST_ITEM_LENGTHS.get(field, 100)
    cleaned: list[str] = []
    errors: list[FieldError] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            errors.append(FieldError(f"{field}[{index}]", "must be a non-empty text"))
        elif len(item.strip()) > longest:
            errors.append(FieldError(f"{field}[{index}]", f"at most {longest} characters"))
        elif item.strip() not in cleaned:
            cleaned.append(item.strip())
    if errors:
        raise ValidationFailed(f"{field}: invalid items", errors=errors)
    return cleaned


def _delivery_order(value: object) -> list[str]:
    field = "delivery_order"
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ValidationFailed.on(field, "at least one of email, sms, link, in order")
    allowed = DeliveryChannel.values
    seen: list[str] = []
    for index, item in enumerate(value):
        if item not in allowed:
            raise ValidationFailed.on(f"{field}[{index}]", "one of email, sms, link")
        if item in seen:
            raise ValidationFailed.on(f"{field}[{index}]", f"'{item}' is listed twice")
        seen.append(str(item))
    return seen


def _sampling(value: object) -> Decimal:
    field = "sampling_percent"
    if isinstance(value, bool):
        raise ValidationFailed.on(field, "a percentage from 0 to 100")
    try:
        percent = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationFailed.on(field, "a percentage from 0 to 100") from exc
    if not percent.is_finite() or not Decimal(0) <= percent <= Decimal(100):
        raise ValidationFailed.on(field, "a percentage from 0 to 100")
    if percent != percent.quantize(Decimal("0.001")):
        raise ValidationFailed.on(field, "at most three decimals")
    return percent.quantize(Decimal("0.001"))


def _survey(scope: Scope, survey_id: object, field: str = "survey_id") -> Survey:
    survey = (
        Survey.objects.filter(organisation=scope.organisation, pk=survey_id).first()
        if isinstance(survey_id, int) and not isinstance(survey_id, bool)
        else None
    )
    if survey is None:
        raise ValidationFailed.on(field, "no such survey in this organisation")
    return survey


def _unit(scope: Scope, unit_id: object) -> Unit | None:
    if unit_id is None:
        return None
    unit = (
        Unit.objects.filter(organisation=scope.organisation, pk=unit_id).first()
        if isinstance(unit_id, int) and not isinstance(unit_id, bool)
        else None
    )
    if unit is None:
        raise ValidationFailed.on("unit_id", "no such unit in this organisation")
    return unit


def survey_can_invite(survey: Survey) -> bool:
    """Whether a rule may be switched on for the survey: it is published and not archived."""
    return (
        not survey.is_archived
        and SurveyVersion.objects.filter(survey=survey, status=VersionStatus.PUBLISHED).exists()
    )


def _require_invitable(survey: Survey) -> None:
    if survey.is_archived:
        raise ValidationFailed.on(
            "survey_id", "the survey is archived: a rule for it cannot be switched on"
        )
    if not survey_can_invite(survey):
        raise ValidationFailed.on(
            "survey_id",
            "the survey has no published version yet: publish it before switching the rule on",
        )


# --- Trigger rules ------------------------------------------------------------------------------


TRIGGER_RULE_FIELDS = (
    "name",
    "survey_id",
    "status",
    "priority",
    "event_types",
    "channels",
    "unit_id",
    "touchpoints",
    "conditions",
    "timing",
    "delay_minutes",
    "delivery_order",
    "sampling_percent",
    "daily_quota_per_unit",
    "also_evaluate_others",
    "valid_days",
    "reminder_after_days",
)


def _trigger_rule_values(scope: Scope, values: Mapping[str, Any]) -> dict[str, Any]:
    """The model's field values for a whole rule, or ValidationFailed naming the first field."""
    status = values["status"]
    if status not in RuleStatus.values:
        raise ValidationFailed.on("status", "active or paused")
    timing = values["timing"]
    if timing not in Timing.values:
        raise ValidationFailed.on("timing", "one of " + ", ".join(Timing.values))
    if timing == Timing.DELAY:
        delay = _whole(values["delay_minutes"], "delay_minutes", low=1, high=MAX_DELAY_MINUTES)
    else:
        # Only a delayed rule waits; another timing keeps no stale delay that would mislead.
        delay = 0
    valid_days = _whole(values["valid_days"], "valid_days", low=1, high=MAX_VALID_DAYS)
    reminder = _optional_whole(
        values["reminder_after_days"], "reminder_after_days", low=1, high=MAX_VALID_DAYS
    )
    if reminder is not None and reminder >= valid_days:
        raise ValidationFailed.on(
            "reminder_after_days", "the reminder must go out before the link expires"
        )
    if not isinstance(values["also_evaluate_others"], bool):
        raise ValidationFailed.on("also_evaluate_others", "true or false")
    survey = _survey(scope, values["survey_id"])
    if status == RuleStatus.ACTIVE:
        _require_invitable(survey)
    return {
        "name": _name(values["name"]),
        "survey": survey,
        "status": status,
        "priority": _whole(values["priority"], "priority", low=0, high=MAX_PRIORITY),
        "event_types": _texts(values["event_types"], "event_types"),
        "channels": _texts(values["channels"], "channels"),
        "unit": _unit(scope, values["unit_id"]),
        "touchpoints": _texts(values["touchpoints"], "touchpoints"),
        "conditions": conditions_validate(values["conditions"], field="conditions"),
        "timing": timing,
        "delay_minutes": delay,
        "delivery_order": _delivery_order(values["delivery_order"]),
        "sampling_percent": _sampling(values["sampling_percent"]),
        "daily_quota_per_unit": _optional_whole(
            values["daily_quota_per_unit"], "daily_quota_per_unit", low=1, high=1_000_000
        ),
        "also_evaluate_others": values["also_evaluate_others"],
        "valid_days": valid_days,
        "reminder_after_days": reminder,
    }


def _trigger_rule_current(rule: TriggerRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in TRIGGER_RULE_FIELDS}


def _locked_trigger_rule(scope: Scope, rule_id: int) -> TriggerRule:
    rule = (
        TriggerRule.objects.select_for_update()
        .filter(organisation=scope.organisation, pk=rule_id)
        .first()
    )
    if rule is None:
        raise NotFound("No such trigger rule.")
    return rule


def trigger_rule_create(
    *,
    scope: Scope,
    name: str,
    survey_id: int,
    status: str = RuleStatus.PAUSED,
    priority: int = 100,
    event_types: Sequence[str] = (),
    channels: Sequence[str] = (),
    unit_id: int | None = None,
    touchpoints: Sequence[str] = (),
    conditions: Sequence[Mapping[str, Any]] = (),
    timing: str = Timing.IMMEDIATE,
    delay_minutes: int = 0,
    delivery_order: Sequence[str] = DEFAULT_DELIVERY_ORDER,
    sampling_percent: Decimal | int | float = 100,
    daily_quota_per_unit: int | None = None,
    also_evaluate_others: bool = False,
    valid_days: int = 14,
    reminder_after_days: int | None = None,
) -> TriggerRule:
    """A new trigger rule; paused unless asked otherwise (only a published survey's can start)."""
    scope.require(CONFIGURE, "create trigger rules")
    values = _trigger_rule_values(
        scope,
        {
            "name": name,
            "survey_id": survey_id,
            "status": status,
            "priority": priority,
            "event_types": _listed(event_types),
            "channels": _listed(channels),
            "unit_id": unit_id,
            "touchpoints": _listed(touchpoints),
            "conditions": _listed(conditions),
            "timing": timing,
            "delay_minutes": delay_minutes,
            "delivery_order": _listed(delivery_order),
            "sampling_percent": sampling_percent,
            "daily_quota_per_unit": daily_quota_per_unit,
            "also_evaluate_others": also_evaluate_others,
            "valid_days": valid_days,
            "reminder_after_days": reminder_after_days,
        },
    )
    with transaction.atomic():
        rule = TriggerRule.objects.create(organisation=scope.organisation, **values)
        _audit(
            scope,
            "trigger_rule.created",
            rule,
            {"name": rule.name, "survey_id": rule.survey_id, "status": rule.status},
        )
    return rule


def trigger_rule_update(
    *,
    scope: Scope,
    rule_id: int,
    name: str | _Keep = KEEP,
    survey_id: int | _Keep = KEEP,
    priority: int | _Keep = KEEP,
    event_types: Sequence[str] | _Keep = KEEP,
    channels: Sequence[str] | _Keep = KEEP,
    unit_id: int | _Keep | None = KEEP,
    touchpoints: Sequence[str] | _Keep = KEEP,
    conditions: Sequence[Mapping[str, Any]] | _Keep = KEEP,
    timing: str | _Keep = KEEP,
    delay_minutes: int | _Keep = KEEP,
    delivery_order: Sequence[str] | _Keep = KEEP,
    sampling_percent: Decimal | int | float | _Keep = KEEP,
    daily_quota_per_unit: int | _Keep | None = KEEP,
    also_evaluate_others: bool | _Keep = KEEP,
    valid_days: int | _Keep = KEEP,
    reminder_after_days: int | _Keep | None = KEEP,
) -> TriggerRule:
    """Change a trigger rule; its status changes only by pausing and resuming."""
    scope.require(CONFIGURE, "change trigger rules")
    changes = _changes(
        {
            "name": name,
            "survey_id": survey_id,
            "priority": priority,
            "event_types": _listed(event_types),
            "channels": _listed(channels),
            "unit_id": unit_id,
            "touchpoints": _listed(touchpoints),
            "conditions": _listed(conditions),
            "timing": timing,
            "delay_minutes": delay_minutes,
            "delivery_order": _listed(delivery_order),
            "sampling_percent": sampling_percent,
            "daily_quota_per_unit": daily_quota_per_unit,
            "also_evaluate_others": also_evaluate_others,
            "valid_days": valid_days,
            "reminder_after_days": reminder_after_days,
        }
    )
    with transaction.atomic():
        rule = _locked_trigger_rule(scope, rule_id)
        before = _trigger_rule_current(rule)
        values = _trigger_rule_values(scope, {**before, **changes})
        for field, value in values.items():
            setattr(rule, field, value)
        rule.save()
        changed = sorted(
            field for field, value in _trigger_rule_current(rule).items() if value != before[field]
        )
        _audit(scope, "trigger_rule.updated", rule, {"changed": changed})
    return rule


def _trigger_rule_set_status(scope: Scope, rule_id: int, status: RuleStatus) -> TriggerRule:
    with transaction.atomic():
        rule = _locked_trigger_rule(scope, rule_id)
        if rule.status == status:
            return rule  # pausing a paused rule changes nothing and records nothing
        if status == RuleStatus.ACTIVE:
            _require_invitable(rule.survey)
        rule.status = status
        rule.save(update_fields=["status", "updated_at"])
        verb = "resumed" if status == RuleStatus.ACTIVE else "paused"
        _audit(scope, f"trigger_rule.{verb}", rule, {"name": rule.name})
    return rule


def trigger_rule_pause(*, scope: Scope, rule_id: int) -> TriggerRule:
    """Stop the rule from inviting; decisions already made stay as they are."""
    scope.require(CONFIGURE, "pause trigger rules")
    return _trigger_rule_set_status(scope, rule_id, RuleStatus.PAUSED)


def trigger_rule_resume(*, scope: Scope, rule_id: int) -> TriggerRule:
    """Switch the rule on; refused while its survey has no published version or is archived."""
    scope.require(CONFIGURE, "resume trigger rules")
    return _trigger_rule_set_status(scope, rule_id, RuleStatus.ACTIVE)


# --- The contact policy -------------------------------------------------------------------------


CONTACT_RULE_FIELDS = (
    "name",
    "kind",
    "scope",
    "program_id",
    "survey_id",
    "max_invitations",
    "window_days",
    "gap_days",
    "customer_conditions",
    "active",
)
# The numbers each kind needs; the others must be empty.
KIND_NUMBERS: dict[str, tuple[str, ...]] = {
    ContactRuleKind.MAX_IN_WINDOW: ("max_invitations", "window_days"),
    ContactRuleKind.GAP_AFTER_INVITATION: ("gap_days",),
    ContactRuleKind.GAP_AFTER_RESPONSE: ("gap_days",),
}
NUMBER_FIELDS = ("max_invitations", "window_days", "gap_days")
NUMBER_LIMITS = {"max_invitations": MAX_INVITATIONS, "window_days": MAX_DAYS, "gap_days": MAX_DAYS}
# The target each scope needs; the other must be empty.
SCOPE_TARGETS: dict[str, str | None] = {
    ContactScope.ORGANISATION: None,
    ContactScope.PROGRAM: "program_id",
    ContactScope.SURVEY: "survey_id",
}
TARGET_FIELDS = ("program_id", "survey_id")


def _contact_rule_values(scope: Scope, values: Mapping[str, Any]) -> dict[str, Any]:
    kind = values["kind"]
    if kind not in ContactRuleKind.values:
        raise ValidationFailed.on("kind", "one of " + ", ".join(ContactRuleKind.values))
    rule_scope = values["scope"]
    if rule_scope not in ContactScope.values:
        raise ValidationFailed.on("scope", "one of " + ", ".join(ContactScope.values))
    numbers: dict[str, int | None] = {}
    for field in NUMBER_FIELDS:
        value = values[field]
        if field in KIND_NUMBERS[kind]:
            if value is None:
                raise ValidationFailed.on(field, "required for this kind of rule")
            numbers[field] = _whole(value, field, low=1, high=NUMBER_LIMITS[field])
        elif value is not None:
            raise ValidationFailed.on(field, "not used by this kind of rule: leave it empty")
        else:
            numbers[field] = None
    target_field = SCOPE_TARGETS[rule_scope]
    for field in TARGET_FIELDS:
        if field != target_field and values[field] is not None:
            raise ValidationFailed.on(
                field, f"only a rule of {field[:-3]} scope names a {field[:-3]}"
            )
    program: Program | None = None
    survey: Survey | None = None
    if target_field == "program_id":
        program_id = values["program_id"]
        if program_id is None:
            raise ValidationFailed.on("program_id", "a rule of program scope names its program")
        program = Program.objects.filter(organisation=scope.organisation, pk=program_id).first()
        if program is None:
            raise ValidationFailed.on("program_id", "no such program in this organisation")
    elif target_field == "survey_id":
        if values["survey_id"] is None:
            raise ValidationFailed.on("survey_id", "a rule of survey scope names its survey")
        survey = _survey(scope, values["survey_id"])
    if not isinstance(values["active"], bool):
        raise ValidationFailed.on("active", "true or false")
    return {
        "name": _name(values["name"]),
        "kind": kind,
        "scope": rule_scope,
        "program": program,
        "survey": survey,
        **numbers,
        "customer_conditions": conditions_validate(
            values["customer_conditions"], field="customer_conditions"
        ),
        "active": values["active"],
    }


def contact_rule_create(
    *,
    scope: Scope,
    name: str,
    kind: str,
    rule_scope: str = ContactScope.ORGANISATION,
    program_id: int | None = None,
    survey_id: int | None = None,
    max_invitations: int | None = None,
    window_days: int | None = None,
    gap_days: int | None = None,
    customer_conditions: Sequence[Mapping[str, Any]] = (),
    active: bool = True,
) -> ContactRule:
    """A new rule of the contact policy; it applies to decisions from now on."""
    scope.require(CONFIGURE, "create contact rules")
    values = _contact_rule_values(
        scope,
        {
            "name": name,
            "kind": kind,
            "scope": rule_scope,
            "program_id": program_id,
            "survey_id": survey_id,
            "max_invitations": max_invitations,
            "window_days": window_days,
            "gap_days": gap_days,
            "customer_conditions": _listed(customer_conditions),
            "active": active,
        },
    )
    with transaction.atomic():
        rule = ContactRule.objects.create(organisation=scope.organisation, **values)
        _audit(scope, "contact_rule.created", rule, {"name": rule.name, "kind": rule.kind})
    return rule


def contact_rule_update(
    *,
    scope: Scope,
    rule_id: int,
    name: str | _Keep = KEEP,
    kind: str | _Keep = KEEP,
    rule_scope: str | _Keep = KEEP,
    program_id: int | _Keep | None = KEEP,
    survey_id: int | _Keep | None = KEEP,
    max_invitations: int | _Keep | None = KEEP,
    window_days: int | _Keep | None = KEEP,
    gap_days: int | _Keep | None = KEEP,
    customer_conditions: Sequence[Mapping[str, Any]] | _Keep = KEEP,
    active: bool | _Keep = KEEP,
) -> ContactRule:
    """Change a contact rule. A new kind or scope drops the old one's numbers or target, unless
    they are given again."""
    scope.require(CONFIGURE, "change contact rules")
    changes = _changes(
        {
            "name": name,
            "kind": kind,
            "scope": rule_scope,
            "program_id": program_id,
            "survey_id": survey_id,
            "max_invitations": max_invitations,
            "window_days": window_days,
            "gap_days": gap_days,
            "customer_conditions": _listed(customer_conditions),
            "active": active,
        }
    )
    with transaction.atomic():
        rule = _locked_contact_rule(scope, rule_id)
        before = {name_: getattr(rule, name_) for name_ in CONTACT_RULE_FIELDS}
        merged = {**before, **changes}
        # Switching "at most 3 in 90 days" to "30 days after the last response" must not need the
        # client to empty the old numbers by hand; the same for a scope's target.
        if "kind" in changes:
            for field in NUMBER_FIELDS:
                if field not in changes and field not in KIND_NUMBERS.get(merged["kind"], ()):
                    merged[field] = None
        if "scope" in changes:
            for field in TARGET_FIELDS:
                if field not in changes and field != SCOPE_TARGETS.get(merged["scope"]):
                    merged[field] = None
        values = _contact_rule_values(scope, merged)
        for field, value in values.items():
            setattr(rule, field, value)
        rule.save()
        after = {name_: getattr(rule, name_) for name_ in CONTACT_RULE_FIELDS}
        changed = sorted(field for field in CONTACT_RULE_FIELDS if after[field] != before[field])
        _audit(scope, "contact_rule.updated", rule, {"changed": changed})
    return rule


def _locked_contact_rule(scope: Scope, rule_id: int) -> ContactRule:
    rule = (
        ContactRule.objects.select_for_update()
        .filter(organisation=scope.organisation, pk=rule_id)
        .first()
    )
    if rule is None:
        raise NotFound("No such contact rule.")
    return rule


def _contact_rule_set_active(scope: Scope, rule_id: int, active: bool) -> ContactRule:
    with transaction.atomic():
        rule = _locked_contact_rule(scope, rule_id)
        if rule.active == active:
            return rule
        rule.active = active
        rule.save(update_fields=["active", "updated_at"])
        verb = "activated" if active else "deactivated"
        _audit(scope, f"contact_rule.{verb}", rule, {"name": rule.name})
    return rule


def contact_rule_deactivate(*, scope: Scope, rule_id: int) -> ContactRule:
    """Stop applying the rule; the skips it already caused keep naming it."""
    scope.require(CONFIGURE, "change contact rules")
    return _contact_rule_set_active(scope, rule_id, False)


def contact_rule_activate(*, scope: Scope, rule_id: int) -> ContactRule:
    scope.require(CONFIGURE, "change contact rules")
    return _contact_rule_set_active(scope, rule_id, True)


# --- Quiet hours --------------------------------------------------------------------------------


def _time_zone(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed.on("time_zone", "an IANA time zone such as Europe/Bucharest")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed.on(
            "time_zone", f"'{value}' is not an IANA time zone (such as Europe/Bucharest)"
        ) from exc
    return value.strip()


def listening_settings_update(
    *,
    scope: Scope,
    time_zone: str,
    quiet_hours_start: time,
    quiet_hours_end: time,
    quiet_hours_for_email: bool,
) -> ListeningSettings:
    """Set the organisation's time zone and quiet hours (the same start and end: none)."""
    scope.require(CONFIGURE, "change quiet hours")
    zone = _time_zone(time_zone)
    for field, value in (
        ("quiet_hours_start", quiet_hours_start),
        ("quiet_hours_end", quiet_hours_end),
    ):
        if not isinstance(value, time) or value.tzinfo is not None:
            raise ValidationFailed.on(field, "a time of day such as 21:00")
    if not isinstance(quiet_hours_for_email, bool):
        raise ValidationFailed.on("quiet_hours_for_email", "true or false")
    start = quiet_hours_start.replace(microsecond=0)
    end = quiet_hours_end.replace(microsecond=0)
    values = {
        "time_zone": zone,
        "quiet_hours_start": start,
        "quiet_hours_end": end,
        "quiet_hours_for_email": quiet_hours_for_email,
    }
    with transaction.atomic():
        settings, _ = ListeningSettings.objects.update_or_create(
            organisation=scope.organisation, defaults=values
        )
        _audit(
            scope,
            "listening_settings.updated",
            settings,
            {
                "time_zone": zone,
                "quiet_hours_start": start.isoformat(),
                "quiet_hours_end": end.isoformat(),
                "quiet_hours_for_email": quiet_hours_for_email,
            },
        )
    return settings
