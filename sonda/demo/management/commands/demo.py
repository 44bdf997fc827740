"""`manage.py demo`: create the demo organisations unless they exist, and print the demo logins."""

import os
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sonda.core.errors import SondaError
from sonda.demo.generator import (
    DEFAULT_SEED,
    DEMO_LOGINS,
    DEMO_ORGANISATION_SLUG,
    SCALES,
    demo_generate,
)


class Command(BaseCommand):
    help = (
        "Create the demo organisations (a retail bank in Romania and Poland, a Polish insurer) "
        "unless they exist, then print the demo logins."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same data"
        )
        parser.add_argument(
            "--scale",
            choices=sorted(SCALES),
            default=None,
            help="full (~20,000 customers, the default), small, or tiny (for tests); "
            "SONDA_DEMO_SCALE sets it too",
        )

    def handle(self, *args: Any, seed: int, scale: str | None, **options: Any) -> None:
        scale_name = scale or os.environ.get("SONDA_DEMO_SCALE", "").strip() or "full"
        if scale_name not in SCALES:
            raise CommandError(
                f"SONDA_DEMO_SCALE: unknown scale '{scale_name}' (one of {', '.join(SCALES)})"
            )
        started = time.monotonic()
        try:
            result = demo_generate(seed=seed, scale=SCALES[scale_name])
        except SondaError as exc:
            raise CommandError(exc.detail) from exc
        if result.created:
            for slug, counts in result.organisations.items():
                summary = ", ".join(f"{what} {n:,}" for what, n in counts.items())
                self.stdout.write(f"Created {slug}: {summary}.")
            feedback = result.feedback
            if feedback is not None:
                self.stdout.write(
                    f"Feedback of {DEMO_ORGANISATION_SLUG}: {feedback.responses:,} responses "
                    f"({feedback.complete:,} complete), {feedback.answers:,} answers over "
                    f"{feedback.months} months; {feedback.surveys} surveys in "
                    f"{feedback.programs} programs, {feedback.open_links} QR-code links, "
                    f"{feedback.invitations} live invitations."
                )
                site = settings.SONDA_PUBLIC_URL
                self.stdout.write(f"Try a survey: {site}/s/{feedback.try_token}/")
            listening = result.listening
            if listening is not None:
                skipped = sum(listening.skipped.values())
                self.stdout.write(
                    f"Listening of {DEMO_ORGANISATION_SLUG}: {listening.events:,} events, "
                    f"{listening.trigger_rules} trigger rules, {listening.contact_rules} contact "
                    f"rules, {listening.invitations:,} invitations ({listening.answered:,} "
                    f"answered, {skipped:,} skipped), {listening.messages:,} messages."
                )
            self.stdout.write(
                f"Demo data ({scale_name} scale, seed {seed}) took "
                f"{time.monotonic() - started:.1f} s."
            )
        else:
            self.stdout.write(
                f"The demo organisation '{DEMO_ORGANISATION_SLUG}' exists already; nothing changed."
            )
        self.stdout.write("Demo logins:")
        width = max(len(email) for email, _, _ in DEMO_LOGINS)
        for email, password, role in DEMO_LOGINS:
            self.stdout.write(f"  {email:<{width}}  {password}  {role}")
