"""Customer profiles, their identities across systems, consent per channel, and merges."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sonda.core.models import TenantModel


class Customer(TenantModel):
    """One person or account, however many systems know them under however many identities."""

    full_name = models.CharField(_("name"), max_length=200, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=8, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    attributes = models.JSONField(
        _("segment attributes"), default=dict, blank=True, help_text=_("tier, products, region...")
    )
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_profiles"
    )
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["organisation", "merged_into"], name="customer_org_merged")]

    def __str__(self) -> str:
        return self.full_name or f"Customer {self.pk}"


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    EXTERNAL = "external", _("External id")


class CustomerIdentity(TenantModel):
    """An identifier of a customer: an email, an E.164 phone, or an id in a source system."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=16, choices=IdentityKind.choices)
    source = models.CharField(
        _("source system"), max_length=40, blank=True, help_text=_("crm, billing... (external ids)")
    )
    value = models.CharField(_("value"), max_length=254)

    class Meta:
        ordering = ["kind", "source", "value"]
        verbose_name_plural = "customer identities"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind", "source", "value"], name="identity_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in IdentityKind]),
                name="identity_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="external", source__gt="")
                | (~models.Q(kind="external") & models.Q(source="")),
                name="identity_source_only_external",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.source + ':' if self.source else ''}{self.value}"


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone call")


class Consent(TenantModel):
    """Whether a customer may be contacted on a channel. Withdrawal stands until reversed."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=64, blank=True)

    class Meta:
        ordering = ["channel"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="consent_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {'granted' if self.granted else 'withdrawn'}"


class CustomerMerge(TenantModel):
    """A record that `merged` turned out to be `surviving`; identities moved, history kept."""

    surviving = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    identities_moved = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.surviving_id}"
