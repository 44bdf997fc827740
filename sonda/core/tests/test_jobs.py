"""A sweep job is queued once however many writes wake it before it starts."""

import pytest
from django_tasks_db.models import DBTaskResult

from sonda.core.jobs import enqueue_unless_waiting
from sonda.loop.emails import send_notification_emails, wake_notification_emails


@pytest.mark.django_db
def test_a_waiting_sweep_is_not_queued_again_until_it_has_run():
    assert enqueue_unless_waiting(send_notification_emails) is True
    for _ in range(50):
        wake_notification_emails()
    assert DBTaskResult.objects.count() == 1

    DBTaskResult.objects.update(status="SUCCESSFUL")
    wake_notification_emails()
    assert DBTaskResult.objects.filter(status="READY").count() == 1
