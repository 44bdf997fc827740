"""Scoped reads of listening configuration: trigger rules, the contact policy, quiet hours.

The configuration belongs to those who run the program: admins and analysts change it, executives
read it. Managers and frontline employees are refused the lists (403) and do not find single
rules (404); another organisation's rules are not found either.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, QuerySet

from sonda.accounts.access import READ_WHOLE_ORGANISATION, Scope
from sonda.core.errors import NotFound, ValidationFailed
from sonda.listening.models import (
    ContactRule,
    DecisionOutcome,
    InvitationDecision,
    ListeningSettings,
    RuleStatus,
    SkipReason,
    TriggerRule,
)
from sonda.surveys.models import SurveyVersion, VersionStatus

READ_CONFIGURATION = READ_WHOLE_ORGANISATION


def _reads_configuration(scope: Scope) -> bool:
    return scope.role in READ_CONFIGURATION


def trigger_rule_list(*, scope: Scope, status: str | None = None) -> QuerySet[TriggerRule]:
    """The organisation's trigger rules in the order they are tried (priority, then id), with
    their survey and unit, and `survey_published`: whether the survey can be invited to."""
    scope.require(READ_CONFIGURATION, "read trigger rules")
    published = SurveyVersion.objects.filter(
        survey=OuterRef("survey_id"), status=VersionStatus.PUBLISHED
    )
    rules = (
        TriggerRule.objects.filter(organisation=scope.organisation)
        .select_related("survey", "unit")
        .annotate(survey_published=Exists(published))
        .order_by("priority", "id")
    )
    if status:
        if status not in RuleStatus.values:
            raise ValidationFailed.on("status", "active or paused")
        rules = rules.filter(status=status)
    return rules


def trigger_rule_get(*, scope: Scope, rule_id: int) -> TriggerRule:
    if not _reads_configuration(scope):
        raise NotFound("No such trigger rule.")
    rule = trigger_rule_list(scope=scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("No such trigger rule.")
    return rule


@dataclass(frozen=True)
class DecisionCount:
    outcome: str
    reason: str
    count: int

    @property
    def outcome_label(self) -> str:
        return str(DecisionOutcome(self.outcome).label)

    @property
    def reason_label(self) -> str:
        return str(SkipReason(self.reason).label) if self.reason else ""


def trigger_rule_decision_counts(
    *, scope: Scope, rule: TriggerRule, since: datetime | None = None
) -> list[DecisionCount]:
    """How the rule's decisions (since a moment) came out: invited first, then skipped by
    reason, most frequent first."""
    scope.require(READ_CONFIGURATION, "read trigger rules")
    decisions = InvitationDecision.objects.filter(organisation=scope.organisation, rule=rule)
    if since is not None:
        decisions = decisions.filter(created_at__gte=since)
    rows = decisions.order_by().values("outcome", "reason").annotate(n=Count("pk"))
    counts = [DecisionCount(row["outcome"], row["reason"], row["n"]) for row in rows]
    return sorted(counts, key=lambda c: (c.outcome != DecisionOutcome.INVITED, -c.count, c.reason))


def contact_rule_list(*, scope: Scope) -> QuerySet[ContactRule]:
    """The contact policy: active rules first, then by scope (organisation, program, survey)."""
    scope.require(READ_CONFIGURATION, "read the contact policy")
    return (
        ContactRule.objects.filter(organisation=scope.organisation)
        .select_related("program", "survey")
        .order_by("-active", "scope", "id")
    )


def contact_rule_get(*, scope: Scope, rule_id: int) -> ContactRule:
    if not _reads_configuration(scope):
        raise NotFound("No such contact rule.")
    rule = contact_rule_list(scope=scope).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("No such contact rule.")
    return rule


def listening_settings_get(*, scope: Scope) -> ListeningSettings:
    """The organisation's quiet hours and time zone; the defaults (unsaved) until someone sets
    them, which are also what the decision engine uses then."""
    scope.require(READ_CONFIGURATION, "read quiet hours")
    saved = ListeningSettings.objects.filter(organisation=scope.organisation).first()
    return saved or ListeningSettings(organisation=scope.organisation)
