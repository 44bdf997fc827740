"""Enqueueing a sweep job only when none is already waiting to run.

A sweep ("send what is due now") does the same work however many times it is queued: waking it
once per write would fill the queue with identical jobs when thousands of rows are written at
once (a bulk import, the demo). A job queued but not yet started will see every row committed
before it starts, so another is not needed.
"""

from typing import Any

from django.conf import settings
from django_tasks.base import TaskResultStatus


def job_waiting(task_path: str) -> bool:
    """Whether the database job queue already holds this job, not yet started."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return False
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=task_path, status=TaskResultStatus.READY).exists()


def enqueue_unless_waiting(job: Any) -> bool:
    """Enqueue the sweep `job` (a django-tasks Task without arguments) unless one is waiting;
    whether it was enqueued."""
    if job_waiting(job.module_path):
        return False
    job.enqueue()
    return True
