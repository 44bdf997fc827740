"""Pages for the unit tree and the people who work in it."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import Conflict, ValidationFailed
from sonda.org.models import Person, Unit
from sonda.org.selectors import (
    person_get,
    person_list,
    unit_ancestors,
    unit_get,
    unit_list,
    unit_type_list,
)
from sonda.org.services import person_create, person_update, unit_create, unit_update
from sonda.web.navigation import BROWSE_STRUCTURE
from sonda.web.pages import add_service_error, paginate, scoped_page


def _require_browse(scope: Scope) -> None:
    scope.require(BROWSE_STRUCTURE, "browse units and people")


@dataclass
class TreeNode:
    unit: Unit
    children: list["TreeNode"] = field(default_factory=list)
    open: bool = False


def _tree(units: Iterable[Unit]) -> list[TreeNode]:
    """Units in path order, nested under their parents; units whose parent is unseen are roots."""
    nodes: dict[int, TreeNode] = {}
    roots: list[TreeNode] = []
    for unit in units:
        node = TreeNode(unit=unit)
        nodes[unit.pk] = node
        parent = nodes.get(unit.parent_id) if unit.parent_id is not None else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    # The tops of the tree start open so that their children show without a click.
    for root in roots:
        root.open = True
    return roots


def _unit_choices(units: Iterable[Unit], *, blank: str | None) -> list[tuple[str, str]]:
    choices = [("", blank)] if blank is not None else []
    return choices + [(str(u.pk), f"{'— ' * u.depth}{u.name} ({u.code})") for u in units]


# Units ----------------------------------------------------------------------------------------


@scoped_page
def unit_tree(request: HttpRequest, scope: Scope) -> HttpResponse:
    _require_browse(scope)
    return render(request, "org/unit_tree.html", {"tree": _tree(unit_list(scope=scope))})


@scoped_page
def unit_detail(request: HttpRequest, scope: Scope, unit_id: int) -> HttpResponse:
    _require_browse(scope)
    unit = unit_get(scope=scope, unit_id=unit_id)
    # Breadcrumbs stop at the top of what the user may see.
    ancestors = [
        a
        for a in unit_ancestors(unit=unit)
        if scope.unit_path is None or a.path.startswith(scope.unit_path)
    ]
    people = person_list(scope=scope).filter(unit=unit)
    return render(
        request,
        "org/unit_detail.html",
        {
            "unit": unit,
            "ancestors": ancestors,
            "children": unit_list(scope=scope).filter(parent=unit),
            "page_obj": paginate(request, people),
        },
    )


class UnitForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=64)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    unit_type = forms.TypedChoiceField(label=gettext_lazy("Level"), coerce=int)
    parent = forms.TypedChoiceField(
        label=gettext_lazy("Part of"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: Any, scope: Scope, unit: Unit | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("unit_type", [(str(t.pk), t.name) for t in unit_type_list(scope=scope)])
        parents = unit_list(scope=scope)
        if unit is not None:
            # A unit cannot move under itself or its own subtree.
            parents = parents.exclude(path__startswith=unit.path)
        self._set_choices("parent", _unit_choices(parents, blank=_("— top level —")))

    def _set_choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        choice_field = self.fields[name]
        assert isinstance(choice_field, forms.ChoiceField)
        choice_field.choices = choices


class UnitEditForm(UnitForm):
    manager = forms.TypedChoiceField(
        label=gettext_lazy("Manager"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy(
            "Receives the inner loop for employees who have no supervisor on record."
        ),
    )

    def __init__(self, *args: Any, scope: Scope, unit: Unit | None = None, **kwargs: Any) -> None:
        super().__init__(*args, scope=scope, unit=unit, **kwargs)
        people = person_list(scope=scope, unit_id=unit.pk) if unit is not None else []
        self._set_choices(
            "manager", [("", "—")] + [(str(p.pk), f"{p.full_name} ({p.unit.name})") for p in people]
        )


@scoped_page
def unit_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "create units")
    form = UnitForm(
        request.POST or None, scope=scope, initial={"parent": request.GET.get("parent")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            unit = unit_create(
                scope=scope,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                unit_type_id=form.cleaned_data["unit_type"],
                parent_id=form.cleaned_data["parent"],
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The unit “%(name)s” is created.") % {"name": unit.name})
            return redirect("org:unit_detail", unit_id=unit.pk)
    return render(request, "org/unit_form.html", {"form": form, "unit": None})


@scoped_page
def unit_edit(request: HttpRequest, scope: Scope, unit_id: int) -> HttpResponse:
    # Outside the user's subtree the unit is not found, whatever their role may do.
    _require_browse(scope)
    unit = unit_get(scope=scope, unit_id=unit_id)
    scope.require(CONFIGURE, "change units")
    form = UnitEditForm(
        request.POST or None,
        scope=scope,
        unit=unit,
        initial={
            "code": unit.code,
            "name": unit.name,
            "unit_type": unit.unit_type_id,
            "parent": unit.parent_id,
            "manager": unit.manager_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            unit_update(
                scope=scope,
                unit_id=unit.pk,
                code=data["code"],
                name=data["name"],
                unit_type_id=data["unit_type"],
                parent_id=data["parent"] if data["parent"] != unit.parent_id else None,
                move_to_root=data["parent"] is None and unit.parent_id is not None,
                manager_id=data["manager"],
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The unit is saved."))
            return redirect("org:unit_detail", unit_id=unit.pk)
    return render(request, "org/unit_form.html", {"form": form, "unit": unit})


# People ----------------------------------------------------------------------------------------


@scoped_page
def person_list_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    _require_browse(scope)
    search = request.GET.get("q", "").strip()
    try:
        unit_id: int | None = int(request.GET.get("unit", ""))
    except ValueError:
        unit_id = None
    people = person_list(scope=scope, search=search, unit_id=unit_id)
    return render(
        request,
        "org/person_list.html",
        {
            "page_obj": paginate(request, people),
            "search": search,
            "unit_value": str(unit_id or ""),
            "unit_options": _unit_choices(unit_list(scope=scope), blank=None),
        },
    )


@scoped_page
def person_detail(request: HttpRequest, scope: Scope, person_id: int) -> HttpResponse:
    _require_browse(scope)
    person = person_get(scope=scope, person_id=person_id)
    visible = person_list(scope=scope)
    supervisor_visible = (
        person.supervisor_id is not None and visible.filter(pk=person.supervisor_id).exists()
    )
    return render(
        request,
        "org/person_detail.html",
        {
            "person": person,
            "supervisor_visible": supervisor_visible,
            "reports": visible.filter(supervisor=person),
            "ancestors": [
                a
                for a in unit_ancestors(unit=person.unit)
                if scope.unit_path is None or a.path.startswith(scope.unit_path)
            ],
        },
    )


class PersonForm(forms.Form):
    employee_number = forms.CharField(label=gettext_lazy("Employee number"), max_length=64)
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200)
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254, required=False)
    job_title = forms.CharField(label=gettext_lazy("Job title"), max_length=200, required=False)
    unit = forms.TypedChoiceField(label=gettext_lazy("Unit"), coerce=int)
    supervisor = forms.CharField(
        label=gettext_lazy("Direct supervisor (employee number)"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("The supervisor receives the inner loop for this person's work."),
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        unit_field = self.fields["unit"]
        assert isinstance(unit_field, forms.ChoiceField)
        unit_field.choices = _unit_choices(unit_list(scope=scope), blank="—")

    def clean_supervisor(self) -> Person | None:
        number = self.cleaned_data["supervisor"].strip()
        if not number:
            return None
        supervisor = person_list(scope=self.scope).filter(employee_number=number).first()
        if supervisor is None:
            raise forms.ValidationError(_("No person has this employee number."))
        return supervisor


class PersonEditForm(PersonForm):
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False)

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, scope=scope, **kwargs)
        # The employee number identifies the person in imports: it is not edited here.
        self.fields["employee_number"].disabled = True


@scoped_page
def person_create_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "add people")
    form = PersonForm(request.POST or None, scope=scope, initial={"unit": request.GET.get("unit")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = person_create(
                scope=scope,
                employee_number=data["employee_number"],
                full_name=data["full_name"],
                email=data["email"],
                job_title=data["job_title"],
                unit_id=data["unit"],
                supervisor_id=data["supervisor"].pk if data["supervisor"] else None,
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("%(name)s is added.") % {"name": person.full_name})
            return redirect("org:person_detail", person_id=person.pk)
    return render(request, "org/person_form.html", {"form": form, "person": None})


@scoped_page
def person_edit(request: HttpRequest, scope: Scope, person_id: int) -> HttpResponse:
    _require_browse(scope)
    person = person_get(scope=scope, person_id=person_id)
    scope.require(CONFIGURE, "change people")
    form = PersonEditForm(
        request.POST or None,
        scope=scope,
        initial={
            "employee_number": person.employee_number,
            "full_name": person.full_name,
            "email": person.email,
            "job_title": person.job_title,
            "unit": person.unit_id,
            "supervisor": person.supervisor.employee_number if person.supervisor else "",
            "is_active": person.is_active,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person_update(
                scope=scope,
                person_id=person.pk,
                full_name=data["full_name"],
                email=data["email"],
                job_title=data["job_title"],
                unit_id=data["unit"],
                supervisor_id=data["supervisor"].pk if data["supervisor"] else None,
                clear_supervisor=data["supervisor"] is None,
                is_active=data["is_active"],
            )
        except (ValidationFailed, Conflict) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The person is saved."))
            return redirect("org:person_detail", person_id=person.pk)
    return render(request, "org/person_form.html", {"form": form, "person": person})
