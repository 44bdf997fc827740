"""Background job of the SLAs: warn and escalate. Thin: it calls `sla_sweep`, safe to run twice.

A clock must enqueue it every minute (`SLA_PERIODIC`, as the listening clock does for its jobs);
a warning or an escalation is then at most a minute late.
"""

from django.utils import timezone
from django_tasks import task

from sonda.loop.sla import sla_sweep


@task()
def sweep_sla_deadlines() -> dict[str, int]:
    """Warn owners of deadlines close at hand, escalate missed ones; how many of each."""
    result = sla_sweep(now=timezone.now())
    return {
        "cases": result.cases,
        "warned": result.warned,
        "escalated": result.escalated,
        "failed": len(result.failed),
    }


SLA_PERIODIC = (sweep_sla_deadlines,)
