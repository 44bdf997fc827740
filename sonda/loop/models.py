"""Closing the loop: the problem taxonomy, HQ functions, alert rules, cases and their timeline,
root-cause coding, coaching, praise, executive callbacks, SLA targets and notifications.

A response that an alert rule picks out becomes a case. The case is routed to someone who calls
the customer back (the inner loop); once it is coded with a problem the frontline cannot fix it is
linked to the HQ function that owns the problem (the outer loop). Its state moves only through the
workflow in `sonda.loop.workflow`, every step recorded on its timeline (`CaseEvent`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sonda.core.models import TenantModel

# The problem taxonomy ----------------------------------------------------------------------------


class Function(TenantModel):
    """An HQ function (logistics, billing, IT...) that owns systemic problems: the outer loop."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    email = models.EmailField(_("team mailbox"), max_length=254, blank=True)
    lead = models.ForeignKey(
        "org.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The person accountable for the function's problems."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="loop_functions"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="loop_function_name")
        ]

    def __str__(self) -> str:
        return self.name


class Problem(TenantModel):
    """An entry of the organisation's problem taxonomy (Staff › Attitude), labelled per language.

    `path` holds the ids of the ancestors and the problem itself joined by dots (`3.17.`), as the
    unit tree does (ADR 0001): a branch of the taxonomy is a prefix match.
    """

    code = models.CharField(_("code"), max_length=64)
    labels = models.JSONField(_("labels"), default=dict)  # {"en": "...", "ro": "...", "pl": "..."}
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(max_length=1000, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    position = models.PositiveIntegerField(_("position"), default=0)
    owner_function = models.ForeignKey(
        Function,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="problems",
        help_text=_("The HQ function that fixes this problem when the frontline cannot."),
    )
    frontline_fixable = models.BooleanField(
        _("the frontline can fix it"),
        default=False,
        help_text=_("Cases coded with it stay in the inner loop, with the unit."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="loop_problem_code"),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="loop_problem_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def label(self, language: str) -> str:
        """The label in `language`, else English, else any, else the code."""
        labels = self.labels or {}
        return str(
            labels.get(language) or labels.get("en") or next(iter(labels.values()), self.code)
        )


class ProblemMapping(TenantModel):
    """A choice option of a survey question that reports a problem: answering it codes the case.

    Without a survey the mapping holds for every survey of the organisation that asks a question
    with this key (the programs' shared "reasons" question).
    """

    survey = models.ForeignKey(
        "surveys.Survey", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    question_key = models.SlugField(_("question"), max_length=40)
    option_code = models.CharField(_("option"), max_length=64)
    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="mappings")

    class Meta:
        ordering = ["question_key", "option_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "question_key", "option_code"],
                condition=Q(survey__isnull=False),
                name="loop_mapping_survey_option",
            ),
            models.UniqueConstraint(
                fields=["organisation", "question_key", "option_code"],
                condition=Q(survey__isnull=True),
                name="loop_mapping_any_survey_option",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_key}={self.option_code} → {self.problem_id}"


# Alert rules -------------------------------------------------------------------------------------


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


# Lower rank first: the order in which matching rules win and overdue lists sort.
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


class AlertRule(TenantModel):
    """When a response meets all the conditions, open a case with this priority.

    Conditions (`sonda.loop.conditions`) are a list, all of which must hold: a loyalty class or a
    score range of a measure, a chosen option, words or phrases in an open answer, a competitor
    mentioned, or (alone) non-response of an account for some days. Of the rules a response
    matches, the most urgent wins (then the lowest position): one response opens one case.
    """

    name = models.CharField(_("name"), max_length=200)
    program = models.ForeignKey(
        "surveys.Program",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: responses of every program."),
    )
    survey = models.ForeignKey(
        "surveys.Survey",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: every survey of the program."),
    )
    conditions = models.JSONField(_("conditions"), default=list)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="loop_rule_name"),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="loop_rule_priority_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


# Cases -------------------------------------------------------------------------------------------


class CaseState(models.TextChoices):
    NEW = "new", _("New")
    IN_CONTACT = "in_contact", _("In contact")
    RESOLVED = "resolved", _("Resolved")
    NOT_RESOLVED = "not_resolved", _("Not resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATES = frozenset({"new", "in_contact", "resolved", "not_resolved"})


class Loop(models.TextChoices):
    INNER = "inner", _("Inner loop")
    OUTER = "outer", _("Outer loop")


class RecoveryOutcome(models.TextChoices):
    FIXED = "fixed", _("Fixed")
    PARTLY = "partly", _("Partly fixed")
    NOT_FIXED = "not", _("Not fixed")
    UNREACHABLE = "unreachable", _("Customer unreachable")


class Case(TenantModel):
    """One closed-loop follow-up of one response (or of an account's silence).

    Its context (customer, unit and its path, employee, survey) is copied from the response when
    it opens, so that lists filter and scope it without joins. `version` grows with every write:
    the API's clients send the version they saw, and a stale write is refused.
    """

    response = models.ForeignKey(
        "surveys.Response",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loop_cases",
    )
    program = models.ForeignKey(
        "surveys.Program", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    survey = models.ForeignKey(
        "surveys.Survey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loop_cases",
    )
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit_path = models.CharField(max_length=1000, blank=True)  # for subtree scoping
    employee = models.ForeignKey(
        "org.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="loop_cases"
    )
    alert_rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    state = models.CharField(
        _("state"), max_length=12, choices=CaseState.choices, default=CaseState.NEW
    )
    loop = models.CharField(_("loop"), max_length=5, choices=Loop.choices, default=Loop.INNER)
    # Who calls the customer back; null while the case waits in the fallback queue.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="loop_cases",
    )
    # The HQ function the case feeds (outer loop): set once a systemic problem is coded.
    owner_function = models.ForeignKey(
        Function, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    queue = models.BooleanField(
        _("in the fallback queue"),
        default=False,
        help_text=_("Nobody could be found to own the case; an analyst assigns it."),
    )
    opened_at = models.DateTimeField(_("opened"))
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopened_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    # SLA deadlines in business hours and what the SLA jobs did about them (each once).
    first_contact_due = models.DateTimeField(_("first contact due"), null=True, blank=True)
    close_due = models.DateTimeField(_("closing due"), null=True, blank=True)
    first_contact_warned_at = models.DateTimeField(null=True, blank=True)
    close_warned_at = models.DateTimeField(null=True, blank=True)
    first_contact_breached_at = models.DateTimeField(null=True, blank=True)
    close_breached_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Who the last escalation went to (the owner's supervisor, then above)."),
    )
    recovery_outcome = models.CharField(
        _("recovery outcome"), max_length=12, choices=RecoveryOutcome.choices, blank=True
    )
    # A non-response case: when the account's last response was (or its first invitation, if
    # it never answered); one case per silence, however often the rules are evaluated.
    silent_since = models.DateTimeField(null=True, blank=True)
    # "Did we fix it?": the short survey sent after closing, and its answer.
    follow_up_invitation = models.ForeignKey(
        "listening.Invitation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    follow_up_response = models.ForeignKey(
        "surveys.Response", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # One response opens at most one case, whatever the rule set and however often it
            # is evaluated; a closed case is reopened, never duplicated.
            models.UniqueConstraint(
                fields=["response"],
                condition=Q(response__isnull=False),
                name="loop_case_one_per_response",
            ),
            models.UniqueConstraint(
                fields=["alert_rule", "customer", "silent_since"],
                condition=Q(response__isnull=True, silent_since__isnull=False),
                name="loop_case_one_per_silence",
            ),
            models.CheckConstraint(
                condition=Q(response__isnull=False) | Q(customer__isnull=False),
                name="loop_case_has_subject",
            ),
            models.CheckConstraint(
                condition=Q(state__in=CaseState.values), name="loop_case_state_valid"
            ),
            models.CheckConstraint(condition=Q(loop__in=Loop.values), name="loop_case_loop_valid"),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="loop_case_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(recovery_outcome="") | Q(recovery_outcome__in=RecoveryOutcome.values),
                name="loop_case_outcome_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="closed")
                | (Q(closed_at__isnull=False) & ~Q(recovery_outcome="")),
                name="loop_case_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(queue=False) | Q(owner__isnull=True), name="loop_case_queue_unowned"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="loop_case_version_positive"),
        ]
        indexes = [
            models.Index(
                fields=["organisation", "state", "-opened_at"], name="loop_case_org_state"
            ),
            models.Index(fields=["organisation", "unit_path"], name="loop_case_unit_path"),
            models.Index(fields=["owner", "state"], name="loop_case_owner_state"),
            models.Index(fields=["owner_function", "state"], name="loop_case_function_state"),
            models.Index(fields=["state", "first_contact_due"], name="loop_case_contact_due"),
            models.Index(fields=["state", "close_due"], name="loop_case_close_due"),
            models.Index(fields=["customer", "-opened_at"], name="loop_case_customer"),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class CaseEventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    ROUTED = "routed", _("Routed")
    ASSIGNED = "assigned", _("Assigned")
    REASSIGNED = "reassigned", _("Reassigned")
    NOTE = "note", _("Note")
    STATE_CHANGED = "state_changed", _("State changed")
    CODED = "coded", _("Root causes coded")
    LINKED = "linked", _("Linked to a function")
    REOPENED = "reopened", _("Reopened")
    WARNED = "warned", _("SLA warning")
    ESCALATED = "escalated", _("Escalated")
    FOLLOW_UP = "follow_up", _("Follow-up survey")
    COACHING = "coaching", _("Coaching note")
    CALLBACK = "callback", _("Executive callback")


class CaseEvent(TenantModel):
    """One entry of a case's timeline. Append-only: nothing updates or deletes an entry."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=CaseEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=CaseEventKind.values), name="loop_event_kind_valid"
            )
        ]
        indexes = [models.Index(fields=["case", "at"], name="loop_event_case_at")]

    def __str__(self) -> str:
        return f"{self.kind} on case {self.case_id}"


class CodingSource(models.TextChoices):
    ANSWER = "answer", _("From the customer's answer")
    CALLBACK = "callback", _("Found in the callback")


class CaseProblem(TenantModel):
    """A root-cause problem coded on a case (one or more; at least one before closing)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="problems")
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="case_codings")
    note = models.TextField(_("note"), blank=True, max_length=2000)
    source = models.CharField(
        max_length=8, choices=CodingSource.choices, default=CodingSource.CALLBACK
    )
    coded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["case", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "problem"], name="loop_case_problem_once"),
            models.CheckConstraint(
                condition=Q(source__in=CodingSource.values), name="loop_coding_source_valid"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "problem"], name="loop_coding_problem")]

    def __str__(self) -> str:
        return f"case {self.case_id}: problem {self.problem_id}"


# Coaching, praise and executive callbacks --------------------------------------------------------


class CoachingNote(TenantModel):
    """What a supervisor agreed with an employee after an inner-loop case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="coaching_notes")
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    employee = models.ForeignKey(
        "org.Person", on_delete=models.CASCADE, related_name="coaching_notes"
    )
    behaviour = models.TextField(_("behaviour"), max_length=4000)
    agreed_action = models.TextField(_("agreed action"), max_length=4000)
    due_on = models.DateField(_("by"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("seen by the employee"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["employee", "-created_at"], name="loop_coaching_employee")]

    def __str__(self) -> str:
        return f"Coaching of {self.employee_id} (case {self.case_id})"


class PraiseSource(models.TextChoices):
    CONTEXT = "context", _("The interaction named the employee")
    TEXT = "text", _("The customer named the employee")


class Praise(TenantModel):
    """A positive response naming an employee, routed to them and their supervisor.

    The customer's words are the response's open answers, read from there (not copied), so that
    erasing the customer redacts them here too.
    """

    response = models.ForeignKey(
        "surveys.Response", on_delete=models.CASCADE, related_name="loop_praise"
    )
    employee = models.ForeignKey("org.Person", on_delete=models.CASCADE, related_name="praise")
    source = models.CharField(
        max_length=8, choices=PraiseSource.choices, default=PraiseSource.CONTEXT
    )
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["response", "employee"], name="loop_praise_once"),
            models.CheckConstraint(
                condition=Q(source__in=PraiseSource.values), name="loop_praise_source_valid"
            ),
        ]
        indexes = [models.Index(fields=["employee", "-created_at"], name="loop_praise_employee")]

    def __str__(self) -> str:
        return f"Praise of {self.employee_id} (response {self.response_id})"


class ExecutiveCallback(TenantModel):
    """A detractor case an executive calls back personally in a month (default five a month).

    One executive per case; `month` is the first day of the month the case counts towards
    (the service writes it so; a check constraint would need a date function SQLite lacks).
    """

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="executive_callback")
    executive = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="loop_callbacks"
    )
    month = models.DateField()

    class Meta:
        ordering = ["-month", "id"]
        indexes = [
            models.Index(
                fields=["organisation", "executive", "month"], name="loop_callback_exec_month"
            )
        ]

    def __str__(self) -> str:
        return f"Callback of case {self.case_id} by {self.executive_id}"


# Settings: executive callbacks, follow-up, SLA targets and the business calendar -----------------


class LoopSettings(TenantModel):
    """An organisation's loop settings (one row each, created with defaults when first read)."""

    executive_callbacks_per_month = models.PositiveSmallIntegerField(
        _("callbacks per executive per month"), default=5
    )
    follow_up_survey = models.ForeignKey(
        "surveys.Survey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Sent after a case closes to ask whether it was fixed; empty: none."),
    )
    # The working calendar the SLA deadlines count in, as `sonda.loop.business_hours`
    # writes it (`BusinessCalendar.to_json()`); empty until the organisation sets one.
    business_calendar = models.JSONField(default=dict, blank=True)
    # The organisation's local day on which the daily jobs last ran, so that the clock, which
    # ticks every minute, starts each of them once a day.
    silence_checked_on = models.DateField(null=True, blank=True)
    callbacks_allotted_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation"], name="loop_settings_one_per_org"),
            models.CheckConstraint(
                condition=Q(executive_callbacks_per_month__lte=100),
                name="loop_settings_callbacks_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"Loop settings of {self.organisation_id}"


class SlaTarget(TenantModel):
    """Per priority: business hours to the first contact and to closing, and the warning lead."""

    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    first_contact_hours = models.PositiveIntegerField(_("first contact within (business hours)"))
    close_hours = models.PositiveIntegerField(_("closed within (business hours)"))
    warn_before_hours = models.PositiveIntegerField(_("warn this many hours before"), default=2)

    class Meta:
        ordering = ["priority"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "priority"], name="loop_sla_priority"),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="loop_sla_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(first_contact_hours__gte=1)
                & Q(close_hours__gte=models.F("first_contact_hours")),
                name="loop_sla_hours_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"SLA {self.priority}: {self.first_contact_hours}h / {self.close_hours}h"


# The sweep's memory ------------------------------------------------------------------------------


class ResponseEvaluation(TenantModel):
    """A completed response the loop has evaluated (whether or not it opened a case).

    The sweep evaluates the recently completed responses that have no row here, so a response is
    neither missed (whatever order the transactions that completed responses committed in, and
    however long one of them took) nor evaluated again. Rows of responses completed before the
    sweep's window are pruned: the sweep no longer looks at those responses.
    """

    response = models.OneToOneField(
        "surveys.Response", on_delete=models.CASCADE, related_name="loop_evaluation"
    )

    def __str__(self) -> str:
        return f"Response {self.response_id} evaluated"


# Notifications -----------------------------------------------------------------------------------


class NotificationKind(models.TextChoices):
    CASE_ASSIGNED = "case_assigned", _("A case was assigned to you")
    CASE_QUEUED = "case_queued", _("A case waits in the queue for an owner")
    CASE_REOPENED = "case_reopened", _("Your case was reopened")
    CASE_NOTE = "case_note", _("A note on your case")
    SLA_WARNING = "sla_warning", _("A case is close to its deadline")
    SLA_ESCALATED = "sla_escalated", _("A case was escalated to you")
    FUNCTION_CASE = "function_case", _("A case for your function")
    COACHING = "coaching", _("A coaching note for you")
    PRAISE = "praise", _("Praise from a customer")
    CALLBACK = "callback", _("A callback for you")
    FOLLOW_UP = "follow_up", _("A customer answered the follow-up survey")


class Notification(TenantModel):
    """An in-app notification (and what email sent it, immediately or in the daily digest)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="loop_notifications"
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    # What the notification is about, once per recipient: retries notify nobody twice.
    dedupe_key = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "recipient", "dedupe_key"], name="loop_notification_once"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=NotificationKind.values), name="loop_notification_kind"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="loop_notification_unread"),
            models.Index(fields=["emailed_at", "created_at"], name="loop_notification_mail"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class NotificationPreference(TenantModel):
    """How a user wants to hear about their cases: email at once, a daily digest, or in-app only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="loop_preferences"
    )
    email_immediately = models.BooleanField(_("email me at once"), default=True)
    daily_digest = models.BooleanField(_("send me a daily digest"), default=False)
    digest_sent_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"], name="loop_notification_preference_once"
            )
        ]

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"
