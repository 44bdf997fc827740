"""Programs, surveys and their versions, questions, open links, responses and answers.

A survey's content lives in versions: publishing freezes a version, editing makes a new draft, and
every response records the version it answered. Answers are stored one row per answered field
(one per chosen option of a multiple choice), typed, with the response's context copied onto the
row so that every analysis is a group-by over one table.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sonda.core.models import TenantModel


class ProgramKind(models.TextChoices):
    RELATIONSHIP = "relationship", _("Relationship (periodic, top-down)")
    TRANSACTIONAL = "transactional", _("Transactional (after interactions, bottom-up)")


class Program(TenantModel):
    """A listening program: its kind, loyalty-class thresholds and the minimum base for a figure."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=ProgramKind.choices)
    description = models.TextField(_("description"), blank=True, max_length=4000)
    # Loyalty classes of a 0–10 answer: promoters >= promoter_min, detractors <= detractor_max.
    promoter_min = models.PositiveSmallIntegerField(_("promoters from"), default=9)
    detractor_max = models.PositiveSmallIntegerField(_("detractors up to"), default=6)
    minimum_base = models.PositiveIntegerField(_("minimum base"), default=30)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="program_name_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=["relationship", "transactional"]), name="program_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(detractor_max__lt=models.F("promoter_min"), promoter_min__lte=10),
                name="program_thresholds_ordered",
            ),
            models.CheckConstraint(condition=Q(minimum_base__gte=1), name="program_base_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class SurveyLook(TenantModel):
    """How an organisation's survey pages and invitations look."""

    logo = models.TextField(
        _("logo"), blank=True, help_text=_("A PNG, JPEG or SVG image as a data: URL (≤ 200 KB).")
    )
    primary_colour = models.CharField(_("primary colour"), max_length=7, default="#1d4f91")
    background_colour = models.CharField(_("background colour"), max_length=7, default="#ffffff")
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation"], name="surveylook_one_per_org")
        ]

    def __str__(self) -> str:
        return f"Look of {self.organisation_id}"


class Survey(TenantModel):
    """A questionnaire of a program. Its questions live in versions."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="surveys")
    name = models.CharField(_("name"), max_length=200)
    languages = models.JSONField(_("languages"), default=list)
    default_language = models.CharField(_("default language"), max_length=8, default="en")
    is_archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="survey_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class SurveyVersion(TenantModel):
    """One frozen (or draft) content of a survey. Only a draft may change."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=VersionStatus.choices, default="draft")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["survey", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="version_number_unique"),
            models.UniqueConstraint(
                fields=["survey"], condition=Q(status="draft"), name="version_one_draft"
            ),
            models.UniqueConstraint(
                fields=["survey"], condition=Q(status="published"), name="version_one_published"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "retired"]),
                name="version_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="version_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} v{self.number} ({self.status})"


class QuestionKind(models.TextChoices):
    NPS = "nps", _("Likelihood to recommend (0–10)")
    CSAT = "csat", _("Satisfaction (CSAT)")
    CES = "ces", _("Effort (CES)")
    RATING = "rating", _("Attribute rating")
    SINGLE_CHOICE = "single_choice", _("Single choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    TEXT = "text", _("Open answer")
    NUMBER = "number", _("Number")
    YES_NO = "yes_no", _("Yes / no")


SCALE_KINDS = frozenset({"nps", "csat", "ces", "rating"})
CHOICE_KINDS = frozenset({"single_choice", "multi_choice"})


class Question(TenantModel):
    """A question of one survey version. `key` stays the same across versions (for trends).

    Texts are per language: {"en": "...", "ro": "...", "pl": "..."}. Options of choice questions
    are [{"code": "queue", "labels": {"en": ..., ...}, "problem": "" }]. A display condition shows
    the question only when an earlier answer meets it: {"question": "ltr", "op": "lte", "value": 6}.
    """

    version = models.ForeignKey(SurveyVersion, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(max_length=40)
    position = models.PositiveSmallIntegerField()
    page = models.PositiveSmallIntegerField(default=1)
    kind = models.CharField(max_length=16, choices=QuestionKind.choices)
    required = models.BooleanField(default=False)
    text = models.JSONField(default=dict)
    help_text = models.JSONField(default=dict, blank=True)
    scale_min = models.SmallIntegerField(null=True, blank=True)
    scale_max = models.SmallIntegerField(null=True, blank=True)
    scale_labels = models.JSONField(default=dict, blank=True)  # {"min": {lang: ...}, "max": ...}
    options = models.JSONField(default=list, blank=True)
    competitor = models.CharField(max_length=100, blank=True)  # nps about a competitor
    max_length = models.PositiveIntegerField(null=True, blank=True)  # text answers
    condition = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="question_key_unique"),
            models.UniqueConstraint(
                fields=["version", "position"], name="question_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in QuestionKind]), name="question_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.kind})"


class OpenLink(TenantModel):
    """A reusable link (QR code, receipt, kiosk) with fixed context; answers are anonymous."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="open_links")
    token = models.CharField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    touchpoint = models.CharField(_("touchpoint"), max_length=100, blank=True)
    channel = models.CharField(_("channel"), max_length=32, default="qr")
    language = models.CharField(_("language"), max_length=8, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    max_responses_per_client_per_day = models.PositiveSmallIntegerField(default=3)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ResponseStatus(models.TextChoices):
    PARTIAL = "partial", _("Partial")
    COMPLETE = "complete", _("Complete")


class ResponseSource(models.TextChoices):
    WEB = "web", _("Survey page")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    DEMO = "demo", _("Demo data")


class Response(TenantModel):
    """One respondent's answers to one survey version, with the context of the interaction."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses")
    invitation = models.OneToOneField(
        "listening.Invitation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="response",
    )
    open_link = models.ForeignKey(
        OpenLink, on_delete=models.PROTECT, null=True, blank=True, related_name="responses"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responses",
    )
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
    language = models.CharField(max_length=8)
    status = models.CharField(max_length=10, choices=ResponseStatus.choices, default="partial")
    source = models.CharField(max_length=10, choices=ResponseSource.choices, default="web")
    external_id = models.CharField(max_length=100, blank=True)
    current_page = models.PositiveSmallIntegerField(default=1)
    client_key = models.CharField(max_length=64, blank=True)  # hashed client, open links only
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "survey", "external_id"],
                condition=~Q(external_id=""),
                name="response_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["partial", "complete"]), name="response_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="partial") | Q(completed_at__isnull=False),
                name="response_complete_has_date",
            ),
        ]
        indexes = [
            # The responses list, newest first: the database walks this index and stops at a
            # page's worth instead of sorting every response of the organisation.
            models.Index(fields=["organisation", "-started_at", "-id"], name="response_recent"),
            models.Index(fields=["organisation", "survey", "-started_at"], name="response_survey"),
            models.Index(fields=["customer", "-started_at"], name="response_customer"),
            models.Index(fields=["open_link", "client_key"], name="response_open_client"),
        ]

    def __str__(self) -> str:
        return f"Response {self.pk} ({self.status})"


class Answer(TenantModel):
    """One answered field, typed, with the response's context copied for analytics."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    question_key = models.SlugField(max_length=40)
    kind = models.CharField(max_length=16, choices=QuestionKind.choices)
    value_number = models.FloatField(null=True, blank=True)  # scales, numbers, yes/no as 1/0
    value_text = models.TextField(blank=True)  # open answers
    value_choice = models.CharField(max_length=64, blank=True)  # option code
    # Context copied from the response: analytics never joins back.
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit_path = models.CharField(max_length=1000, blank=True)  # for subtree scoping
    employee = models.ForeignKey(
        "org.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    touchpoint = models.CharField(max_length=100, blank=True)
    channel = models.CharField(max_length=32, blank=True)
    journey = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=8)
    answered_at = models.DateTimeField()
    # The day of answered_at on the organisation's calendar (days since 1970-01-01): analytics
    # groups and filters by it, and the daily tallies are keyed by it (sonda.core.calendar).
    local_day = models.IntegerField()
    local_hour = models.SmallIntegerField()  # 0…23 on the organisation's clock
    is_complete = models.BooleanField(default=False)

    class Meta:
        ordering = ["response", "question_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question_key", "value_choice"], name="answer_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organisation", "question_key", "answered_at"], name="answer_key_time"
            ),
            # Analytics' date ranges, for the queries the daily tallies cannot answer: with the
            # kind, hour, score and employee, a query by hour or employee reads the index alone.
            models.Index(
                fields=[
                    "organisation",
                    "question_key",
                    "local_day",
                    "kind",
                    "local_hour",
                    "value_number",
                    "employee",
                ],
                name="answer_key_day",
            ),
            models.Index(fields=["organisation", "survey", "answered_at"], name="answer_survey"),
            models.Index(fields=["organisation", "unit_path"], name="answer_unit_path"),
        ]

    def __str__(self) -> str:
        return f"{self.question_key}={self.value_number or self.value_choice or '…'}"


TALLY_POINTS = range(11)  # the scale points counted one by one: 0…10 covers every scale


class DailyTally(models.Model):
    """The scored answers of one organisation, question, survey, unit and local day, counted:
    how many, their sum and sum of squares, and how many gave each point 0…10.

    Kept exact by database triggers on the answers table (migration 0007): every insert,
    update and delete of an answer with a number adds to or takes from its day's row, in the
    same transaction, whoever writes (the survey pages, the API, imports by COPY, the demo).
    Analytics reads these rows instead of the answers when a query needs nothing finer than a
    unit and a day (sonda.analytics.queries): NPS with any thresholds, top-box shares, means
    and their intervals all follow from the counts. Plain integer keys, not foreign keys: the
    rows follow the answers and nothing else points at them. A unit id of 0 means "no unit".
    """

    organisation_id = models.IntegerField()
    question_key = models.CharField(max_length=40)
    kind = models.CharField(max_length=16)
    program_id = models.IntegerField()
    survey_id = models.IntegerField()
    unit_id = models.IntegerField()
    unit_path = models.CharField(max_length=1000)
    local_day = models.IntegerField()
    is_complete = models.BooleanField()
    n = models.IntegerField()
    total = models.FloatField()
    squares = models.FloatField()
    c0 = models.IntegerField()
    c1 = models.IntegerField()
    c2 = models.IntegerField()
    c3 = models.IntegerField()
    c4 = models.IntegerField()
    c5 = models.IntegerField()
    c6 = models.IntegerField()
    c7 = models.IntegerField()
    c8 = models.IntegerField()
    c9 = models.IntegerField()
    c10 = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organisation_id",
                    "question_key",
                    "kind",
                    "survey_id",
                    "unit_id",
                    "unit_path",
                    "local_day",
                    "is_complete",
                ],
                name="daily_tally_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_key} on day {self.local_day}: {self.n}"
