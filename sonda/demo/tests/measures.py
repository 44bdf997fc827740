"""Small measures the demo's tests read the generated answers with."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sonda.surveys.models import Response

ZONES = {"RO": ZoneInfo("Europe/Bucharest"), "PL": ZoneInfo("Europe/Warsaw")}


def nps(scores: list[float]) -> float:
    """Net Promoter Score of 0–10 answers: % promoters (9–10) minus % detractors (0–6)."""
    promoters = sum(score >= 9 for score in scores)
    detractors = sum(score <= 6 for score in scores)
    return 100 * (promoters - detractors) / len(scores)


def local(response: Response) -> datetime:
    """When the response started, in the time zone of its unit's country."""
    assert response.unit is not None
    return response.started_at.astimezone(ZONES[response.unit.code[:2]])
