"""The demo organisations: a retail bank in Romania and Poland with an English-speaking HQ, and a
small Polish insurer, generated deterministically from a seed.

Everything is drawn from one `random.Random(seed)` passed from part to part, and every timestamp is
fixed (the REFERENCE_DATE, or a moment of the 18 months before it), so the same seed gives the same
data on any machine and any day. The organisations' parts first build plain specs in Python
(sonda.demo.bank, sonda.demo.insurer: where all their randomness is spent), then
sonda.demo.writing writes them with bulk inserts: the full bank (about 20,000 customers) takes
seconds. Later parts build on the written bank, drawing from the same generator:
sonda.demo.feedback adds the programs, surveys and 18 months of responses; only its few live
invitations follow the wall clock.
"""

import random
from dataclasses import dataclass

from django.db import transaction

from sonda.accounts.models import Organisation
from sonda.core.errors import Conflict
from sonda.demo.bank import (
    ADMIN_LOGIN,
    ANALYST_LOGIN,
    BRANCH_MANAGER_LOGIN,
    DEMO_ORGANISATION_NAME,
    DEMO_ORGANISATION_SLUG,
    EXECUTIVE_LOGIN,
    FRONTLINE_LOGIN,
    REGION_MANAGER_LOGIN,
    TEAM_LEADER_LOGIN,
    bank_spec,
)
from sonda.demo.feedback import FeedbackSummary, feedback_generate
from sonda.demo.insurer import DEMO_INSURER_NAME, DEMO_INSURER_SLUG, insurer_spec
from sonda.demo.listening import (
    ListeningSummary,
    insurer_listening_create,
    listening_generate,
)
from sonda.demo.loop import loop_generate
from sonda.demo.specs import DEMO_PASSWORD, REFERENCE_DATE, SCALES, OrganisationSpec, Scale
from sonda.demo.writing import organisation_write

__all__ = [
    "DEFAULT_SEED",
    "DEMO_INSURER_SLUG",
    "DEMO_LOGINS",
    "DEMO_ORGANISATION_SLUG",
    "DEMO_PASSWORD",
    "REFERENCE_DATE",
    "SCALES",
    "DemoResult",
    "Scale",
    "demo_generate",
]

DEFAULT_SEED = 2026

DEMO_LOGINS: list[tuple[str, str, str]] = [
    (
        ADMIN_LOGIN,
        DEMO_PASSWORD,
        f"administrator of {DEMO_ORGANISATION_NAME} and {DEMO_INSURER_NAME}",
    ),
    (ANALYST_LOGIN, DEMO_PASSWORD, "CX analyst at HQ (whole bank)"),
    (EXECUTIVE_LOGIN, DEMO_PASSWORD, "executive: the chief executive officer"),
    (
        REGION_MANAGER_LOGIN,
        DEMO_PASSWORD,
        "manager of the București-Ilfov region (its branches)",
    ),
    (BRANCH_MANAGER_LOGIN, DEMO_PASSWORD, "manager of the București Victoriei branch"),
    (
        TEAM_LEADER_LOGIN,
        DEMO_PASSWORD,
        "team leader in the Romanian call centre (Everyday Banking)",
    ),
    (
        FRONTLINE_LOGIN,
        DEMO_PASSWORD,
        "frontline: personal banker at the București Victoriei branch",
    ),
]


@dataclass(frozen=True)
class DemoResult:
    created: bool
    organisations: dict[str, dict[str, int]]  # slug → counts of what was created
    feedback: FeedbackSummary | None = None  # the bank's surveys and responses
    listening: ListeningSummary | None = None  # the bank's events, invitations and decisions


def _counts(spec: OrganisationSpec) -> dict[str, int]:
    return {
        "units": len(spec.units),
        "people": len(spec.people),
        "customers": len(spec.customers),
        "identities": sum(len(c.identities) for c in spec.customers),
        "demo logins": len(spec.memberships),
    }


def demo_generate(*, seed: int = DEFAULT_SEED, scale: Scale = SCALES["full"]) -> DemoResult:
    """Create the demo organisations unless the bank exists: DemoResult(created=False) then.

    One transaction: an interrupted run leaves nothing behind, and the next run starts afresh.
    """
    slugs = (DEMO_ORGANISATION_SLUG, DEMO_INSURER_SLUG)
    with transaction.atomic():
        existing = set(Organisation.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        if DEMO_ORGANISATION_SLUG in existing:
            return DemoResult(created=False, organisations={})
        if existing:
            raise Conflict.on(
                "slug", f"an organisation '{DEMO_INSURER_SLUG}' exists but is not the demo's"
            )
        rng = random.Random(seed)
        bank = bank_spec(rng=rng, scale=scale)
        insurer = insurer_spec(rng=rng, scale=scale)
        written = organisation_write(spec=bank)
        written_insurer = organisation_write(spec=insurer)
        feedback = feedback_generate(rng=rng, bank=written, spec=bank, scale=scale)
        listening = listening_generate(rng=rng, bank=written, spec=bank)
        loop_generate(rng=rng, bank=written, spec=bank)
        insurer_listening_create(written_insurer)
    return DemoResult(
        created=True,
        organisations={bank.slug: _counts(bank), insurer.slug: _counts(insurer)},
        feedback=feedback,
        listening=listening,
    )
