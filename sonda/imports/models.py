"""Import jobs: a CSV file uploaded on the imports page, imported by the job worker."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sonda.core.models import TenantModel


class ImportKind(models.TextChoices):
    UNITS = "units", _("Units")
    PEOPLE = "people", _("People")
    CUSTOMERS = "customers", _("Customers")
    RESPONSES = "responses", _("Survey responses")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the worker")
    RUNNING = "running", _("Importing")
    SUCCEEDED = "succeeded", _("Imported")
    FAILED = "failed", _("Failed")


class ImportJob(TenantModel):
    """One uploaded file and what importing it did: pending → running → succeeded | failed.

    The file's text waits with the job so that the worker imports exactly what was uploaded. It is
    dropped once the job is done: a customer file is personal data, and a copy here would outlive
    the erasure of the customers in it.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    content = models.TextField(_("file content"))
    region = models.CharField(
        _("phone region"),
        max_length=2,
        blank=True,
        help_text=_("Country of national phone numbers (customers), e.g. RO or PL."),
    )
    # Response imports: the survey answered, the mapping of the file's columns, and whether
    # valid rows are written when others are not.
    survey = models.ForeignKey(
        "surveys.Survey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("survey"),
    )
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    row_errors = models.JSONField(
        _("row errors"), default=list, blank=True, help_text=_("[{row, field, message}, ...]")
    )
    failure = models.TextField(_("failure"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="importjob_org_created")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in ImportStatus]),
                name="importjob_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in ImportKind]),
                name="importjob_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending") | models.Q(started_at__isnull=False),
                name="importjob_started_when_not_pending",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["succeeded", "failed"])
                | models.Q(finished_at__isnull=False),
                name="importjob_finished_when_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in {ImportStatus.SUCCEEDED, ImportStatus.FAILED}
