"""Building blocks shared by every app's API schemas."""

from typing import Any, ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


class InputSchema(Schema):
    """A request body. Unknown fields are refused, so that a misspelt field is not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchSchema(InputSchema):
    """A partial update: fields left out stay as they are; null only where it clears a value."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise PydanticCustomError("null_forbidden", "may not be null")
        return value

    def given(self, name: str) -> bool:
        """Whether the client sent this field (a null counts: it asks to empty the value)."""
        return name in self.model_fields_set


def email_address(value: str) -> str:
    """An email address as Django's forms accept it, lower-cased (for `AfterValidator`)."""
    if value == "":
        return value
    try:
        validate_email(value)
    except DjangoValidationError as exc:
        raise PydanticCustomError("email", "is not an email address") from exc
    return value.lower()
