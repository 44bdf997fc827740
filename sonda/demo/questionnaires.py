"""The demo bank's questionnaires in English, Romanian and Polish.

A relationship survey (the bank against two fictional competitors, attribute ratings) and two
transactional surveys (after a branch visit, after a call) whose ratings of speed, competence,
friendliness and clarity are the inputs of driver analysis. Question keys and option codes are the
same across surveys where they mean the same thing, so results consolidate.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sonda.surveys.definition import ConditionSpec, OptionSpec, QuestionSpec

LANGUAGES = ("en", "ro", "pl")
RELATIONSHIP_PROGRAM = "Relationship NPS"
SERVICE_PROGRAM = "Service NPS"
RELATIONSHIP_SURVEY = "Relationship survey"
BRANCH_SURVEY = "After a branch visit"
CALL_SURVEY = "After a call"
# Fictional competitors of the bank: one Romanian, one Polish.
COMPETITORS = {"ltr_danubia": "Danubia Bank", "ltr_vistula": "Vistula Bank"}
RATINGS = ("speed", "competence", "friendliness", "clarity")
RELATIONSHIP_RATINGS = ("products", "fees", "digital", "branch_service")


def _t(en: str, ro: str, pl: str) -> dict[str, str]:
    return {"en": en, "ro": ro, "pl": pl}


def _option(code: str, en: str, ro: str, pl: str) -> OptionSpec:
    return OptionSpec(code=code, labels=_t(en, ro, pl))


LIKELY = {
    "min": _t("Not at all likely", "Deloc probabil", "Zdecydowanie nie"),
    "max": _t("Extremely likely", "Foarte probabil", "Zdecydowanie tak"),
}
QUALITY = {
    "min": _t("Very poor", "Foarte slab", "Bardzo źle"),
    "max": _t("Excellent", "Excelent", "Doskonale"),
}
EASE = {
    "min": _t("Very difficult", "Foarte dificil", "Bardzo trudno"),
    "max": _t("Very easy", "Foarte ușor", "Bardzo łatwo"),
}
SATISFACTION = {
    "min": _t("Very dissatisfied", "Foarte nemulțumit", "Bardzo niezadowolony"),
    "max": _t("Very satisfied", "Foarte mulțumit", "Bardzo zadowolony"),
}
LOW_SCORE = ConditionSpec(question="ltr", op="lte", value=6)

OPTIONS = {
    "waiting_time": _option(
        "waiting_time", "Waiting time", "Timpul de așteptare", "Czas oczekiwania"
    ),
    "staff_attitude": _option(
        "staff_attitude", "Staff attitude", "Atitudinea personalului", "Postawa pracowników"
    ),
    "wrong_information": _option(
        "wrong_information",
        "Wrong or unclear information",
        "Informații greșite sau neclare",
        "Błędne lub niejasne informacje",
    ),
    "fees": _option("fees", "Fees and charges", "Comisioane și costuri", "Opłaty i prowizje"),
    "app_problems": _option(
        "app_problems",
        "Problems with the mobile app",
        "Probleme cu aplicația mobilă",
        "Problemy z aplikacją mobilną",
    ),
    "process_complex": _option(
        "process_complex",
        "The process is too complicated",
        "Procedura este prea complicată",
        "Zbyt skomplikowana procedura",
    ),
    "opening_hours": _option(
        "opening_hours", "Opening hours", "Programul de lucru", "Godziny otwarcia"
    ),
    "transfers": _option(
        "transfers",
        "Transferred too many times",
        "Prea multe transferuri între consultanți",
        "Zbyt wiele przełączeń między konsultantami",
    ),
    "product_offer": _option(
        "product_offer",
        "Products that do not fit my needs",
        "Produse care nu se potrivesc nevoilor mele",
        "Produkty niedopasowane do moich potrzeb",
    ),
}
BRANCH_REASONS = (
    "waiting_time",
    "staff_attitude",
    "wrong_information",
    "fees",
    "app_problems",
    "process_complex",
    "opening_hours",
)
CALL_REASONS = (
    "waiting_time",
    "transfers",
    "staff_attitude",
    "wrong_information",
    "fees",
    "app_problems",
    "process_complex",
)
RELATIONSHIP_REASONS = (
    "fees",
    "product_offer",
    "app_problems",
    "waiting_time",
    "staff_attitude",
    "wrong_information",
    "process_complex",
)


def _reasons(codes: Sequence[str], text: dict[str, str]) -> QuestionSpec:
    return QuestionSpec(
        key="reasons",
        kind="multi_choice",
        text=text,
        page=1,
        options=tuple(OPTIONS[code] for code in codes),
        condition=LOW_SCORE,
    )


def _rating(key: str, text: dict[str, str], *, page: int = 2) -> QuestionSpec:
    return QuestionSpec(
        key=key, kind="rating", text=text, page=page, scale_min=1, scale_max=5, scale_labels=QUALITY
    )


def _comment(text: dict[str, str]) -> QuestionSpec:
    return QuestionSpec(key="comment", kind="text", text=text, page=2, max_length=2000)


def relationship_questions() -> list[QuestionSpec]:
    competitor_help = _t(
        "Leave it empty if you do not know this bank.",
        "Lăsați necompletat dacă nu cunoașteți această bancă.",
        "Pozostaw puste, jeśli nie znasz tego banku.",
    )
    return [
        QuestionSpec(
            key="ltr",
            kind="nps",
            required=True,
            text=_t(
                "How likely are you to recommend Carpathia Bank to a friend or colleague?",
                "Cât de probabil este să recomandați Carpathia Bank unui prieten sau coleg?",
                "Jak bardzo prawdopodobne jest, że polecisz Carpathia Bank znajomemu lub "
                "współpracownikowi?",
            ),
            scale_labels=LIKELY,
        ),
        QuestionSpec(
            key="ltr_danubia",
            kind="nps",
            competitor=COMPETITORS["ltr_danubia"],
            text=_t(
                "And how likely are you to recommend Danubia Bank?",
                "Dar cât de probabil este să recomandați Danubia Bank?",
                "A jak bardzo prawdopodobne jest, że polecisz Danubia Bank?",
            ),
            help_text=competitor_help,
            scale_labels=LIKELY,
        ),
        QuestionSpec(
            key="ltr_vistula",
            kind="nps",
            competitor=COMPETITORS["ltr_vistula"],
            text=_t(
                "And how likely are you to recommend Vistula Bank?",
                "Dar cât de probabil este să recomandați Vistula Bank?",
                "A jak bardzo prawdopodobne jest, że polecisz Vistula Bank?",
            ),
            help_text=competitor_help,
            scale_labels=LIKELY,
        ),
        _reasons(
            RELATIONSHIP_REASONS,
            _t(
                "What disappoints you most about Carpathia Bank?",
                "Ce vă nemulțumește cel mai mult la Carpathia Bank?",
                "Co najbardziej rozczarowuje Cię w Carpathia Bank?",
            ),
        ),
        _rating(
            "products",
            _t(
                "How do you rate our products and how well they fit your needs?",
                "Cum apreciați produsele noastre și cât de bine se potrivesc nevoilor "
                "dumneavoastră?",
                "Jak oceniasz nasze produkty i ich dopasowanie do Twoich potrzeb?",
            ),
        ),
        _rating(
            "fees",
            _t(
                "How do you rate our fees and interest rates?",
                "Cum apreciați comisioanele și dobânzile noastre?",
                "Jak oceniasz nasze opłaty i oprocentowanie?",
            ),
        ),
        _rating(
            "digital",
            _t(
                "How do you rate our digital banking (mobile app and internet banking)?",
                "Cum apreciați serviciile noastre digitale (aplicația mobilă și internet banking)?",
                "Jak oceniasz naszą bankowość elektroniczną (aplikację mobilną i bankowość "
                "internetową)?",
            ),
        ),
        _rating(
            "branch_service",
            _t(
                "How do you rate the service in our branches?",
                "Cum apreciați serviciile din sucursalele noastre?",
                "Jak oceniasz obsługę w naszych oddziałach?",
            ),
        ),
        _comment(
            _t(
                "What is the main reason for your score?",
                "Care este principalul motiv al notei acordate?",
                "Jaki jest główny powód Twojej oceny?",
            )
        ),
    ]


def _service_ratings(
    competence: dict[str, str], friendliness: dict[str, str]
) -> list[QuestionSpec]:
    return [
        _rating(
            "speed",
            _t(
                "How do you rate the speed of service?",
                "Cum apreciați rapiditatea serviciului?",
                "Jak oceniasz szybkość obsługi?",
            ),
        ),
        _rating("competence", competence),
        _rating("friendliness", friendliness),
        _rating(
            "clarity",
            _t(
                "How clear were the explanations you received?",
                "Cât de clare au fost explicațiile primite?",
                "Jak jasne były otrzymane wyjaśnienia?",
            ),
        ),
    ]


WAIT_MINUTES = QuestionSpec(
    key="wait_minutes",
    kind="number",
    page=2,
    scale_min=0,
    scale_max=300,
    text=_t(
        "About how many minutes did you wait before being served?",
        "Aproximativ câte minute a durat așteptarea până ați fost preluat?",
        "Ile mniej więcej minut trwało oczekiwanie na obsługę?",
    ),
)


def branch_questions(*, with_wait_minutes: bool = False) -> list[QuestionSpec]:
    """The branch visit survey; its second version asks how long the wait was."""
    questions = [
        QuestionSpec(
            key="ltr",
            kind="nps",
            required=True,
            text=_t(
                "After your visit, how likely are you to recommend Carpathia Bank to a friend "
                "or colleague?",
                "După vizita de astăzi, cât de probabil este să recomandați Carpathia Bank unui "
                "prieten sau coleg?",
                "Jak bardzo prawdopodobne jest, że po tej wizycie polecisz Carpathia Bank "
                "znajomemu lub współpracownikowi?",
            ),
            scale_labels=LIKELY,
        ),
        _reasons(
            BRANCH_REASONS,
            _t(
                "What went wrong during your visit?",
                "Ce nu a mers bine în timpul vizitei?",
                "Co poszło nie tak podczas wizyty?",
            ),
        ),
        *_service_ratings(
            _t(
                "How do you rate the competence of the person who served you?",
                "Cum apreciați competența persoanei care v-a servit?",
                "Jak oceniasz kompetencje osoby, która Cię obsługiwała?",
            ),
            _t(
                "How do you rate the friendliness of the staff?",
                "Cum apreciați amabilitatea personalului?",
                "Jak oceniasz uprzejmość personelu?",
            ),
        ),
    ]
    if with_wait_minutes:
        questions.append(WAIT_MINUTES)
    questions += [
        QuestionSpec(
            key="resolved",
            kind="yes_no",
            page=2,
            text=_t(
                "Was your issue resolved?",
                "V-a fost rezolvată problema?",
                "Czy Twoja sprawa została załatwiona?",
            ),
        ),
        _comment(
            _t(
                "Is there anything else you would like to tell us about your visit?",
                "Mai doriți să ne spuneți ceva despre vizita dumneavoastră?",
                "Czy chcesz nam jeszcze coś powiedzieć o swojej wizycie?",
            )
        ),
    ]
    return questions


def call_questions() -> list[QuestionSpec]:
    return [
        QuestionSpec(
            key="ltr",
            kind="nps",
            required=True,
            text=_t(
                "After this call, how likely are you to recommend Carpathia Bank to a friend "
                "or colleague?",
                "După această convorbire, cât de probabil este să recomandați Carpathia Bank "
                "unui prieten sau coleg?",
                "Jak bardzo prawdopodobne jest, że po tej rozmowie polecisz Carpathia Bank "
                "znajomemu lub współpracownikowi?",
            ),
            scale_labels=LIKELY,
        ),
        _reasons(
            CALL_REASONS,
            _t(
                "What went wrong during the call?",
                "Ce nu a mers bine în timpul convorbirii?",
                "Co poszło nie tak podczas rozmowy?",
            ),
        ),
        QuestionSpec(
            key="csat",
            kind="csat",
            page=2,
            scale_min=1,
            scale_max=5,
            scale_labels=SATISFACTION,
            text=_t(
                "Overall, how satisfied are you with the call?",
                "Per ansamblu, cât de mulțumit sunteți de această convorbire?",
                "Jak ogólnie oceniasz swoje zadowolenie z tej rozmowy?",
            ),
        ),
        QuestionSpec(
            key="ces",
            kind="ces",
            page=2,
            scale_min=1,
            scale_max=5,
            scale_labels=EASE,
            text=_t(
                "How easy was it to get your issue handled?",
                "Cât de ușor v-a fost să vă rezolvați solicitarea?",
                "Jak łatwo było załatwić Twoją sprawę?",
            ),
        ),
        *_service_ratings(
            _t(
                "How do you rate the competence of the consultant you spoke to?",
                "Cum apreciați competența consultantului cu care ați vorbit?",
                "Jak oceniasz kompetencje konsultanta prowadzącego rozmowę?",
            ),
            _t(
                "How do you rate the consultant's friendliness?",
                "Cum apreciați amabilitatea consultantului?",
                "Jak oceniasz uprzejmość konsultanta?",
            ),
        ),
        QuestionSpec(
            key="resolved",
            kind="yes_no",
            page=2,
            text=_t(
                "Was your issue resolved during the call?",
                "V-a fost rezolvată problema în timpul convorbirii?",
                "Czy Twoja sprawa została załatwiona podczas rozmowy?",
            ),
        ),
        _comment(
            _t(
                "Is there anything else you would like to tell us about the call?",
                "Mai doriți să ne spuneți ceva despre această convorbire?",
                "Czy chcesz nam jeszcze coś powiedzieć o tej rozmowie?",
            )
        ),
    ]


@dataclass(frozen=True)
class DemoSurveyDefinition:
    program: str
    name: str
    questions: list[QuestionSpec]


@dataclass(frozen=True)
class DemoProgramDefinition:
    name: str
    kind: str
    description: str


def demo_programs() -> list[DemoProgramDefinition]:
    return [
        DemoProgramDefinition(
            RELATIONSHIP_PROGRAM,
            "relationship",
            "Quarterly survey of the customer base: the bank's NPS against Danubia Bank and "
            "Vistula Bank, and how customers rate products, fees, digital banking and branches.",
        ),
        DemoProgramDefinition(
            SERVICE_PROGRAM,
            "transactional",
            "Short surveys right after a branch visit or a call to the contact centre: what went "
            "wrong, who served the customer, and whether the issue was resolved.",
        ),
    ]


def demo_surveys() -> list[DemoSurveyDefinition]:
    return [
        DemoSurveyDefinition(RELATIONSHIP_PROGRAM, RELATIONSHIP_SURVEY, relationship_questions()),
        DemoSurveyDefinition(SERVICE_PROGRAM, BRANCH_SURVEY, branch_questions()),
        DemoSurveyDefinition(SERVICE_PROGRAM, CALL_SURVEY, call_questions()),
    ]
