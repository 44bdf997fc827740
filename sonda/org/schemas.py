"""API schemas for unit types, units and people: one input and one output shape per endpoint."""

from typing import Annotated, ClassVar

from ninja import Field, Schema
from pydantic import AfterValidator

from sonda.api.schemas import InputSchema, PatchSchema, email_address

Email = Annotated[str, AfterValidator(email_address)]


class UnitTypeOut(Schema):
    id: int
    code: str
    name: str


class UnitTypeCreateIn(InputSchema):
    code: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[-a-zA-Z0-9_]+$",
        description="Letters, digits, - and _ (e.g. `branch`).",
    )
    name: str = Field(min_length=1, max_length=100)


class UnitOut(Schema):
    id: int
    code: str
    name: str
    unit_type: UnitTypeOut
    parent_id: int | None
    depth: int = Field(description="0 for a root unit, 1 for its children, and so on.")
    manager_id: int | None = Field(
        description="The person who receives inner-loop cases when an employee has no supervisor."
    )


class UnitCreateIn(InputSchema):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    unit_type_id: int
    parent_id: int | None = Field(None, description="Leave out for a root unit.")


class UnitUpdateIn(PatchSchema):
    nullable: ClassVar[frozenset[str]] = frozenset({"parent_id"})

    code: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=200)
    unit_type_id: int | None = None
    parent_id: int | None = Field(
        None, description="Moves the unit, with its whole subtree, under this unit; null: a root."
    )
    manager_id: int | None = None


class UnitRef(Schema):
    id: int
    code: str
    name: str


class PersonOut(Schema):
    id: int
    employee_number: str
    full_name: str
    email: str
    job_title: str
    unit: UnitRef
    supervisor_id: int | None = Field(
        description="The direct supervisor: owns this person's cases."
    )
    user_id: int | None = Field(description="The user account of this person, if they sign in.")
    is_active: bool


class PersonCreateIn(InputSchema):
    employee_number: str = Field(min_length=1, max_length=64)
    full_name: str = Field(min_length=1, max_length=200)
    email: Email = Field("", max_length=254)
    job_title: str = Field("", max_length=200)
    unit_id: int
    supervisor_id: int | None = None


class PersonUpdateIn(PatchSchema):
    nullable: ClassVar[frozenset[str]] = frozenset({"supervisor_id"})

    full_name: str | None = Field(None, min_length=1, max_length=200)
    email: Email | None = Field(None, max_length=254)
    job_title: str | None = Field(None, max_length=200)
    unit_id: int | None = None
    supervisor_id: int | None = Field(None, description="null: the person has no supervisor.")
    is_active: bool | None = None
