"""Domain errors. The API turns them into RFC 7807 problem+json; the CLI into a message."""

from dataclasses import dataclass, field


@dataclass
class FieldError:
    """One failing input: where (a field path, or a CSV row and column) and why."""

    field: str
    message: str
    row: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"field": self.field, "message": self.message}
        if self.row is not None:
            out["row"] = self.row
        return out


class SondaError(Exception):
    """Base of the errors a user can act on. `status` is the HTTP status the API answers."""

    status = 400
    title = "Invalid request"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class ValidationFailed(SondaError):
    status = 422
    title = "Validation failed"

    @classmethod
    def on(cls, field_name: str, message: str) -> "ValidationFailed":
        return cls(f"{field_name}: {message}", errors=[FieldError(field_name, message)])


class Conflict(SondaError):
    status = 409
    title = "Conflict"

    @classmethod
    def on(cls, field_name: str, message: str) -> "Conflict":
        return cls(f"{field_name}: {message}", errors=[FieldError(field_name, message)])


class NotFound(SondaError):
    """Raised for anything outside the caller's scope as well: existence is not disclosed."""

    status = 404
    title = "Not found"


class PermissionDenied(SondaError):
    status = 403
    title = "Forbidden"


@dataclass
class RowErrors(Exception):
    """All the problems found in an import file; nothing was written."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(f"row {e.row}, column {e.field}: {e.message}" for e in self.errors)
