"""Units (a hierarchy of any depth) and people (employees with their direct supervisor)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from sonda.core.models import TenantModel


class UnitType(TenantModel):
    """A level of the organisation's structure: company, region, branch, team, call centre..."""

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="unittype_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Unit(TenantModel):
    """A node of the unit tree. `path` (ids of the ancestors and itself) makes subtrees a prefix."""

    code = models.CharField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    unit_type = models.ForeignKey(UnitType, on_delete=models.PROTECT, related_name="units")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(max_length=1000, db_index=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    manager = models.ForeignKey(
        "org.Person",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_units",
        help_text=_("Receives inner-loop cases when an employee has no supervisor on record."),
    )

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "code"], name="unit_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Person(TenantModel):
    """An employee. The direct supervisor receives the inner loop for this person's customers."""

    employee_number = models.CharField(_("employee number"), max_length=64)
    full_name = models.CharField(_("full name"), max_length=200)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="people")
    supervisor = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="people",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "employee_number"], name="person_number_unique"
            ),
            models.UniqueConstraint(
                fields=["organisation", "user"],
                condition=models.Q(user__isnull=False),
                name="person_user_unique",
            ),
            models.CheckConstraint(
                condition=~models.Q(supervisor=models.F("id")), name="person_not_own_supervisor"
            ),
        ]
        indexes = [models.Index(Lower("email"), name="person_email_lower")]

    def __str__(self) -> str:
        return self.full_name
