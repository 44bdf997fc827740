"""The loop's entry in the personal-data registry: a customer's cases and what was said in them.

Export lists the customer's cases with their timeline's notes and root causes. Erasure keeps the
cases, so that root-cause counts, SLA attainment and recovery outcomes do not change, and removes
the free text a callback may have written down about the person: the timeline's texts (notes,
reasons) and the root causes' notes. (Praise quotes nothing: it reads the response's answers,
which the surveys source redacts.) A merge moves the merged profile's cases to the surviving one.
"""

from typing import Any

from django.db.models import Q

from sonda.customers.models import Customer
from sonda.loop.models import Case, CaseEvent, CaseProblem
from sonda.privacy.registry import PersonalDataSource, register


def _profiles(customer: Customer) -> Q:
    # Profiles merged into this one are the same person; their cases count as theirs.
    return Q(customer=customer) | Q(customer__merged_into=customer)


def _cases(customer: Customer) -> Any:
    return Case.objects.filter(_profiles(customer), organisation_id=customer.organisation_id)


def export(customer: Customer) -> list[dict[str, Any]]:
    cases = _cases(customer).select_related("survey").order_by("opened_at", "pk")
    out: list[dict[str, Any]] = []
    for case in cases:
        notes = CaseEvent.objects.filter(case=case).exclude(text="").order_by("at", "pk")
        causes = CaseProblem.objects.filter(case=case).select_related("problem").order_by("pk")
        out.append(
            {
                "case": case.pk,
                "survey": case.survey.name if case.survey else None,
                "opened_at": case.opened_at.isoformat(),
                "state": case.state,
                "recovery_outcome": case.recovery_outcome,
                "closed_at": case.closed_at.isoformat() if case.closed_at else None,
                "timeline": [
                    {"at": event.at.isoformat(), "kind": event.kind, "text": event.text}
                    for event in notes
                ],
                "root_causes": [
                    {"problem": cause.problem.code, "note": cause.note} for cause in causes
                ],
            }
        )
    return out


def erase(customer: Customer) -> int:
    cases = _cases(customer).values("pk")
    rows = CaseEvent.objects.filter(case__in=cases).exclude(text="").update(text="")
    rows += CaseProblem.objects.filter(case__in=cases).exclude(note="").update(note="")
    return rows


def merge(surviving: Customer, merged: Customer) -> int:
    return Case.objects.filter(organisation_id=merged.organisation_id, customer=merged).update(
        customer=surviving
    )


def register_source() -> None:
    register(PersonalDataSource(name="loop", export=export, erase=erase, merge=merge))
