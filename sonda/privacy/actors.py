"""Who may act on personal data: an administrator, or the organisation through its command line."""

from dataclasses import dataclass
from typing import Any

from sonda.accounts.access import ADMINISTER, Scope
from sonda.accounts.models import Organisation, User


@dataclass(frozen=True)
class OrganisationSystem:
    """The organisation acting through its operators' command line rather than a signed-in user.

    Audited with no actor and `{"via": ...}` in the detail, so the log still says how it happened.
    """

    organisation: Organisation
    via: str = "cli"


Actor = Scope | OrganisationSystem


def actor_authorise(actor: Actor, action: str) -> tuple[Organisation, User | None, dict[str, Any]]:
    """The organisation acted in, the user to audit (None for the system) and the audit's extras.

    Personal data is for administrators: any other role is refused the action (PermissionDenied).
    """
    if isinstance(actor, OrganisationSystem):
        return actor.organisation, None, {"via": actor.via}
    actor.require(ADMINISTER, action)
    return actor.organisation, actor.user, {}
