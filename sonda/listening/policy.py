"""The contact policy (survey fatigue) in memory: a customer's contact history and the rules.

Both the decision engine and the dry run load the history of the customers they decide for, ask
`ContactPolicy.first_objection` before inviting, and `record` each invitation they make, so that
two events of one customer in one batch respect the policy between them.

Windows are elapsed time: "30 days" is 30 × 24 hours before the decision, whatever the customer's
time zone or a daylight-saving change in between. An invitation exactly 30 days old is outside a
30-day window. A window is checked on both sides of the decision time, so an event posted late
cannot squeeze an invitation in between two that are already counted.

Only invitations that asked the customer count (every status but "skipped"); reminders are messages
of an invitation, never invitations, so they never count.
"""

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from sonda.listening.conditions import Matcher, conditions_compile
from sonda.listening.models import (
    ContactRule,
    ContactRuleKind,
    ContactScope,
    Invitation,
    InvitationStatus,
)
from sonda.surveys.models import Response, ResponseStatus

DAY = 86400.0
# Plain strings: reading a member off an enum class is slow on Python 3.11, and these are read
# for every contact of every customer of a batch.
PROGRAM = ContactScope.PROGRAM.value
SURVEY = ContactScope.SURVEY.value
MAX_IN_WINDOW = ContactRuleKind.MAX_IN_WINDOW.value
GAP_AFTER_INVITATION = ContactRuleKind.GAP_AFTER_INVITATION.value
GAP_AFTER_RESPONSE = ContactRuleKind.GAP_AFTER_RESPONSE.value


def among(ids: Sequence[int]) -> Sequence[int] | RawSQL:
    """The right side of an `__in` filter on many ids. On PostgreSQL one array parameter: a
    placeholder per id would cost more to build and parse than the query takes to run."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])
    return ids


@dataclass(slots=True)
class CustomerHistory:
    """A customer's counted invitations and completed responses: (epoch seconds, survey, program),
    each list in time order."""

    invitations: list[tuple[float, int, int]] = field(default_factory=list)
    responses: list[tuple[float, int, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """A contact rule, compiled."""

    id: int
    name: str
    kind: str
    scope: str
    program_id: int | None
    survey_id: int | None
    max_invitations: int
    window: float  # seconds
    gap: float  # seconds
    applies_to_customer: Matcher

    @classmethod
    def of(cls, rule: ContactRule) -> "PolicyRule":
        return cls(
            id=rule.pk,
            name=rule.name,
            kind=str(rule.kind),
            scope=str(rule.scope),
            program_id=rule.program_id,
            survey_id=rule.survey_id,
            max_invitations=rule.max_invitations or 0,
            window=(rule.window_days or 0) * DAY,
            gap=(rule.gap_days or 0) * DAY,
            applies_to_customer=conditions_compile(rule.customer_conditions, customer_only=True),
        )

    @property
    def reach(self) -> float:
        """How far back (and forward) in time this rule looks."""
        return self.window if self.kind == MAX_IN_WINDOW else self.gap

    def covers_survey(self, *, survey_id: int, program_id: int) -> bool:
        if self.scope == PROGRAM:
            return self.program_id == program_id
        if self.scope == SURVEY:
            return self.survey_id == survey_id
        return True

    def counts(self, contact: tuple[float, int, int]) -> bool:
        if self.scope == PROGRAM:
            return contact[2] == self.program_id
        if self.scope == SURVEY:
            return contact[1] == self.survey_id
        return True

    def objects_to(self, history: CustomerHistory, at: float) -> str | None:
        """Why inviting at `at` would break this rule (a sentence), or None when it would not."""
        if self.kind == GAP_AFTER_RESPONSE:
            return self._gap(history.responses, at, "response")
        if self.kind == GAP_AFTER_INVITATION:
            return self._gap(history.invitations, at, "invitation")
        return self._window(history.invitations, at)

    def _times(self, contacts: list[tuple[float, int, int]], lo: float, hi: float) -> list[float]:
        """Times of the counted contacts in (lo, hi), in order."""
        start = bisect_right(contacts, (lo, float("inf"), 0))
        end = bisect_left(contacts, (hi, -1, 0))
        return [c[0] for c in contacts[start:end] if self.counts(c)]

    def _gap(self, contacts: list[tuple[float, int, int]], at: float, what: str) -> str | None:
        # Responses only look back: a response after the event is no reason to skip it.
        hi = at + self.gap if what == "invitation" else at + 1e-6
        near = self._times(contacts, at - self.gap, hi)
        if not near:
            return None
        days = round(min(abs(at - t) for t in near) / DAY, 1)
        return f"a {what} {days:g} days away; the rule asks for {self.gap / DAY:g} days between"

    def _window(self, contacts: list[tuple[float, int, int]], at: float) -> str | None:
        times = self._times(contacts, at - self.window, at + self.window)
        if len(times) < self.max_invitations:
            return None
        # Every window (end - window, end] holding `at` ends at `at` or at a later invitation.
        ends = [at] + [t for t in times if t >= at]
        for end in ends:
            inside = bisect_right(times, end) - bisect_right(times, end - self.window)
            if inside >= self.max_invitations:
                return (
                    f"{inside} invitation{'s' if inside != 1 else ''} within "
                    f"{self.window / DAY:g} days; the rule allows {self.max_invitations}"
                )
        return None


@dataclass(frozen=True, slots=True)
class Objection:
    rule_id: int
    rule_name: str
    detail: str


class ContactPolicy:
    """The active contact rules of an organisation and the history of the customers at hand."""

    def __init__(self, rules: Iterable[PolicyRule]) -> None:
        self.rules: list[PolicyRule] = list(rules)
        self.histories: dict[int, CustomerHistory] = {}
        self._for_survey: dict[tuple[int, int], list[PolicyRule]] = {}

    @classmethod
    def of_organisation(cls, organisation_id: int) -> "ContactPolicy":
        rules = ContactRule.objects.filter(organisation_id=organisation_id, active=True).order_by(
            "id"
        )
        return cls(PolicyRule.of(rule) for rule in rules)

    @property
    def reach(self) -> float:
        """The longest look-back of any rule, in seconds."""
        return max((rule.reach for rule in self.rules), default=0.0)

    def history(self, customer_id: int) -> CustomerHistory:
        found = self.histories.get(customer_id)
        if found is None:
            found = self.histories[customer_id] = CustomerHistory()
        return found

    def rules_for(self, *, survey_id: int, program_id: int) -> list[PolicyRule]:
        key = (survey_id, program_id)
        found = self._for_survey.get(key)
        if found is None:
            found = self._for_survey[key] = [
                rule
                for rule in self.rules
                if rule.covers_survey(survey_id=survey_id, program_id=program_id)
            ]
        return found

    def first_objection(
        self,
        *,
        customer_id: int,
        customer_attributes: dict[str, Any],
        survey_id: int,
        program_id: int,
        at: float,
    ) -> Objection | None:
        """The first rule (by id) that forbids inviting this customer to this survey at `at`."""
        rules = self.rules_for(survey_id=survey_id, program_id=program_id)
        if not rules:
            return None
        history = self.histories.get(customer_id)
        if history is None:
            return None
        for rule in rules:
            if not rule.applies_to_customer(customer_attributes, customer_attributes):
                continue
            detail = rule.objects_to(history, at)
            if detail is not None:
                return Objection(rule_id=rule.id, rule_name=rule.name, detail=detail)
        return None

    def record(self, *, customer_id: int, at: float, survey_id: int, program_id: int) -> None:
        if self.rules:
            insort(self.history(customer_id).invitations, (at, survey_id, program_id))

    def load(
        self,
        *,
        organisation_id: int,
        customer_ids: Sequence[int],
        lo: datetime,
        hi: datetime | None = None,
    ) -> None:
        """Read the counted invitations and completed responses of these customers in (lo, hi).

        An invitation's time is its event's `occurred_at` (the decision time), or when it was
        made for invitations asked for by hand.
        """
        if not self.rules or not customer_ids:
            return
        # The event's time is copied onto the invitation, so no join to the events is needed.
        in_time = Q(event_occurred_at__gt=lo) | Q(event_occurred_at__isnull=True, created_at__gt=lo)
        response_time = Q(completed_at__gt=lo)
        if hi is not None:
            in_time &= Q(event_occurred_at__lt=hi) | Q(
                event_occurred_at__isnull=True, created_at__lt=hi
            )
            response_time &= Q(completed_at__lt=hi)
        rows = (
            Invitation.objects.filter(
                in_time, organisation_id=organisation_id, customer_id__in=among(customer_ids)
            )
            .exclude(status=InvitationStatus.SKIPPED)
            .values_list(
                "customer_id", "event_occurred_at", "created_at", "survey_id", "survey__program_id"
            )
        )
        for customer_id, occurred_at, created_at, survey_id, program_id in rows:
            when = (occurred_at or created_at).timestamp()
            self.history(customer_id).invitations.append((when, survey_id, program_id))
        responses = Response.objects.filter(
            response_time,
            organisation_id=organisation_id,
            customer_id__in=among(customer_ids),
            status=ResponseStatus.COMPLETE,
        ).values_list("customer_id", "completed_at", "survey_id", "survey__program_id")
        for customer_id, completed_at, survey_id, program_id in responses:
            if completed_at is None:
                continue
            self.history(customer_id).responses.append(
                (completed_at.timestamp(), survey_id, program_id)
            )
        for customer_id in customer_ids:
            history = self.histories.get(customer_id)
            if history is not None:
                history.invitations.sort()
                history.responses.sort()

    def look_back(self, earliest: datetime) -> datetime:
        return earliest - timedelta(seconds=self.reach)
