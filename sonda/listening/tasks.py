"""Background jobs of listening. Thin: each calls a service. The clock enqueues them every minute
(`manage.py listening_clock`); decisions also wake delivery at once."""

from django_tasks import task


@task()
def deliver_due_messages() -> int:
    from sonda.listening.delivery import messages_deliver_due

    return messages_deliver_due()


@task()
def queue_reminders() -> int:
    from sonda.listening.delivery import reminders_queue

    return reminders_queue()


@task()
def expire_invitations() -> int:
    from sonda.listening.delivery import invitations_expire

    return invitations_expire()


PERIODIC = (deliver_due_messages, queue_reminders, expire_invitations)


def wake_delivery() -> None:
    """Ask the worker to send what is due now (the clock also sweeps every minute)."""
    deliver_due_messages.enqueue()
