"""Background jobs of the loop. Thin: each calls a service that is safe to run twice."""

from django_tasks import task

from sonda.loop.opening import cases_open_for_silence, loop_evaluate_response


@task()
def evaluate_response(response_id: int) -> int | None:
    """Open the case (and record the praise) of a completed response; the case's id or None."""
    case = loop_evaluate_response(response_id=response_id)
    return case.pk if case is not None else None


@task()
def open_silence_cases(organisation_id: int) -> int:
    """Open cases for the organisation's accounts that stopped answering; how many opened."""
    return len(cases_open_for_silence(organisation_id=organisation_id))
