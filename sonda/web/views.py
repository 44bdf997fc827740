"""The home page: what each role sees first."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope
from sonda.accounts.models import Role
from sonda.web.overview import organisation_overview, own_record
from sonda.web.pages import scoped_page


@scoped_page
def home(request: HttpRequest, scope: Scope) -> HttpResponse:
    if scope.role == Role.FRONTLINE:
        return render(request, "web/home_frontline.html", {"person": own_record(scope=scope)})
    overview = organisation_overview(scope=scope)
    return render(
        request,
        "web/home.html",
        {
            "overview": overview,
            "people_chart": overview.people_by_unit.as_chart(series=_("People")),
            "levels_chart": overview.units_by_level.as_chart(series=_("Units")),
        },
    )
