"""Writes for imports: an uploaded file becomes a job for the worker."""

from typing import Any

from django.db import transaction

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import ValidationFailed
from sonda.imports.customers import phone_region
from sonda.imports.models import ImportJob, ImportKind
from sonda.imports.tasks import run_import
from sonda.surveys.imports import mapping_check

MAX_FILE_CHARACTERS = 20_000_000


def import_job_create(
    *,
    scope: Scope,
    kind: str,
    content: str,
    file_name: str = "",
    region: str = "",
    survey_id: int | None = None,
    mapping: Any = None,
    skip_invalid: bool = False,
) -> ImportJob:
    """Store the file as a pending job and have the worker import it once this commits.

    A response import's survey and mapping are checked now, so that a mistake in the mapping is
    reported on the upload rather than by the job.
    """
    scope.require(CONFIGURE, "import data")
    if kind not in ImportKind.values:
        raise ValidationFailed.on("kind", f"'{kind}' is not one of {', '.join(ImportKind.values)}")
    if not content.strip():
        raise ValidationFailed.on("file", "the file is empty")
    if len(content) > MAX_FILE_CHARACTERS:
        raise ValidationFailed.on("file", "the file is too large (at most 20 MB)")
    if kind == ImportKind.CUSTOMERS:
        region = phone_region(region or None)
    elif region:
        raise ValidationFailed.on("region", "only customer imports read phone numbers")
    if kind == ImportKind.RESPONSES:
        if survey_id is None:
            raise ValidationFailed.on("survey", "choose the survey the responses answer")
        mapping_check(scope=scope, survey_id=survey_id, mapping=mapping)
    elif survey_id is not None or mapping or skip_invalid:
        raise ValidationFailed.on("survey", "only response imports answer a survey")
    with transaction.atomic():
        job = ImportJob.objects.create(
            organisation=scope.organisation,
            kind=kind,
            file_name=file_name[:255],
            content=content,
            region=region,
            survey_id=survey_id,
            mapping=mapping if kind == ImportKind.RESPONSES else {},
            skip_invalid=skip_invalid,
            created_by=scope.user,
        )
        transaction.on_commit(lambda: run_import.enqueue(job.pk))
    return job
