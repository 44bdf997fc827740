"""The imports page (upload a CSV file, see recent jobs) and the page of one job."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sonda.accounts.access import Scope
from sonda.core.errors import SondaError
from sonda.imports.forms import ImportUploadForm
from sonda.imports.selectors import import_job_get, import_job_list
from sonda.imports.services import import_job_create
from sonda.web.pages import add_service_error, paginate, scoped_page


def _show_error(form: ImportUploadForm, exc: SondaError) -> None:
    """The service's error by its field; the mapping's mistakes by the mapping, with their place."""
    in_mapping = [e for e in exc.errors if e.field.startswith("mapping.")]
    for error in in_mapping:
        form.add_error("mapping", f"{error.field.removeprefix('mapping.')}: {error.message}")
    if not in_mapping:
        add_service_error(form, exc)


@require_http_methods(["GET", "POST"])
@scoped_page
def import_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    jobs = import_job_list(scope=scope)
    form = ImportUploadForm(scope=scope)
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES, scope=scope)
    if form.is_bound and form.is_valid():
        try:
            job = import_job_create(
                scope=scope,
                kind=form.cleaned_data["kind"],
                content=form.cleaned_data["file"],
                file_name=form.file_name,
                region=form.cleaned_data["region"],
                survey_id=form.cleaned_data["survey"],
                mapping=form.cleaned_data.get("mapping_json"),
                skip_invalid=form.cleaned_data["skip_invalid"],
            )
        except SondaError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The file is uploaded; the import runs in the background."))
            return redirect("imports:detail", job_id=job.pk)
    return render(
        request, "imports/import_list.html", {"form": form, "page_obj": paginate(request, jobs)}
    )


@require_http_methods(["GET"])
@scoped_page
def import_detail(request: HttpRequest, scope: Scope, job_id: int) -> HttpResponse:
    job = import_job_get(scope=scope, job_id=job_id)
    return render(request, "imports/import_detail.html", {"job": job})
