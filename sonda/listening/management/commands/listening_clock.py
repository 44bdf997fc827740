"""`manage.py listening_clock [--once] [--interval 60]`: the listening clock.

Every interval it enqueues the periodic jobs (send what is due, queue reminders, expire links,
retry webhook deliveries; for the loop: evaluate completed responses, its daily jobs, its
notification emails, SLA warnings and escalations); the job worker runs them. A job still
waiting from the last tick is not enqueued again, so a stopped worker does not come back to a
pile of identical jobs. SIGINT or SIGTERM stops it between ticks.
"""

import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sonda.core.jobs import enqueue_unless_waiting
from sonda.listening.tasks import PERIODIC as LISTENING
from sonda.loop.sla_tasks import SLA_PERIODIC
from sonda.loop.tasks import LOOP_PERIODIC
from sonda.webhooks.tasks import PERIODIC as WEBHOOKS

# Every app's periodic jobs, named here (no registry to fill by import side effects).
PERIODIC = (*LISTENING, *WEBHOOKS, *LOOP_PERIODIC, *SLA_PERIODIC)


def tick() -> list[str]:
    """Enqueue each periodic job unless it is already waiting; answers the ones enqueued."""
    enqueued = []
    for job in PERIODIC:
        if enqueue_unless_waiting(job):
            enqueued.append(job.name)
    return enqueued


class Command(BaseCommand):
    help = "Enqueue the periodic jobs (delivery, reminders, expiry, webhooks, loop) every interval."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="one tick, then exit")
        parser.add_argument(
            "--interval", type=float, default=60.0, help="seconds between ticks (60)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"]
        self.verbosity = int(options["verbosity"])
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds")
        if options["once"]:
            self._report(tick())
            return
        stop = threading.Event()

        def on_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {
            signum: signal.signal(signum, on_stop) for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop.is_set():
                self._report(tick())
                stop.wait(interval)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _report(self, enqueued: list[str]) -> None:
        if self.verbosity >= 2:
            self.stdout.write(f"Enqueued: {', '.join(enqueued) or 'nothing'}")
