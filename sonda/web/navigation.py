"""The main navigation: the areas a role may use now, and the areas still to come."""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.loop.casefile import has_cases

# Units and people are browsed by everyone who reads more than their own record.
BROWSE_STRUCTURE = frozenset({Role.ADMIN, Role.ANALYST, Role.EXECUTIVE, Role.MANAGER})


def may_browse_structure(scope: Scope) -> bool:
    return scope.role in BROWSE_STRUCTURE


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url: str | None  # None: an area that is coming soon
    active: bool = False


@dataclass(frozen=True)
class _Area:
    label: str | Promise
    url_name: str
    allowed: Callable[[Scope], bool]
    exact: bool = False


AREAS = (
    _Area(_("Home"), "home", lambda scope: True, exact=True),
    _Area(_("Dashboards"), "dashboards:overview", lambda scope: scope.role != Role.FRONTLINE),
    # Frontline employees see their own results only.
    _Area(_("My results"), "dashboards:employees", lambda scope: scope.role == Role.FRONTLINE),
    _Area(_("Units"), "org:unit_tree", may_browse_structure),
    _Area(_("People"), "org:person_list", may_browse_structure),
    _Area(_("Customers"), "customers:list", lambda scope: scope.can_read_customers),
    _Area(_("Surveys"), "surveys:list", lambda scope: scope.sees_whole_organisation),
    _Area(_("Responses"), "responses:list", lambda scope: True),
    # Cases for those who call customers back or read them: managers, HQ roles, function
    # members and anyone a case is routed to; frontline employees see their coaching instead.
    _Area(_("Cases"), "loop:cases", has_cases),
    _Area(_("Coaching"), "loop:coaching", lambda scope: scope.role == Role.FRONTLINE),
    _Area(_("Listening"), "listening:index", lambda scope: scope.sees_whole_organisation),
    # Managers see the response rates and invitations of their subtree, not the configuration.
    _Area(_("Response rates"), "listening_reports:rates", lambda scope: scope.role == Role.MANAGER),
    _Area(_("Imports"), "imports:list", lambda scope: scope.can_configure),
    _Area(_("Members"), "accounts:members", lambda scope: scope.is_admin),
    # Each member's own notifications of cases, escalations, coaching and praise.
    _Area(_("Notifications"), "loop_notifications:list", lambda scope: True),
    _Area(_("API tokens"), "accounts:tokens", lambda scope: True),
    _Area(_("Audit log"), "accounts:audit", lambda scope: scope.is_admin),
    _Area(_("Erase customer data"), "privacy:erase", lambda scope: scope.is_admin),
)

COMING_SOON = (
    _("Pain map"),
    _("Initiatives"),
    _("Journeys"),
    _("Ideas"),
)


def main_navigation(*, scope: Scope, path: str) -> list[NavItem]:
    """The areas this scope may use, marking the one `path` is in."""
    items = []
    for area in AREAS:
        if not area.allowed(scope):
            continue
        url = reverse(area.url_name)
        active = path == url if area.exact else path.startswith(url)
        items.append(NavItem(label=area.label, url=url, active=active))
    return items


def coming_soon() -> list[NavItem]:
    return [NavItem(label=label, url=None) for label in COMING_SOON]
