"""Listening: interaction events, trigger rules, the contact policy, invitations and their messages.

An event comes in, each active trigger rule (by priority) decides whether it asks for a survey; the
decision is recorded (invited or skipped, with the reason and the contact rule that fired) so that
"why was / wasn't this customer invited?" always has an answer. An invitation is the personal link;
its messages (the invitation itself, one optional reminder) are the delivery queue.
"""

from datetime import time

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sonda.core.models import TenantModel


class InvitationStatus(models.TextChoices):
    CREATED = "created", _("Created")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    OPENED = "opened", _("Opened")
    STARTED = "started", _("Started")
    COMPLETED = "completed", _("Completed")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class Invitation(TenantModel):
    """A personal link to a survey (`/s/<token>`), carrying the interaction's context.

    The token has 256 bits of randomness; it is single-use for completion and expires.
    """

    survey = models.ForeignKey("surveys.Survey", on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invitations",
    )
    language = models.CharField(max_length=8, blank=True)
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    employee = models.ForeignKey(
        "org.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    touchpoint = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    journey = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=12, choices=InvitationStatus.choices, default=InvitationStatus.CREATED
    )
    external_ref = models.CharField(max_length=100, blank=True)
    # Set when a trigger rule asked for the invitation; the event's context is copied above.
    event = models.ForeignKey(
        "listening.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(
        "listening.TriggerRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
    )
    # When the event happened, copied so that a rule's daily quota is counted from an index on
    # (rule, day) instead of joining every invitation the rule ever made to its event.
    event_occurred_at = models.DateTimeField(null=True, blank=True)
    # The delivery channel chosen from the rule's order ("email", "sms", "link"), and when to send.
    delivery = models.CharField(max_length=8, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    # A scheduled invitation that the contact policy stopped at sending time.
    skipped_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.CharField(max_length=24, blank=True)
    skip_contact_rule = models.ForeignKey(
        "listening.ContactRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in InvitationStatus]),
                name="invitation_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(completed_at__isnull=False),
                name="invitation_completed_has_date",
            ),
            # One invitation per event and rule, whatever the retries.
            models.UniqueConstraint(
                fields=["event", "rule"],
                condition=Q(event__isnull=False),
                name="invitation_once_per_event_rule",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organisation", "survey", "-created_at"], name="invitation_survey"
            ),
            # The contact policy's look-up: a customer's invitations, newest first.
            models.Index(fields=["customer", "-created_at"], name="invitation_customer"),
            models.Index(fields=["status", "send_at"], name="invitation_due"),
            models.Index(fields=["rule", "event_occurred_at"], name="invitation_rule_day"),
            # The invitations page: an organisation's invitations, newest first.
            models.Index(fields=["organisation", "-created_at"], name="invitation_org_newest"),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} ({self.status})"


class Event(TenantModel):
    """An interaction that happened to a customer: a call, a visit, a purchase, a claim...

    `dedupe_key` makes retries harmless: it is the sender's idempotency key, or `source:source_id`,
    or (when the sender gave neither) a hash of the event's content. One row per key per
    organisation, so a replayed batch adds nothing and decides nothing twice.
    """

    event_type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=32, blank=True)
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    employee = models.ForeignKey(
        "org.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    touchpoint = models.CharField(max_length=100, blank=True)
    journey = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=100, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=64, blank=True)
    source_id = models.CharField(max_length=200, blank=True)
    dedupe_key = models.CharField(max_length=200)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "dedupe_key"], name="event_dedupe"),
        ]
        indexes = [
            models.Index(fields=["organisation", "occurred_at"], name="event_org_time"),
            models.Index(fields=["customer", "-occurred_at"], name="event_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.occurred_at:%Y-%m-%d %H:%M}"


class RuleStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")


class Timing(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediately")
    DELAY = "delay", _("After a delay")
    NEXT_ALLOWED = "next_allowed", _("At the next allowed time")


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    LINK = "link", _("Link returned to the caller")


class TriggerRule(TenantModel):
    """When an event matches, invite its customer to a survey.

    Matching: event types, channels, a unit subtree, touchpoints (each list empty = any) and
    attribute conditions (`[{"attribute": "product", "op": "eq", "value": "mortgage"}]`, ops: eq,
    ne, in, not_in, gt, gte, lt, lte, exists). Rules are tried by ascending `priority`; the first
    that invites stops the evaluation unless it says `also_evaluate_others`.
    Sampling is deterministic by customer: the same customer is always in or always out.
    """

    name = models.CharField(_("name"), max_length=200)
    survey = models.ForeignKey("surveys.Survey", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=8, choices=RuleStatus.choices, default=RuleStatus.PAUSED
    )
    priority = models.PositiveIntegerField(_("priority"), default=100)
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    unit = models.ForeignKey(
        "org.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit subtree"),
    )
    touchpoints = models.JSONField(_("touchpoints"), default=list, blank=True)
    conditions = models.JSONField(_("attribute conditions"), default=list, blank=True)
    timing = models.CharField(
        _("timing"), max_length=16, choices=Timing.choices, default=Timing.IMMEDIATE
    )
    delay_minutes = models.PositiveIntegerField(_("delay (minutes)"), default=0)
    delivery_order = models.JSONField(_("delivery channels, in order"), default=list)
    sampling_percent = models.DecimalField(
        _("sampling (%)"), max_digits=6, decimal_places=3, default=100
    )
    daily_quota_per_unit = models.PositiveIntegerField(
        _("daily quota per unit"), null=True, blank=True
    )
    also_evaluate_others = models.BooleanField(_("let later rules invite too"), default=False)
    valid_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=14)
    reminder_after_days = models.PositiveSmallIntegerField(
        _("reminder after (days)"), null=True, blank=True
    )

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sampling_percent__gte=0) & Q(sampling_percent__lte=100),
                name="trigger_rule_sampling_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in RuleStatus]),
                name="trigger_rule_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ContactScope(models.TextChoices):
    ORGANISATION = "organisation", _("Organisation")
    PROGRAM = "program", _("Program")
    SURVEY = "survey", _("Survey")


class ContactRuleKind(models.TextChoices):
    MAX_IN_WINDOW = "max_in_window", _("At most N invitations in a window")
    GAP_AFTER_INVITATION = "gap_after_invitation", _("At least D days after the last invitation")
    GAP_AFTER_RESPONSE = "gap_after_response", _("At least D days after the last response")


class ContactRule(TenantModel):
    """One rule of the contact policy (survey fatigue). Reminders never count.

    `customer_conditions` limits the rule to customers whose attributes match (same form as a
    trigger rule's conditions), e.g. business customers every 90 days, others every 30.
    """

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=24, choices=ContactRuleKind.choices)
    scope = models.CharField(
        _("scope"), max_length=16, choices=ContactScope.choices, default=ContactScope.ORGANISATION
    )
    program = models.ForeignKey(
        "surveys.Program", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    survey = models.ForeignKey(
        "surveys.Survey", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    max_invitations = models.PositiveIntegerField(_("at most N invitations"), null=True, blank=True)
    window_days = models.PositiveIntegerField(_("window (days)"), null=True, blank=True)
    gap_days = models.PositiveIntegerField(_("gap (days)"), null=True, blank=True)
    customer_conditions = models.JSONField(_("customer conditions"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["scope", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="max_in_window", max_invitations__gte=1, window_days__gte=1)
                    | Q(kind__in=["gap_after_invitation", "gap_after_response"], gap_days__gte=1)
                ),
                name="contact_rule_complete",
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope="organisation", program__isnull=True, survey__isnull=True)
                    | Q(scope="program", program__isnull=False, survey__isnull=True)
                    | Q(scope="survey", survey__isnull=False, program__isnull=True)
                ),
                name="contact_rule_scope_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ListeningSettings(TenantModel):
    """An organisation's quiet hours and default time zone (no SMS at night)."""

    time_zone = models.CharField(_("default time zone"), max_length=64, default="Europe/Bucharest")
    quiet_hours_start = models.TimeField(_("quiet hours from"), default=time(21, 0))
    quiet_hours_end = models.TimeField(_("quiet hours until"), default=time(9, 0))
    # Whether quiet hours hold email back too; SMS always waits for the morning.
    quiet_hours_for_email = models.BooleanField(_("quiet hours for email too"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation"], name="listening_settings_one"),
        ]

    def __str__(self) -> str:
        return f"Listening settings of {self.organisation_id}"


class DecisionOutcome(models.TextChoices):
    INVITED = "invited", _("Invited")
    SKIPPED = "skipped", _("Skipped")


class SkipReason(models.TextChoices):
    NO_RULE = "no_rule", _("No trigger rule matched")
    NO_CUSTOMER = "no_customer", _("The event names no customer")
    SAMPLED_OUT = "sampled_out", _("Not in the sample")
    QUOTA_FULL = "quota_full", _("The unit's daily quota was full")
    CONTACT_POLICY = "contact_policy", _("The contact policy")
    DO_NOT_CONTACT = "do_not_contact", _("Do not contact")
    NO_CONSENT = "no_consent", _("No consent on any channel")
    NO_ADDRESS = "no_address", _("No address for any channel")
    ALREADY_INVITED = "already_invited", _("Already invited for this event")
    OTHER_RULE = "other_rule", _("A rule with higher priority invited")


class InvitationDecision(TenantModel):
    """Why an event did or did not lead to an invitation: one row per event and rule considered.

    A skip names its reason and, for the contact policy, the rule that fired. An event no rule
    matched gets one row with `rule` empty and reason `no_rule`.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="decisions")
    rule = models.ForeignKey(
        TriggerRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=8, choices=DecisionOutcome.choices)
    reason = models.CharField(max_length=24, choices=SkipReason.choices, blank=True)
    contact_rule = models.ForeignKey(
        ContactRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.CharField(max_length=300, blank=True)
    invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["event_id", "id"]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="decision_customer"),
            models.Index(fields=["organisation", "rule", "outcome"], name="decision_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.reason}".strip()


class MessageKind(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    REMINDER = "reminder", _("Reminder")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    BOUNCED = "bounced", _("Bounced")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Message(TenantModel):
    """One email or SMS of an invitation: the delivery queue and its record.

    At most one message per invitation and kind, so a retried job never sends a second one. A
    worker claims a queued message by moving it to `sending` with a lease; a message whose lease
    ran out (the worker died) is tried again with the same `idempotency_key`.
    """

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    channel = models.CharField(max_length=8)
    to_address = models.CharField(max_length=254)
    language = models.CharField(max_length=8, blank=True)
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    idempotency_key = models.CharField(max_length=64, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invitation", "kind"], name="message_one_per_kind"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_due"),
            models.Index(fields=["provider_message_id"], name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel} ({self.status})"
