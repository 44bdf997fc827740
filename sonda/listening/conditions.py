"""Attribute conditions of trigger rules and contact rules: `{"attribute", "op", "value"}`.

A trigger rule's attribute names look in the event's attributes; names prefixed `customer.` look
in the customer's profile attributes. A contact rule's conditions are about the customer only, so
there every name (prefixed or not) looks in the profile.

Conditions are compiled once per batch into a plain function, because the engine tries every rule
on every event of a 10,000-event batch.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sonda.core.errors import FieldError, ValidationFailed

OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists")
CUSTOMER_PREFIX = "customer."
MAX_CONDITIONS = 20

Attributes = Mapping[str, Any]
Matcher = Callable[[Attributes, Attributes], bool]
_MISSING = object()


def conditions_validate(conditions: object, *, field: str = "conditions") -> list[dict[str, Any]]:
    """The conditions as stored, or ValidationFailed naming `field[i].part`."""
    if conditions is None:
        return []
    if not isinstance(conditions, list):
        raise ValidationFailed.on(field, "must be a list of {attribute, op, value}")
    if len(conditions) > MAX_CONDITIONS:
        raise ValidationFailed.on(field, f"at most {MAX_CONDITIONS} conditions")
    errors: list[FieldError] = []
    cleaned: list[dict[str, Any]] = []
    for index, condition in enumerate(conditions):
        where = f"{field}[{index}]"
        if not isinstance(condition, dict):
            errors.append(FieldError(where, "must be an object {attribute, op, value}"))
            continue
        attribute = condition.get("attribute")
        op = condition.get("op")
        value = condition.get("value", True if op == "exists" else _MISSING)
        if not isinstance(attribute, str) or not attribute.strip() or len(attribute) > 100:
            errors.append(FieldError(f"{where}.attribute", "a name of up to 100 characters"))
        if op not in OPS:
            errors.append(FieldError(f"{where}.op", f"one of {', '.join(OPS)}"))
        elif value is _MISSING:
            errors.append(FieldError(f"{where}.value", "required"))
        elif op in ("in", "not_in") and not isinstance(value, list):
            errors.append(FieldError(f"{where}.value", "must be a list"))
        elif op in ("gt", "gte", "lt", "lte") and (
            isinstance(value, bool) or not isinstance(value, (int, float, str))
        ):
            errors.append(FieldError(f"{where}.value", "must be a number or a text"))
        elif op == "exists" and not isinstance(value, bool):
            errors.append(FieldError(f"{where}.value", "must be true or false"))
        elif isinstance(value, dict):
            errors.append(FieldError(f"{where}.value", "must not be an object"))
        if not errors:
            cleaned.append({"attribute": attribute.strip(), "op": op, "value": value})  # type: ignore[union-attr]
    if errors:
        raise ValidationFailed(f"{field}: invalid conditions", errors=errors)
    return cleaned


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _equal(actual: Any, expected: Any) -> bool:
    """Equality as a person would read it: 5 == "5", true == "true", "Gold" != "gold"."""
    if actual == expected and type(actual) is type(expected):
        return True
    if isinstance(actual, bool) or isinstance(expected, bool):
        return str(actual).lower() == str(expected).lower()
    if isinstance(actual, (int, float)) or isinstance(expected, (int, float)):
        a, b = _number(actual), _number(expected)
        return a is not None and a == b
    return bool(actual == expected)


def _contains(actual: Any, options: Sequence[Any]) -> bool:
    if isinstance(actual, list):
        return any(_contains(item, options) for item in actual)
    return any(_equal(actual, option) for option in options)


def _compare(actual: Any, expected: Any) -> int | None:
    """-1, 0 or 1; None when the two cannot be ordered (a missing or non-numeric value)."""
    a, b = _number(actual), _number(expected)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(actual, str) and isinstance(expected, str):  # ISO dates order as text
        return (actual > expected) - (actual < expected)
    return None


def condition_holds(op: str, actual: Any, expected: Any) -> bool:
    """Whether one condition holds for the attribute's value (`_MISSING`-aware via `present`)."""
    present = actual is not _MISSING and actual is not None
    if op == "exists":
        return present is bool(expected)
    if op == "ne":
        return not present or not _equal(actual, expected)
    if op == "not_in":
        return not present or not _contains(actual, expected)
    if not present:
        return False
    if op == "eq":
        if isinstance(actual, list):
            return _contains(actual, [expected])
        return _equal(actual, expected)
    if op == "in":
        return _contains(actual, expected)
    order = _compare(actual, expected)
    if order is None:
        return False
    if op == "gt":
        return order > 0
    if op == "gte":
        return order >= 0
    if op == "lt":
        return order < 0
    if op == "lte":
        return order <= 0
    return False


def _one(condition: Mapping[str, Any], *, customer_only: bool) -> Matcher:
    attribute = str(condition.get("attribute", ""))
    op = str(condition.get("op", ""))
    expected = condition.get("value", True if op == "exists" else None)
    on_customer = customer_only or attribute.startswith(CUSTOMER_PREFIX)
    if attribute.startswith(CUSTOMER_PREFIX):
        attribute = attribute[len(CUSTOMER_PREFIX) :]

    if on_customer:

        def holds(event: Attributes, customer: Attributes) -> bool:
            return condition_holds(op, customer.get(attribute, _MISSING), expected)

    else:

        def holds(event: Attributes, customer: Attributes) -> bool:
            return condition_holds(op, event.get(attribute, _MISSING), expected)

    return holds


def _always(event: Attributes, customer: Attributes) -> bool:
    return True


def conditions_compile(
    conditions: Sequence[Mapping[str, Any]] | None, *, customer_only: bool = False
) -> Matcher:
    """A function (event attributes, customer attributes) -> bool: all conditions hold.

    No conditions match everything. `customer_only` (contact rules) reads every name in the
    customer's attributes.
    """
    if not conditions:
        return _always
    parts = [_one(condition, customer_only=customer_only) for condition in conditions]
    if len(parts) == 1:
        return parts[0]

    def all_hold(event: Attributes, customer: Attributes) -> bool:
        return all(part(event, customer) for part in parts)

    return all_hold


def conditions_match(
    conditions: Sequence[Mapping[str, Any]] | None,
    *,
    event_attributes: Attributes,
    customer_attributes: Attributes,
) -> bool:
    """One-off check (for the dry run's explanations and tests); the engine compiles instead."""
    return conditions_compile(conditions)(event_attributes, customer_attributes)
