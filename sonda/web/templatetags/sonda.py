"""Template filters for showing domain values to people."""

import json
from typing import Any

from django import template
from django.forms import BoundField
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def attribute_value(value: Any) -> str:
    """A segment attribute as a person reads it: lists joined with commas, objects as JSON."""
    if isinstance(value, list | tuple):
        return ", ".join(attribute_value(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


@register.filter
def described_widget(field: BoundField) -> str:
    """The field's widget, pointing screen readers at its help text and its errors."""
    described_by = []
    attrs: dict[str, str | bool] = {}
    if field.help_text:
        described_by.append(f"{field.auto_id}_helptext")
    if field.errors:
        described_by.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)
