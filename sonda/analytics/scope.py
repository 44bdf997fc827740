"""The one way into the answers for analytics: a Scope narrows them before anything else.

`scoped_answers(scope=…)` is the choke point. It filters the engine's answers to the scope's
organisation always, to the manager's unit subtree (by the path every answer carries) and to the
frontline employee's own answers (those whose employee is the person linked to their user), as
the responses pages do (sonda.surveys.response_selectors). Any other role sees nothing: the
filter fails closed.

Queries accept only a ScopedAnswers, and a ScopedAnswers can be built only here: constructing one
directly, or handing a query a bare Ibis table, raises.
"""

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.analytics.engine import (
    Engine,
    answers_relation,
    monthly_tallies_relation,
    operational_engine,
    tallies_relation,
)
from sonda.core.calendar import zone
from sonda.org.models import Person

_BUILDER = object()  # only scoped_answers holds it


class UnscopedQuery(TypeError):
    """An analytics query was built without an access scope."""


@dataclass(frozen=True)
class ScopedAnswers:
    """The answers one Scope may see, on one engine, with the organisation's time zone."""

    scope: Scope
    engine: Engine
    time_zone: ZoneInfo
    _token: object = field(repr=False, compare=False)
    _with_tallies: bool = True

    # The relations are built when a query first asks for one: a query reads one of the three.

    @cached_property
    def table(self) -> ir.Table:
        """The answers under the scope."""
        return _visible(self.scope, answers_relation(self.engine))

    @cached_property
    def tallies(self) -> ir.Table | None:
        """The daily tallies under the same scope; None where the engine has none or the scope
        is narrower than a unit subtree (a frontline employee's own answers are not tallied
        apart), or where the caller asked to count every answer."""
        if not self._with_tallies:
            return None
        return _visible_tallies(self.scope, tallies_relation(self.engine))

    @cached_property
    def monthly_tallies(self) -> ir.Table | None:
        """The same per local month, where the engine keeps them (see
        engine.monthly_tallies_relation)."""
        if not self._with_tallies:
            return None
        return _visible_tallies(self.scope, monthly_tallies_relation(self.engine))

    def __post_init__(self) -> None:
        if self._token is not _BUILDER:
            raise UnscopedQuery("Build ScopedAnswers with sonda.analytics.scope.scoped_answers")

    def run(self, expr: ir.Table) -> list[dict[str, Any]]:
        return self.engine.run(expr)


def require_scoped(answers: object) -> ScopedAnswers:
    """`answers` when it is a ScopedAnswers; UnscopedQuery otherwise (e.g. a bare Ibis table)."""
    if not isinstance(answers, ScopedAnswers):
        raise UnscopedQuery("Analytics queries need answers from scoped_answers(scope=…)")
    return answers


def organisation_time_zone(scope: Scope) -> ZoneInfo:
    return zone(scope.organisation.time_zone)


def _visible_tallies(scope: Scope, tallies: ir.Table | None) -> ir.Table | None:
    if tallies is None:
        return None
    in_organisation = tallies.filter(tallies.organisation_id == scope.organisation_id)
    if scope.sees_whole_organisation:
        return in_organisation
    if scope.role == Role.MANAGER and scope.unit_path:
        return in_organisation.filter(in_organisation.unit_path.startswith(scope.unit_path))
    return None


def _visible(scope: Scope, answers: ir.Table) -> ir.Table:
    in_organisation = answers.filter(answers.organisation_id == scope.organisation_id)
    if scope.sees_whole_organisation:
        return in_organisation
    if scope.role == Role.MANAGER and scope.unit_path:
        # Answers carry their unit's path, so the subtree is a prefix match with no join.
        return in_organisation.filter(in_organisation.unit_path.startswith(scope.unit_path))
    if scope.role == Role.FRONTLINE:
        person_ids = list(
            Person.objects.filter(organisation_id=scope.organisation_id, user=scope.user)
            .values_list("pk", flat=True)
            .order_by()
        )
        if person_ids:
            return in_organisation.filter(in_organisation.employee_id.isin(person_ids))
    return in_organisation.filter(ibis.literal(False))


def scoped_answers(
    *, scope: Scope, engine: Engine | None = None, tallies: bool = True
) -> ScopedAnswers:
    """The answers `scope` may see on `engine` (the operational database by default), with
    their daily tallies unless `tallies` is False (queries then count every answer: the tests
    compare both ways)."""
    if not isinstance(scope, Scope):
        raise UnscopedQuery("scoped_answers needs the caller's Scope")
    chosen = engine if engine is not None else operational_engine()
    return ScopedAnswers(
        scope=scope,
        engine=chosen,
        time_zone=organisation_time_zone(scope),
        _token=_BUILDER,
        _with_tallies=tallies,
    )
