"""A realistic published survey for tests: NPS, reasons for low scores, a comment, a rating."""

from typing import Any

from sonda.accounts.access import Scope
from sonda.surveys import services
from sonda.surveys.models import Program, Survey
from sonda.surveys.specs import spec_from_json

LANGUAGES = ["en", "ro", "pl"]

QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "ltr",
        "kind": "nps",
        "required": True,
        "page": 1,
        "text": {
            "en": "How likely are you to recommend us to a friend?",
            "ro": "Cât de probabil este să ne recomandați unui prieten?",
            "pl": "Jak bardzo prawdopodobne jest, że polecisz nas znajomemu?",
        },
    },
    {
        "key": "reasons",
        "kind": "multi_choice",
        "page": 1,
        "condition": {"question": "ltr", "op": "lte", "value": 6},
        "text": {
            "en": "What went wrong?",
            "ro": "Ce nu a mers bine?",
            "pl": "Co poszło nie tak?",
        },
        "options": [
            {
                "code": "waiting",
                "labels": {
                    "en": "Waiting time",
                    "ro": "Timpul de așteptare",
                    "pl": "Czas oczekiwania",
                },
            },
            {
                "code": "staff",
                "labels": {
                    "en": "Staff attitude",
                    "ro": "Atitudinea personalului",
                    "pl": "Postawa personelu",
                },
            },
            {"code": "fees", "labels": {"en": "Fees", "ro": "Comisioane", "pl": "Opłaty"}},
        ],
    },
    {
        "key": "speed",
        "kind": "rating",
        "page": 2,
        "scale_max": 5,
        "text": {
            "en": "How fast were you served?",
            "ro": "Cât de repede ați fost servit?",
            "pl": "Jak szybko zostałeś obsłużony?",
        },
    },
    {
        "key": "comment",
        "kind": "text",
        "page": 2,
        "max_length": 2000,
        "text": {
            "en": "Anything else you would like to tell us?",
            "ro": "Mai doriți să ne spuneți ceva?",
            "pl": "Czy chcesz nam powiedzieć coś jeszcze?",
        },
    },
]


def make_program(scope: Scope, *, name: str = "Branch experience", kind: str = "transactional"):
    return services.program_create(scope=scope, name=name, kind=kind)


def make_published_survey(
    scope: Scope,
    *,
    program: Program | None = None,
    name: str = "After a branch visit",
    questions: list[dict[str, Any]] | None = None,
) -> Survey:
    """A published survey in en/ro/pl with the questions above (or the ones given)."""
    program = program or make_program(scope)
    specs = [spec_from_json(q, index=i) for i, q in enumerate(questions or QUESTIONS)]
    survey = services.survey_create(
        scope=scope,
        program_id=program.pk,
        name=name,
        languages=LANGUAGES,
        default_language="ro",
        questions=specs,
    )
    services.survey_publish(scope=scope, survey_id=survey.pk)
    return survey
