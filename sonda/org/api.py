"""Unit types, units and people over the API. Handlers parse, call a service or selector, answer."""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.params.functions import Query
from ninja.responses import Status

from sonda.api.auth import scope_of
from sonda.api.pagination import Page
from sonda.org import selectors, services
from sonda.org.models import Person, Unit, UnitType
from sonda.org.schemas import (
    PersonCreateIn,
    PersonOut,
    PersonUpdateIn,
    UnitCreateIn,
    UnitOut,
    UnitTypeCreateIn,
    UnitTypeOut,
    UnitUpdateIn,
)

unit_types_router = Router(tags=["units"])
units_router = Router(tags=["units"])
people_router = Router(tags=["people"])


@unit_types_router.get("", response=list[UnitTypeOut], summary="List unit types")
@paginate(Page)
def unit_type_list(request: HttpRequest) -> QuerySet[UnitType]:
    return selectors.unit_type_list(scope=scope_of(request))


@unit_types_router.post("", response={201: UnitTypeOut}, summary="Create a unit type")
def unit_type_create(request: HttpRequest, payload: UnitTypeCreateIn) -> Status[UnitType]:
    unit_type = services.unit_type_create(
        scope=scope_of(request), code=payload.code, name=payload.name
    )
    return Status(201, unit_type)


@units_router.get("", response=list[UnitOut], summary="List units in tree order")
@paginate(Page)
def unit_list(
    request: HttpRequest,
    parent_id: int | None = Query(None, description="Only the direct children of this unit."),
) -> QuerySet[Unit]:
    return selectors.unit_list(scope=scope_of(request), parent_id=parent_id)


@units_router.get("/{unit_id}", response=UnitOut, summary="Get a unit")
def unit_get(request: HttpRequest, unit_id: int) -> Unit:
    return selectors.unit_get(scope=scope_of(request), unit_id=unit_id)


@units_router.post("", response={201: UnitOut}, summary="Create a unit")
def unit_create(request: HttpRequest, payload: UnitCreateIn) -> Status[Unit]:
    unit = services.unit_create(
        scope=scope_of(request),
        code=payload.code,
        name=payload.name,
        unit_type_id=payload.unit_type_id,
        parent_id=payload.parent_id,
    )
    return Status(201, unit)


@units_router.patch("/{unit_id}", response=UnitOut, summary="Change or move a unit")
def unit_update(request: HttpRequest, unit_id: int, payload: UnitUpdateIn) -> Unit:
    return services.unit_update(
        scope=scope_of(request),
        unit_id=unit_id,
        name=payload.name,
        code=payload.code,
        unit_type_id=payload.unit_type_id,
        parent_id=payload.parent_id,
        move_to_root=payload.given("parent_id") and payload.parent_id is None,
        manager_id=payload.manager_id,
    )


@units_router.delete("/{unit_id}", response={204: None}, summary="Delete an empty unit")
def unit_delete(request: HttpRequest, unit_id: int) -> Status[None]:
    services.unit_delete(scope=scope_of(request), unit_id=unit_id)
    return Status(204, None)


@people_router.get("", response=list[PersonOut], summary="List people")
@paginate(Page)
def person_list(
    request: HttpRequest,
    search: str = Query(
        "", max_length=200, description="Part of the name or email, or the employee number."
    ),
    unit_id: int | None = Query(None, description="Only people in this unit and below it."),
) -> QuerySet[Person]:
    return selectors.person_list(scope=scope_of(request), search=search.strip(), unit_id=unit_id)


@people_router.get("/{person_id}", response=PersonOut, summary="Get a person")
def person_get(request: HttpRequest, person_id: int) -> Person:
    return selectors.person_get(scope=scope_of(request), person_id=person_id)


@people_router.post("", response={201: PersonOut}, summary="Add a person")
def person_create(request: HttpRequest, payload: PersonCreateIn) -> Status[Person]:
    person = services.person_create(
        scope=scope_of(request),
        employee_number=payload.employee_number,
        full_name=payload.full_name,
        unit_id=payload.unit_id,
        email=payload.email,
        job_title=payload.job_title,
        supervisor_id=payload.supervisor_id,
    )
    return Status(201, person)


@people_router.patch("/{person_id}", response=PersonOut, summary="Change a person")
def person_update(request: HttpRequest, person_id: int, payload: PersonUpdateIn) -> Person:
    return services.person_update(
        scope=scope_of(request),
        person_id=person_id,
        full_name=payload.full_name,
        email=payload.email,
        job_title=payload.job_title,
        unit_id=payload.unit_id,
        supervisor_id=payload.supervisor_id,
        clear_supervisor=payload.given("supervisor_id") and payload.supervisor_id is None,
        is_active=payload.is_active,
    )


@people_router.delete("/{person_id}", response={204: None}, summary="Remove a person")
def person_delete(request: HttpRequest, person_id: int) -> Status[None]:
    services.person_delete(scope=scope_of(request), person_id=person_id)
    return Status(204, None)
