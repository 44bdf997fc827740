"""A demo case's life as rows: the case's fields at the reference date and what happened to it,
written in bulk (one UPDATE per case, multi-row inserts of its timeline, codings, coaching and
callbacks). Nothing here notifies."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, OuterRef, Subquery

from sonda.demo.loop_world import CaseRow, LoopWorld
from sonda.loop.bulk import rows_insert
from sonda.loop.models import (
    Case,
    CaseEvent,
    CaseEventKind,
    CaseProblem,
    CoachingNote,
    CodingSource,
    ExecutiveCallback,
)

K = CaseEventKind


@dataclass
class Life:
    """One case as it stands at the reference date: its fields and what happened to it."""

    case: CaseRow
    fields: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    codings: list[dict[str, Any]] = field(default_factory=list)
    coaching: dict[str, Any] | None = None
    callback: dict[str, Any] | None = None

    @property
    def state(self) -> str:
        return str(self.fields["state"])


_CASE_FIELDS = (
    "state",
    "owner_id",
    "queue",
    "first_contact_at",
    "resolved_at",
    "closed_at",
    "reopened_count",
    "recovery_outcome",
    "close_due",
    "first_contact_warned_at",
    "close_warned_at",
    "first_contact_breached_at",
    "close_breached_at",
    "escalation_level",
    "escalated_to_id",
    "loop",
    "owner_function_id",
    "version",
    "created_at",
    "updated_at",
)


def _adapted(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def lives_write(world: LoopWorld, lives: Sequence[Life]) -> None:
    quote = connection.ops.quote_name
    columns = {f.attname: f.column for f in Case._meta.concrete_fields}
    assignments = ", ".join(f"{quote(columns[name])} = %s" for name in _CASE_FIELDS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(Case._meta.db_table)} SET {assignments} WHERE id = %s",  # noqa: S608
            [
                [*(_adapted(life.fields[name]) for name in _CASE_FIELDS), life.case.pk]
                for life in lives
            ],
        )
    stamp = world.reference
    org = world.organisation_id
    coached = [life for life in lives if life.coaching is not None]
    note_of = {
        case_id: note_id
        for note_id, case_id in rows_insert(
            CoachingNote,
            [
                {"organisation_id": org, "case_id": life.case.pk, **(life.coaching or {})}
                for life in coached
            ],
            stamp=stamp,
            returning=("id", "case_id"),
        )
    }
    events: list[dict[str, Any]] = []
    codings: list[dict[str, Any]] = []
    callbacks: list[dict[str, Any]] = []
    for life in lives:
        for entry in life.events:
            data = entry["data"]
            if entry["kind"] == K.COACHING.value:
                data = {**data, "coaching_note": note_of[life.case.pk]}
            events.append(
                {
                    "organisation_id": org,
                    "case_id": life.case.pk,
                    "kind": entry["kind"],
                    "actor_id": entry["actor_id"],
                    "text": entry["text"],
                    "data": data,
                    "at": entry["at"],
                    "created_at": entry["at"],
                    "updated_at": entry["at"],
                }
            )
        for coding in life.codings:
            codings.append(
                {
                    "organisation_id": org,
                    "case_id": life.case.pk,
                    "source": CodingSource.CALLBACK.value,
                    "updated_at": coding["created_at"],
                    **coding,
                }
            )
        if life.callback is not None:
            callbacks.append(
                {
                    "organisation_id": org,
                    "case_id": life.case.pk,
                    "updated_at": life.callback["created_at"],
                    **life.callback,
                }
            )
    # What the bulk opening wrote is dated like the rest: at the opening, not at generation.
    first = min(life.case.pk for life in lives)
    CaseEvent.objects.filter(organisation_id=org, case_id__gte=first).update(
        created_at=F("at"), updated_at=F("at")
    )
    opened = Case.objects.filter(pk=OuterRef("case_id")).values("opened_at")[:1]
    CaseProblem.objects.filter(organisation_id=org, case_id__gte=first).update(
        created_at=Subquery(opened), updated_at=Subquery(opened)
    )
    rows_insert(CaseEvent, events, stamp=stamp)
    rows_insert(CaseProblem, codings, stamp=stamp)
    rows_insert(ExecutiveCallback, callbacks, stamp=stamp)
