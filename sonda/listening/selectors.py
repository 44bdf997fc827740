"""Reads of invitations."""

from django.utils import timezone

from sonda.listening.models import Invitation


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation a survey link names, or None (unknown or tampered token)."""
    if not token or len(token) > 64:
        return None
    return (
        Invitation.objects.select_related("survey", "survey__organisation", "customer")
        .filter(token=token)
        .first()
    )


def invitation_is_expired(invitation: Invitation) -> bool:
    return invitation.expires_at <= timezone.now()
