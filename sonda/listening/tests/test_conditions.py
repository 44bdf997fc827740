"""Attribute conditions as an analyst writes them on a trigger rule or a contact rule."""

from typing import Any

import pytest

from sonda.core.errors import ValidationFailed
from sonda.listening.conditions import conditions_compile, conditions_match, conditions_validate


def holds(op: str, actual: object, value: object = None) -> bool:
    attributes = {} if actual is None else {"a": actual}
    condition = {"attribute": "a", "op": op, "value": value}
    return conditions_match([condition], event_attributes=attributes, customer_attributes={})


@pytest.mark.parametrize(
    ("op", "actual", "value", "expected"),
    [
        ("eq", "mortgage", "mortgage", True),
        ("eq", "mortgage", "Mortgage", False),
        ("eq", 5, "5", True),
        ("eq", "5", 5, True),
        ("eq", True, "true", True),
        ("eq", ["card", "loan"], "loan", True),
        ("eq", None, "x", False),
        ("ne", "card", "mortgage", True),
        ("ne", "mortgage", "mortgage", False),
        ("ne", None, "mortgage", True),
        ("in", "gold", ["gold", "platinum"], True),
        ("in", "silver", ["gold", "platinum"], False),
        ("in", ["silver", "gold"], ["gold"], True),
        ("in", None, ["gold"], False),
        ("not_in", "silver", ["gold"], True),
        ("not_in", "gold", ["gold"], False),
        ("not_in", None, ["gold"], True),
        ("gt", 1500, 1000, True),
        ("gt", 1000, 1000, False),
        ("gte", 1000, 1000, True),
        ("lt", "12.5", 20, True),
        ("lte", 20, 20, True),
        ("lt", 21, 20, False),
        ("gt", "2026-03-01", "2026-02-28", True),
        ("gt", "many", 3, False),
        ("gt", None, 3, False),
        ("exists", "anything", True, True),
        ("exists", None, True, False),
        ("exists", None, False, True),
        ("exists", 0, False, False),
    ],
)
def test_each_operator_reads_as_a_person_would_expect(op, actual, value, expected):
    assert holds(op, actual, value) is expected


def test_all_conditions_must_hold_and_no_conditions_match_everything():
    both: list[dict[str, Any]] = [
        {"attribute": "product", "op": "eq", "value": "mortgage"},
        {"attribute": "amount", "op": "gte", "value": 100000},
    ]
    match = conditions_compile(both)
    assert match({"product": "mortgage", "amount": 250000}, {})
    assert not match({"product": "mortgage", "amount": 50000}, {})
    assert conditions_compile([])({}, {})
    assert conditions_compile(None)({"anything": 1}, {})


def test_a_customer_prefix_reads_the_customers_profile_not_the_event():
    match = conditions_compile([{"attribute": "customer.segment", "op": "eq", "value": "business"}])
    assert match({}, {"segment": "business"})
    assert not match({"segment": "business"}, {"segment": "retail"})


def test_contact_rule_conditions_read_the_customer_with_or_without_the_prefix():
    plain = conditions_compile(
        [{"attribute": "segment", "op": "eq", "value": "business"}], customer_only=True
    )
    prefixed = conditions_compile(
        [{"attribute": "customer.segment", "op": "eq", "value": "business"}], customer_only=True
    )
    customer = {"segment": "business"}
    assert plain(customer, customer)
    assert prefixed(customer, customer)
    assert not plain({"segment": "business"}, {"segment": "retail"})


def test_valid_conditions_are_kept_and_exists_needs_no_value():
    cleaned = conditions_validate(
        [
            {"attribute": " product ", "op": "in", "value": ["card"]},
            {"attribute": "vip", "op": "exists"},
        ]
    )
    assert cleaned == [
        {"attribute": "product", "op": "in", "value": ["card"]},
        {"attribute": "vip", "op": "exists", "value": True},
    ]


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ("product=card", "conditions"),
        ([{"attribute": "", "op": "eq", "value": 1}], "conditions[0].attribute"),
        ([{"attribute": "a", "op": "like", "value": 1}], "conditions[0].op"),
        ([{"attribute": "a", "op": "eq"}], "conditions[0].value"),
        ([{"attribute": "a", "op": "in", "value": "x"}], "conditions[0].value"),
        ([{"attribute": "a", "op": "gt", "value": [1]}], "conditions[0].value"),
        ([{"attribute": "a", "op": "exists", "value": "yes"}], "conditions[0].value"),
        (["product"], "conditions[0]"),
    ],
)
def test_a_malformed_condition_is_refused_naming_where(conditions, field):
    with pytest.raises(ValidationFailed) as refused:
        conditions_validate(conditions)
    assert [error.field for error in refused.value.errors] == [field]
