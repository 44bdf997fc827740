"""A customer's scored answer in words ("8 (NPS)", "yes"), as the case timeline and the
notifications quote it. A leaf module: the follow-up code and the notification emails both read
it, and the emails may not import the follow-up code (it records timeline entries, which notify)."""

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sonda.surveys.models import QuestionKind

MEASURE_WORDS = {
    "nps": gettext_lazy("NPS"),
    "csat": gettext_lazy("CSAT"),
    "ces": gettext_lazy("CES"),
    "rating": gettext_lazy("rating"),
}


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def answer_words(data: Mapping[str, Any]) -> str:
    """The answer `{"measure": kind, "value": number}` in words: "8 (NPS)", "yes"; "" when
    there is none."""
    measure, value = data.get("measure"), data.get("value")
    if value is None:
        return ""
    if measure == QuestionKind.YES_NO:
        return _("yes") if value == 1 else _("no")
    return _("%(value)s (%(measure)s)") % {
        "value": _number(value),
        "measure": MEASURE_WORDS.get(str(measure), str(measure)),
    }
