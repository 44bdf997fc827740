"""What every page view shares: the signed-in scope, domain errors as HTTP answers, pagination."""

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core import exceptions as django_exceptions
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.core.errors import NotFound, PermissionDenied, SondaError

P = ParamSpec("P")
M = TypeVar("M", bound=Model)

ScopedView = Callable[Concatenate[HttpRequest, Scope, P], HttpResponse]


def scope_of(request: HttpRequest) -> Scope | None:
    scope: Scope | None = getattr(request, "scope", None)
    return scope


def scoped_page(view: ScopedView[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Run `view(request, scope, ...)` for a signed-in member; domain errors become 404 / 403.

    Anonymous visitors go to the sign-in page. A user without any membership has no scope and
    gets 403: there is nothing of any organisation they may see.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        scope = scope_of(request)
        if scope is None:
            raise django_exceptions.PermissionDenied(_("You are not a member of any organisation."))
        try:
            return view(request, scope, *args, **kwargs)
        except NotFound as exc:
            # Outside the scope is "not found": the page must not disclose that it exists.
            raise Http404(exc.detail) from exc
        except PermissionDenied as exc:
            raise django_exceptions.PermissionDenied(exc.detail) from exc

    return wrapper


def paginate(request: HttpRequest, items: QuerySet[M], per_page: int | None = None) -> Page[M]:
    """The requested page of `items`; a page number out of range gives the nearest page."""
    paginator = Paginator(items, per_page or settings.SONDA_PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def add_service_error(
    form: forms.BaseForm, error: SondaError, fields: Mapping[str, str] | None = None
) -> None:
    """Show a service's error next to the field it names (`unit_id` → the form's `unit`).

    `fields` maps the service's field names to the form's where the plain rule does not fit.
    An error naming no field of the form is shown above the form.
    """
    mapping = dict(fields or {})
    if not error.errors:
        form.add_error(None, error.detail)
        return
    for failure in error.errors:
        name = mapping.get(failure.field, failure.field)
        if name not in form.fields and name.endswith("_id"):
            name = name.removesuffix("_id")
        form.add_error(name if name in form.fields else None, failure.message)
