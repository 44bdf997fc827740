"""Background work of imports. Thin: load by id, call the job runner."""

from django_tasks import task

from sonda.imports.jobs import import_job_run


@task()
def run_import(job_id: int) -> str:
    """Import an uploaded file; a job that is no longer pending is left as it is."""
    return import_job_run(job_id=job_id)
