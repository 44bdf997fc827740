"""Background job of webhooks: send the deliveries that are due. Thin: it calls the service.

An emitted event wakes it once its transaction commits; retries wait for their time, so a clock
must also enqueue it every minute (`PERIODIC`, as listening's clock does for its jobs).
"""

from django_tasks import task

from sonda.webhooks.delivery import webhooks_deliver_due


@task()
def deliver_due_webhooks() -> int:
    return webhooks_deliver_due()


PERIODIC = (deliver_due_webhooks,)


def wake_webhook_delivery() -> None:
    """Ask the worker to send what is due now."""
    deliver_due_webhooks.enqueue()
