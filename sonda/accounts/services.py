"""Writes for organisations, users, memberships, API tokens and the audit log."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from sonda.accounts.access import ADMINISTER, Scope
from sonda.accounts.models import ApiToken, AuditEvent, Membership, Organisation, Role, User
from sonda.core.errors import Conflict, NotFound, ValidationFailed
from sonda.org.models import Unit

TOKEN_PREFIX = "sonda"  # noqa: S105 - a public marker, not a secret


def audit_record(
    *,
    action: str,
    organisation: Organisation | None,
    actor: User | None,
    target: Any = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Record a security-relevant action. Callers run it inside their own transaction."""
    return AuditEvent.objects.create(
        organisation=organisation,
        actor=actor,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=str(getattr(target, "pk", "") or "") if target is not None else "",
        detail=detail or {},
        ip_address=ip_address,
    )


def organisation_create(
    *, name: str, slug: str = "", default_language: str = "en", time_zone: str = "UTC"
) -> Organisation:
    slug = slug or slugify(name)[:60]
    if not slug:
        raise ValidationFailed.on("slug", "must contain letters or digits")
    try:
        with transaction.atomic():
            return Organisation.objects.create(
                name=name, slug=slug, default_language=default_language, time_zone=time_zone
            )
    except IntegrityError as exc:
        raise Conflict.on("slug", f"an organisation '{slug}' already exists") from exc


def user_create(
    *, email: str, password: str | None, full_name: str = "", language: str = "en"
) -> User:
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise Conflict.on("email", f"a user with email {email} already exists")
    return User.objects.create_user(
        email=email, password=password, full_name=full_name, language=language
    )


def membership_set(
    *,
    organisation: Organisation,
    user: User,
    role: Role,
    unit: Unit | None = None,
    actor: User | None = None,
) -> Membership:
    """Give `user` a role in the organisation (creating or changing the membership), audited."""
    if role == Role.MANAGER and unit is None:
        raise ValidationFailed.on("unit", "a manager's membership needs the unit they manage")
    if unit is not None and unit.organisation_id != organisation.pk:
        raise ValidationFailed.on("unit", "the unit belongs to another organisation")
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            organisation=organisation,
            user=user,
            defaults={"role": role, "unit": unit if role == Role.MANAGER else None},
        )
        before = membership.role
        if not created:
            membership.role = role
            membership.unit = unit if role == Role.MANAGER else None
            membership.save(update_fields=["role", "unit", "updated_at"])
        audit_record(
            action="membership.created" if created else "membership.role_changed",
            organisation=organisation,
            actor=actor,
            target=membership,
            detail={
                "user": user.email,
                "role": str(role),
                "previous_role": None if created else before,
                "unit": unit.code if unit is not None else None,
            },
        )
    return membership


def member_role_set(
    *,
    scope: Scope,
    email: str,
    role: Role,
    unit_id: int | None = None,
) -> tuple[Membership, bool]:
    """An admin gives the user with this email a role: (membership, created).

    Someone without an account gets one without a password; they choose it through the
    password reset. An admin cannot change their own role, so an organisation keeps its admin.
    """
    scope.require(ADMINISTER, "manage members")
    if role == Role.MANAGER and unit_id is None:
        raise ValidationFailed.on("unit_id", "a manager's membership needs the unit they manage")
    if role != Role.MANAGER and unit_id is not None:
        raise ValidationFailed.on("unit_id", "only a manager's membership has a unit")
    unit = None
    if unit_id is not None:
        unit = Unit.objects.filter(organisation=scope.organisation, pk=unit_id).first()
        if unit is None:
            raise ValidationFailed.on("unit_id", f"no unit with id {unit_id}")
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed.on("email", "is not an email address") from exc
    if email == scope.user.email:
        raise Conflict.on("email", "you cannot change your own role")
    with transaction.atomic():
        user, user_created = User.objects.get_or_create(email=email)
        if user_created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        existed = Membership.objects.filter(organisation=scope.organisation, user=user).exists()
        membership = membership_set(
            organisation=scope.organisation, user=user, role=role, unit=unit, actor=scope.user
        )
    return membership, not existed


def membership_remove(*, scope: Scope, membership_id: int) -> None:
    scope.require(ADMINISTER, "remove members")
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .filter(organisation=scope.organisation, pk=membership_id)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise NotFound("No such member.")
        if membership.user_id == scope.user.pk:
            raise Conflict.on("membership", "you cannot remove your own membership")
        audit_record(
            action="membership.removed",
            organisation=scope.organisation,
            actor=scope.user,
            target=membership,
            detail={"user": membership.user.email, "role": membership.role},
        )
        membership.delete()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(
    *,
    scope: Scope,
    name: str,
    expires_at: datetime | None = None,
    ip_address: str | None = None,
) -> IssuedToken:
    """Issue a personal token acting as the scope's user in the scope's organisation."""
    name = name.strip()
    if not name:
        raise ValidationFailed.on("name", "give the token a name")
    if len(name) > 100:
        raise ValidationFailed.on("name", "at most 100 characters")
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            organisation=scope.organisation,
            user=scope.user,
            name=name,
            prefix=prefix,
            secret_hash=_hash(secret),
            expires_at=expires_at,
        )
        audit_record(
            action="api_token.created",
            organisation=scope.organisation,
            actor=scope.user,
            target=token,
            detail={"name": name, "prefix": prefix},
            ip_address=ip_address,
        )
    return IssuedToken(token=token, secret=secret)


def api_token_revoke(*, scope: Scope, token_id: int, ip_address: str | None = None) -> ApiToken:
    """Revoke one of the user's tokens (an admin may revoke anyone's in the organisation)."""
    with transaction.atomic():
        tokens = ApiToken.objects.select_for_update().filter(organisation=scope.organisation)
        if not scope.is_admin:
            tokens = tokens.filter(user=scope.user)
        token = tokens.filter(pk=token_id).first()
        if token is None:
            raise NotFound("No such API token.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at", "updated_at"])
            audit_record(
                action="api_token.revoked",
                organisation=scope.organisation,
                actor=scope.user,
                target=token,
                detail={"name": token.name, "prefix": token.prefix},
                ip_address=ip_address,
            )
    return token


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The active token matching `secret`, with its user and organisation; None otherwise."""
    if not secret.startswith(f"{TOKEN_PREFIX}_"):
        return None
    token = (
        ApiToken.objects.select_related("user", "organisation")
        .filter(secret_hash=_hash(secret))
        .first()
    )
    if token is None or not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute: a busy integration must not write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def user_profile_update(*, user: User, full_name: str, language: str) -> User:
    """Save what a user chooses about themselves: their name and the language of their pages."""
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise ValidationFailed.on("language", f"'{language}' is not a language Sonda speaks")
    if len(full_name) > 200:
        raise ValidationFailed.on("full_name", "at most 200 characters")
    user.full_name = full_name.strip()
    user.language = language
    user.save(update_fields=["full_name", "language"])
    return user


def login_failure_record(*, email: str, ip_address: str | None) -> int:
    """Audit a failed sign-in against a known account in each of its organisations.

    Unknown emails are not recorded: the log would otherwise fill with whatever strangers type.
    Returns how many events were recorded.
    """
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        return 0
    organisations = Organisation.objects.filter(memberships__user=user)
    for organisation in organisations:
        audit_record(
            action="user.login_failed",
            organisation=organisation,
            actor=user,
            target=user,
            ip_address=ip_address,
        )
    return len(organisations)
