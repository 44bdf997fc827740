"""Interaction events in: validation item by item, then set-based storage and decisions per chunk.

A batch is checked item by item (each problem named by the item's index and field); the valid
items of a chunk are then stored together: all identities resolved in one call, units and
employees read in one query each, the events written by one multi-row
`INSERT ... ON CONFLICT (organisation_id, dedupe_key) DO NOTHING`, and only the events that
statement created go on to the trigger rules. A replayed event matches its dedupe key, is answered
as a duplicate with the id it matched, and decides nothing again.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import ValidationFailed
from sonda.customers.identities import IdentityKey, identity_normalise
from sonda.customers.models import Customer
from sonda.customers.services import customers_resolve_bulk
from sonda.listening.decisions import decide_events
from sonda.listening.models import DeliveryChannel, Event, Invitation
from sonda.org.models import Person, Unit

MAX_ITEMS = 10_000
CHUNK = 2_000
MAX_ATTRIBUTES_BYTES = 8_192
MAX_FUTURE = timedelta(days=1)
LINK = DeliveryChannel.LINK.value

CREATED = "created"
DUPLICATE = "duplicate"
INVALID = "invalid"

FIELDS = frozenset(
    {
        "type",
        "occurred_at",
        "customer",
        "customer_id",
        "unit_id",
        "unit_code",
        "employee_id",
        "employee_email",
        "channel",
        "touchpoint",
        "journey",
        "stage",
        "attributes",
        "idempotency_key",
        "source",
        "source_id",
    }
)
# The event's labels and the longest each may be (the columns' widths).
LABELS = (("channel", 32), ("touchpoint", 100), ("journey", 100), ("stage", 100))
DEDUPE_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class ItemError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(slots=True)
class ItemResult:
    index: int
    status: str
    event_id: int | None = None
    invitations: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "status": self.status,
            "event_id": self.event_id,
            "invitations": self.invitations,
        }
        if self.errors:
            out["errors"] = [error.as_dict() for error in self.errors]
        return out


@dataclass
class IngestResult:
    items: list[ItemResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def created(self) -> int:
        return self.count(CREATED)

    @property
    def duplicates(self) -> int:
        return self.count(DUPLICATE)

    @property
    def invalid(self) -> int:
        return self.count(INVALID)

    @property
    def invitations(self) -> int:
        return sum(len(item.invitations) for item in self.items)

    @property
    def errors(self) -> list[ItemError]:
        return [error for item in self.items for error in item.errors]

    def extend(self, other: "IngestResult", *, offset: int = 0) -> None:
        for item in other.items:
            item.index += offset
            item.errors = [
                ItemError(error.index + offset, error.field, error.message) for error in item.errors
            ]
            self.items.append(item)


@dataclass(slots=True)
class Candidate:
    """An item that passed the checks that need no database."""

    index: int
    event_type: str
    occurred_at: datetime
    identity: IdentityKey | None
    customer_id: int | None
    unit_id: int | None
    unit_code: str
    employee_id: int | None
    employee_email: str
    channel: str
    touchpoint: str
    journey: str
    stage: str
    attributes: dict[str, Any]
    source: str
    source_id: str
    idempotency_key: str
    dedupe_key: str = ""


@dataclass(frozen=True, slots=True)
class UnreadableItem:
    """An item the transport could not read (a bad NDJSON line): invalid at its index."""

    reason: str


# --- Checking one item -------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def _text(item: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = item.get(name)
    if value is None or value == "":
        if required:
            raise _Invalid(name, "is required")
        return ""
    if not isinstance(value, str):
        raise _Invalid(name, "must be a string")
    value = value.strip()
    if required and not value:
        raise _Invalid(name, "is required")
    if len(value) > limit:
        raise _Invalid(name, f"is longer than {limit} characters")
    return value


def _id(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _Invalid(name, "must be a whole number")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 1:
        raise _Invalid(name, "must be a positive whole number")
    return value


def _occurred_at(item: Mapping[str, Any], now: datetime) -> datetime:
    value = item.get("occurred_at")
    if value is None or value == "":
        raise _Invalid("occurred_at", "is required")
    if not isinstance(value, str):
        raise _Invalid("occurred_at", "must be an ISO 8601 date and time with its offset")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Invalid(
            "occurred_at", f"'{value}' is not an ISO 8601 date and time (2026-10-05T09:30:00+02:00)"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _Invalid("occurred_at", "needs its offset from UTC (e.g. +02:00 or Z)")
    if moment > now + MAX_FUTURE:
        raise _Invalid("occurred_at", "is more than a day in the future")
    return moment


@lru_cache(maxsize=65_536)
def _normalised(kind: str, value: str, source: str) -> IdentityKey | tuple[str, str]:
    """An identity in canonical form, or (field, message) when it is none. Batches name the same
    customers again and again, and parsing a phone number costs more than the rest of the item."""
    where = "customer.external.id" if kind == "external" else f"customer.{kind}"
    try:
        return identity_normalise(kind=kind, value=value, source=source, field=where)
    except ValidationFailed as exc:
        error = exc.errors[0]
        name = error.field if error.field.startswith("customer") else "customer.external.source"
        return (name, error.message)


def _identity(item: Mapping[str, Any]) -> IdentityKey | None:
    value = item.get("customer")
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1:
        raise _Invalid(
            "customer",
            'must be one identity: {"email": ...}, {"phone": ...} or '
            '{"external": {"source": ..., "id": ...}}',
        )
    ((kind, raw),) = value.items()
    if kind in ("email", "phone"):
        if not isinstance(raw, str):
            raise _Invalid(f"customer.{kind}", "must be a string")
        found = _normalised(kind, raw, "")
    elif kind == "external":
        if not isinstance(raw, Mapping) or set(raw) != {"source", "id"}:
            raise _Invalid("customer.external", 'must be {"source": ..., "id": ...}')
        source, ident = raw["source"], raw["id"]
        if isinstance(ident, int) and not isinstance(ident, bool):
            ident = str(ident)
        if not isinstance(source, str) or not isinstance(ident, str):
            raise _Invalid("customer.external", "source and id must be strings")
        found = _normalised("external", ident, source)
    else:
        raise _Invalid("customer", f"unknown identity '{kind}' (email, phone or external)")
    if isinstance(found, tuple):
        raise _Invalid(*found)
    return found


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    value = item.get("attributes")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Invalid("attributes", "must be an object of named values")
    for name, inner in value.items():
        if not isinstance(name, str) or not name:
            raise _Invalid("attributes", "names must be non-empty strings")
        # One level: a value is a plain value or a list of them, as the rules' conditions compare.
        if not (_scalar(inner) or (isinstance(inner, list) and all(map(_scalar, inner)))):
            raise _Invalid(f"attributes.{name}", "must be a plain value or a list of them")
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
    except ValueError:
        raise _Invalid("attributes", "numbers must be finite") from None
    if size > MAX_ATTRIBUTES_BYTES:
        raise _Invalid("attributes", "too large (at most 8 KB as JSON)")
    return dict(value)


def item_check(item: object, *, index: int, now: datetime) -> Candidate:
    """The item as a candidate event, or `_Invalid` naming the first failing field."""
    if isinstance(item, UnreadableItem):
        raise _Invalid("item", item.reason)
    if not isinstance(item, Mapping):
        raise _Invalid("item", "must be an object")
    unknown = sorted(str(name) for name in item if name not in FIELDS)
    if unknown:
        raise _Invalid(unknown[0], "unknown field")
    event_type = _text(item, "type", 64, required=True)
    occurred_at = _occurred_at(item, now)
    identity = _identity(item)
    customer_id = _id(item, "customer_id")
    if identity is not None and customer_id is not None:
        raise _Invalid("customer", "give customer or customer_id, not both")
    unit_id = _id(item, "unit_id")
    unit_code = _text(item, "unit_code", 64)
    if unit_id is not None and unit_code:
        raise _Invalid("unit_code", "give unit_id or unit_code, not both")
    employee_id = _id(item, "employee_id")
    employee_email = _text(item, "employee_email", 254).lower()
    if employee_id is not None and employee_email:
        raise _Invalid("employee_email", "give employee_id or employee_email, not both")
    labels = {name: _text(item, name, limit) for name, limit in LABELS}
    attributes = _attributes(item)
    idempotency_key = _text(item, "idempotency_key", 200)
    source = _text(item, "source", 64)
    source_id = _text(item, "source_id", 200)
    if bool(source) != bool(source_id) and not idempotency_key:
        missing = "source_id" if source else "source"
        raise _Invalid(missing, "source and source_id go together")
    return Candidate(
        index=index,
        event_type=event_type,
        occurred_at=occurred_at,
        identity=identity,
        customer_id=customer_id,
        unit_id=unit_id,
        unit_code=unit_code,
        employee_id=employee_id,
        employee_email=employee_email,
        attributes=attributes,
        source=source,
        source_id=source_id,
        idempotency_key=idempotency_key,
        **labels,
    )


def _bounded(prefix: str, key: str) -> str:
    """`prefix + key`, or its hash when that would not fit the column."""
    whole = prefix + key
    if len(whole) <= DEDUPE_KEY_LENGTH:
        return whole
    return f"{prefix}sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def dedupe_key(candidate: Candidate, *, unit_id: int | None, employee_id: int | None) -> str:
    """The sender's key, else source and source id, else a hash of what the event says."""
    if candidate.idempotency_key:
        return _bounded("key:", candidate.idempotency_key)
    if candidate.source:
        return _bounded(f"src:{candidate.source}:", candidate.source_id)
    who = str(candidate.identity) if candidate.identity else f"id:{candidate.customer_id or ''}"
    content = json.dumps(
        [
            candidate.event_type,
            candidate.occurred_at.astimezone(UTC).isoformat(),
            who,
            unit_id,
            employee_id,
            candidate.touchpoint,
            candidate.channel,
            candidate.journey,
            candidate.stage,
            candidate.attributes,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


# --- The batch ---------------------------------------------------------------------------------


def events_ingest(
    *,
    scope: Scope,
    items: Sequence[object],
    now: datetime | None = None,
    chunk_size: int = CHUNK,
    max_items: int | None = MAX_ITEMS,
) -> IngestResult:
    """Store every valid event of `items` and decide the invitations of the new ones.

    One result per item, in order: created (with its invitations), duplicate (with the event it
    matched), or invalid (with its errors). Each chunk is stored in one transaction.
    """
    scope.require(CONFIGURE, "send events")
    if max_items is not None and len(items) > max_items:
        raise ValidationFailed.on("items", f"at most {max_items:,} events per request")
    if not items:
        raise ValidationFailed.on("items", "no events given")
    now = now or timezone.now()
    result = IngestResult()
    for start in range(0, len(items), chunk_size):
        chunk = items[start : start + chunk_size]
        result.extend(_ingest_chunk(scope, chunk, now=now), offset=start)
    return result


def _ingest_chunk(scope: Scope, items: Sequence[object], *, now: datetime) -> IngestResult:
    results = [ItemResult(index=offset, status=CREATED) for offset in range(len(items))]
    candidates: list[Candidate] = []
    for offset, item in enumerate(items):
        try:
            candidates.append(item_check(item, index=offset, now=now))
        except _Invalid as problem:
            _invalid(results[offset], problem.field, problem.message)
    with transaction.atomic():
        candidates = _references(scope, candidates, results)
        if candidates:
            _store(scope, candidates, results, now=now)
    # Indexes are the chunk's own until `IngestResult.extend` adds the chunk's offset.
    return IngestResult(items=results)


def _invalid(result: ItemResult, field_name: str, message: str) -> None:
    result.status = INVALID
    result.errors.append(ItemError(result.index, field_name, message))


def _references(
    scope: Scope, candidates: list[Candidate], results: list[ItemResult]
) -> list[Candidate]:
    """Check customers, units and employees named by id, code or email (one query each)."""
    organisation_id = scope.organisation_id
    customer_ids = {c.customer_id for c in candidates if c.customer_id is not None}
    live: dict[int, int] = {}
    if customer_ids:
        rows = Customer.objects.filter(
            organisation_id=organisation_id, pk__in=customer_ids, erased_at__isnull=True
        ).values_list("pk", "merged_into_id")
        live = {pk: merged or pk for pk, merged in rows}
    unit_ids = {c.unit_id for c in candidates if c.unit_id is not None}
    unit_codes = {c.unit_code for c in candidates if c.unit_code}
    units_by_id: set[int] = set()
    units_by_code: dict[str, int] = {}
    if unit_ids or unit_codes:
        for pk, code in Unit.objects.filter(
            Q(pk__in=unit_ids) | Q(code__in=unit_codes), organisation_id=organisation_id
        ).values_list("pk", "code"):
            units_by_id.add(pk)
            units_by_code[code] = pk
    employee_ids = {c.employee_id for c in candidates if c.employee_id is not None}
    emails = {c.employee_email for c in candidates if c.employee_email}
    people_by_id: set[int] = set()
    people_by_email: dict[str, int] = {}
    if employee_ids or emails:
        rows_p = (
            Person.objects.annotate(email_lower=Lower("email"))
            .filter(
                Q(pk__in=employee_ids) | Q(email_lower__in=emails),
                organisation_id=organisation_id,
            )
            .order_by("-is_active", "pk")
            .values_list("pk", "email_lower")
        )
        for pk, email in rows_p:
            people_by_id.add(pk)
            people_by_email.setdefault(email, pk)
    kept = []
    for candidate in candidates:
        result = results[candidate.index]
        if candidate.customer_id is not None:
            if candidate.customer_id not in live:
                _invalid(result, "customer_id", f"no customer with id {candidate.customer_id}")
                continue
            candidate.customer_id = live[candidate.customer_id]
        if candidate.unit_id is not None and candidate.unit_id not in units_by_id:
            _invalid(result, "unit_id", f"no unit with id {candidate.unit_id}")
            continue
        if candidate.unit_code:
            if candidate.unit_code not in units_by_code:
                _invalid(result, "unit_code", f"no unit with code '{candidate.unit_code}'")
                continue
            candidate.unit_id = units_by_code[candidate.unit_code]
        if candidate.employee_id is not None and candidate.employee_id not in people_by_id:
            _invalid(result, "employee_id", f"no person with id {candidate.employee_id}")
            continue
        if candidate.employee_email:
            if candidate.employee_email not in people_by_email:
                _invalid(
                    result, "employee_email", f"no person with email {candidate.employee_email}"
                )
                continue
            candidate.employee_id = people_by_email[candidate.employee_email]
        candidate.dedupe_key = dedupe_key(
            candidate, unit_id=candidate.unit_id, employee_id=candidate.employee_id
        )
        kept.append(candidate)
    return kept


def _store(
    scope: Scope, candidates: list[Candidate], results: list[ItemResult], *, now: datetime
) -> None:
    organisation_id = scope.organisation_id
    # The same event twice in one batch is stored once; the later copies are its duplicates.
    firsts: dict[str, Candidate] = {}
    for candidate in candidates:
        firsts.setdefault(candidate.dedupe_key, candidate)
    unique = list(firsts.values())
    identities = [c.identity for c in unique if c.identity is not None]
    if identities:
        resolved = iter(
            customers_resolve_bulk(organisation=scope.organisation, identities=identities)
        )
        for candidate in unique:
            if candidate.identity is not None:
                candidate.customer_id = next(resolved)
    created = events_insert(organisation_id, unique)
    missing = [key for key in firsts if key not in created]
    existing: dict[str, int] = {}
    if missing:
        existing = dict(
            Event.objects.filter(
                organisation_id=organisation_id, dedupe_key__in=missing
            ).values_list("dedupe_key", "pk")
        )
    decided = decide_events(
        organisation_id=organisation_id, event_ids=sorted(created.values()), now=now
    )
    links = survey_links()
    for candidate in candidates:
        result = results[candidate.index]
        key = candidate.dedupe_key
        if key in created and firsts[key] is candidate:
            result.event_id = created[key]
            result.invitations = [
                invitation_summary(invitation, links=links)
                for invitation in decided.invitations.get(created[key], [])
            ]
        else:
            result.status = DUPLICATE
            result.event_id = created.get(key) or existing.get(key)


def invitation_summary(invitation: Invitation, *, links: str | None = None) -> dict[str, Any]:
    """What a sender learns of an invitation; `links` is the survey link with `{}` for the token."""
    url = None
    if invitation.delivery == LINK:
        url = (links or survey_links()).format(invitation.token)
    return {
        "id": invitation.pk,
        "survey_id": invitation.survey_id,
        "delivery": invitation.delivery,
        "url": url,
    }


def survey_links() -> str:
    """The absolute survey link with `{}` where the token goes (reversed once per batch)."""
    marker = "TOKEN"
    path = reverse("respond:survey", kwargs={"token": marker})
    prefix, _, suffix = path.rpartition(marker)
    return (
        settings.SONDA_PUBLIC_URL.rstrip("/")
        + prefix.replace("{", "{{")
        + "{}"
        + suffix.replace("{", "{{")
    )


# --- The insert --------------------------------------------------------------------------------

EVENT_COLUMNS = (
    "created_at",
    "updated_at",
    "organisation_id",
    "event_type",
    "occurred_at",
    "customer_id",
    "channel",
    "unit_id",
    "employee_id",
    "touchpoint",
    "journey",
    "stage",
    "attributes",
    "source",
    "source_id",
    "dedupe_key",
)


def _rows_per_statement() -> int:
    limit = connection.features.max_query_params or 65_535
    return max(1, min(1_000, limit // len(EVENT_COLUMNS)))


def event_row(organisation_id: int, candidate: Candidate, stamp: object) -> tuple[Any, ...]:
    adapt = connection.ops.adapt_datetimefield_value
    return (
        stamp,
        stamp,
        organisation_id,
        candidate.event_type,
        adapt(candidate.occurred_at),
        candidate.customer_id,
        candidate.channel,
        candidate.unit_id,
        candidate.employee_id,
        candidate.touchpoint,
        candidate.journey,
        candidate.stage,
        _ATTRIBUTES.get_db_prep_save(candidate.attributes, connection),
        candidate.source,
        candidate.source_id,
        candidate.dedupe_key,
    )


_ATTRIBUTES = Event._meta.get_field("attributes")


def events_insert(organisation_id: int, candidates: Sequence[Candidate]) -> dict[str, int]:
    """Write the events whose dedupe key is new: {dedupe_key: id} of those written.

    Plain multi-row SQL, as the ORM cannot say ON CONFLICT DO NOTHING and hand back the ids of the
    rows it wrote. The rows go in by key order, so that two writers of overlapping batches take
    their row locks in the same order and wait for each other instead of deadlocking.
    """
    if not candidates:
        return {}
    ordered = sorted(candidates, key=lambda c: c.dedupe_key)
    if connection.vendor == "postgresql":
        return _insert_arrays(organisation_id, ordered)
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in EVENT_COLUMNS)
    placeholder = "(" + ", ".join(["%s"] * len(EVENT_COLUMNS)) + ")"
    per_statement = _rows_per_statement()
    created: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), per_statement):
            part = ordered[start : start + per_statement]
            params: list[Any] = []
            for candidate in part:
                params.extend(event_row(organisation_id, candidate, stamp))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                f"{', '.join([placeholder] * len(part))} "
                "ON CONFLICT (organisation_id, dedupe_key) DO NOTHING "
                "RETURNING id, dedupe_key",
                params,
            )
            created.update((key, int(pk)) for pk, key in cursor.fetchall())
    return created


# On PostgreSQL the rows travel as one array per column: a statement with a placeholder per value
# costs the driver more to build than the server takes to insert the rows.
_ARRAY_COLUMNS = (
    ("event_type", "text"),
    ("occurred_at", "timestamptz"),
    ("customer_id", "bigint"),
    ("channel", "text"),
    ("unit_id", "bigint"),
    ("employee_id", "bigint"),
    ("touchpoint", "text"),
    ("journey", "text"),
    ("stage", "text"),
    ("attributes", "text"),
    ("source", "text"),
    ("source_id", "text"),
    ("dedupe_key", "text"),
)


def _insert_arrays(organisation_id: int, ordered: Sequence[Candidate]) -> dict[str, int]:
    names = ", ".join(name for name, _ in _ARRAY_COLUMNS)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in _ARRAY_COLUMNS)
    picked = ", ".join(
        "t.attributes::jsonb" if name == "attributes" else f"t.{name}" for name, _ in _ARRAY_COLUMNS
    )
    columns = ", ".join(("created_at", "updated_at", "organisation_id", names))
    statement = (
        f"INSERT INTO {connection.ops.quote_name(Event._meta.db_table)} ({columns}) "  # noqa: S608
        f"SELECT %s, %s, %s, {picked} FROM unnest({arrays}) AS t({names}) "
        "ON CONFLICT (organisation_id, dedupe_key) DO NOTHING RETURNING id, dedupe_key"
    )
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    stamp = timezone.now()
    params: list[Any] = [
        stamp,
        stamp,
        organisation_id,
        [c.event_type for c in ordered],
        [c.occurred_at for c in ordered],
        [c.customer_id for c in ordered],
        [c.channel for c in ordered],
        [c.unit_id for c in ordered],
        [c.employee_id for c in ordered],
        [c.touchpoint for c in ordered],
        [c.journey for c in ordered],
        [c.stage for c in ordered],
        [dumps(c.attributes) for c in ordered],
        [c.source for c in ordered],
        [c.source_id for c in ordered],
        [c.dedupe_key for c in ordered],
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return {key: int(pk) for pk, key in cursor.fetchall()}
