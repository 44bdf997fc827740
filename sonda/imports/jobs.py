"""Running imports: one entry point for every kind, and the job the worker runs.

The command line, the imports page and the job worker all import through `import_file`.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sonda.accounts.access import Scope, scope_for
from sonda.core.errors import FieldError, RowErrors, SondaError, ValidationFailed
from sonda.imports.csvfile import ImportResult
from sonda.imports.customers import customers_import
from sonda.imports.models import ImportJob, ImportKind, ImportStatus
from sonda.imports.people import people_import
from sonda.imports.units import units_import
from sonda.surveys.imports import responses_import

# A file full of mistakes would otherwise store a megabyte of errors; the count says how many.
MAX_STORED_ERRORS = 1000


def import_file(
    *,
    scope: Scope,
    kind: str,
    text: str,
    region: str | None = None,
    dry_run: bool = False,
    survey_id: int | None = None,
    mapping: Any = None,
    skip_invalid: bool = False,
) -> ImportResult:
    """Import `text` as a CSV file of `kind`; RowErrors (nothing written) when any row is wrong.

    Responses need the survey and the mapping of the file's columns; with `skip_invalid` their
    valid rows are written and the invalid ones listed in the result's `skipped`.
    """
    if kind == ImportKind.RESPONSES:
        if survey_id is None:
            raise ValidationFailed.on("survey", "name the survey the responses answer")
        return responses_import(
            scope=scope,
            survey_id=survey_id,
            mapping=mapping,
            text=text,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
        )
    if kind == ImportKind.UNITS:
        return units_import(scope=scope, text=text, dry_run=dry_run)
    if kind == ImportKind.PEOPLE:
        return people_import(scope=scope, text=text, dry_run=dry_run)
    if kind == ImportKind.CUSTOMERS:
        return customers_import(scope=scope, text=text, region=region, dry_run=dry_run)
    raise ValidationFailed.on("kind", f"'{kind}' is not one of {', '.join(ImportKind.values)}")


def import_job_run(*, job_id: int) -> str:
    """Import a pending job's file and record the outcome; the job's status afterwards.

    Only a pending job is imported: the job row is locked and moved to running first, so a retried
    or duplicated task finds it running or done and leaves it alone.
    """
    job = _job_start(job_id)
    if job is None:
        return ImportJob.objects.filter(pk=job_id).values_list("status", flat=True).first() or ""
    scope = scope_for(job.created_by, job.organisation) if job.created_by is not None else None
    if scope is None:
        return _job_finish(
            job, failure=_("The person who uploaded the file is no longer a member.")
        )
    try:
        with transaction.atomic():
            result = import_file(
                scope=scope,
                kind=job.kind,
                text=job.content,
                region=job.region or None,
                survey_id=job.survey_id,
                mapping=job.mapping,
                skip_invalid=job.skip_invalid,
            )
            return _job_finish(job, result=result)
    except RowErrors as exc:
        return _job_finish(job, errors=exc.errors)
    except SondaError as exc:
        return _job_finish(job, failure=exc.detail, errors=exc.errors)
    except Exception:
        _job_finish(job, failure=_("The import stopped on an unexpected error."))
        raise


def _job_start(job_id: int) -> ImportJob | None:
    """pending → running, under the job's row lock; None when the job is not pending."""
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update(of=("self",))
            .select_related("organisation", "created_by")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.status != ImportStatus.PENDING:
            return None
        job.status = ImportStatus.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at", "updated_at"])
    return job


def _job_finish(
    job: ImportJob,
    *,
    result: ImportResult | None = None,
    errors: list[FieldError] | None = None,
    failure: str = "",
) -> str:
    """running → succeeded (with the counts) or failed (with the row errors or the failure)."""
    status = ImportStatus.SUCCEEDED if result is not None else ImportStatus.FAILED
    # A response import told to skip invalid rows succeeds and still reports them.
    errors = errors or (list(result.skipped) if result is not None else [])
    ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
        status=status,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
        rows=result.rows if result else 0,
        created_count=result.created if result else 0,
        updated_count=result.updated if result else 0,
        unchanged_count=result.unchanged if result else 0,
        error_count=len(errors),
        row_errors=[e.as_dict() for e in errors[:MAX_STORED_ERRORS]],
        failure=failure,
        content="",
    )
    return str(status)
