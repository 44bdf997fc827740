"""Alert rule conditions as pure data: the schema's errors and each kind's evaluation."""

import pytest

from sonda.core.errors import ValidationFailed
from sonda.loop.conditions import (
    ResponseFacts,
    RuleSpec,
    condition_as_json,
    conditions_parse,
    fold,
    names_mentioned,
    rule_winner,
    rules_ordered,
)


def facts(**values) -> ResponseFacts:
    values.setdefault("language", "en")
    texts = values.pop("texts", {})
    return ResponseFacts(
        response_id=1,
        program_id=values.pop("program_id", 10),
        survey_id=values.pop("survey_id", 20),
        texts={key: fold(text) for key, text in texts.items()},
        **values,
    )


def rule(conditions, *, rule_id=1, priority="normal", position=0, program_id=None, survey_id=None):
    return RuleSpec.of(
        rule_id=rule_id,
        priority=priority,
        position=position,
        program_id=program_id,
        survey_id=survey_id,
        conditions=conditions_parse(conditions),
    )


def fields_of(raw) -> list[str]:
    with pytest.raises(ValidationFailed) as refused:
        conditions_parse(raw)
    return [e.field for e in refused.value.errors]


def test_the_schema_names_each_failing_part():
    assert fields_of([]) == ["conditions"]
    assert fields_of("detractors") == ["conditions"]
    assert fields_of([{"kind": "mood"}]) == ["conditions[0].kind"]
    assert fields_of([{"kind": "loyalty", "question": "ltr", "classes": ["detractor", "fan"]}]) == [
        "conditions[0].classes[1]"
    ]
    assert fields_of([{"kind": "loyalty", "question": "LTR!", "classes": ["detractor"]}]) == [
        "conditions[0].question"
    ]
    assert fields_of([{"kind": "score", "question": "csat"}]) == ["conditions[0].min"]
    assert fields_of([{"kind": "score", "question": "csat", "min": 4, "max": 2}]) == [
        "conditions[0].max"
    ]
    assert fields_of([{"kind": "score", "question": "csat", "max": True}]) == ["conditions[0].max"]
    assert fields_of([{"kind": "answer", "question": "reasons", "options": []}]) == [
        "conditions[0].options"
    ]
    assert fields_of(
        [{"kind": "words", "phrases": {"en": ["rude"], "xx": ["brr"], "ro": ["", "urât"]}}]
    ) == ["conditions[0].phrases.xx", "conditions[0].phrases.ro[0]"]
    assert fields_of([{"kind": "competitor", "names": ["!!"]}]) == ["conditions[0].names[0]"]
    assert fields_of([{"kind": "non_response", "days": 0}]) == ["conditions[0].days"]
    assert fields_of([{"kind": "non_response", "days": 30, "program": 1}]) == [
        "conditions[0].program"
    ]
    assert fields_of(
        [
            {"kind": "non_response", "days": 30},
            {"kind": "loyalty", "question": "ltr", "classes": ["detractor"]},
        ]
    ) == ["conditions"]


def test_conditions_read_back_as_written():
    raw = [
        {"kind": "loyalty", "question": "ltr", "classes": ["detractor", "passive"]},
        {"kind": "score", "question": "csat", "max": 2.0},
        {"kind": "answer", "question": "reasons", "options": ["staff"]},
        {"kind": "words", "question": None, "phrases": {"en": ["rude", "long wait"]}},
        {"kind": "competitor", "question": "comment", "names": ["Banca Verde"]},
    ]
    assert [condition_as_json(c) for c in conditions_parse(raw)] == raw


def test_text_is_folded_without_case_accents_or_punctuation():
    assert fold("Mi-a răspuns NEPOLITICOS!") == "mi a raspuns nepoliticos"
    assert fold("Obsługa była NIEGRZECZNA…") == "obsluga byla niegrzeczna"
    assert fold("Ștefan, Ştefan și Ţara") == "stefan stefan si tara"
    assert fold("Straße") == "strasse"


def test_loyalty_classes_follow_the_programs_thresholds():
    detractors = rule([{"kind": "loyalty", "question": "ltr", "classes": ["detractor"]}])
    assert detractors.matches(facts(scores={"ltr": 6}))
    assert not detractors.matches(facts(scores={"ltr": 7}))
    assert not detractors.matches(facts(scores={"ltr": 5}, detractor_max=3, promoter_min=4))
    assert detractors.matches(facts(scores={"ltr": 3}, detractor_max=3, promoter_min=4))
    assert not detractors.matches(facts(scores={"csat": 1}))  # no answer to the question


def test_a_score_range_is_inclusive_and_may_be_open_ended():
    low = rule([{"kind": "score", "question": "csat", "min": 1, "max": 2}])
    assert [low.matches(facts(scores={"csat": s})) for s in (1, 2, 3)] == [True, True, False]
    at_most = rule([{"kind": "score", "question": "ces", "max": 2}])
    assert at_most.matches(facts(scores={"ces": 1}))
    assert not at_most.matches(facts())


def test_a_chosen_option_matches():
    rude = rule([{"kind": "answer", "question": "reasons", "options": ["staff", "rude"]}])
    assert rude.matches(facts(choices={"reasons": frozenset({"waiting", "rude"})}))
    assert not rude.matches(facts(choices={"reasons": frozenset({"waiting"})}))
    assert not rude.matches(facts(choices={"other": frozenset({"rude"})}))


def test_words_match_whole_words_in_the_responses_language():
    words = rule(
        [
            {
                "kind": "words",
                "phrases": {
                    "en": ["rude", "long wait"],
                    "ro": ["nepoliticos"],
                    "pl": ["niegrzeczn*"],
                },
            }
        ]
    )
    assert words.matches(facts(texts={"comment": "The clerk was RUDE."}))
    assert words.matches(facts(texts={"comment": "A long   wait, again"}))
    assert not words.matches(facts(texts={"comment": "A prudent answer"}))
    assert not words.matches(facts(texts={"comment": "a longer wait"}))
    assert words.matches(
        facts(language="ro", texts={"c": "Funcționara a fost nepoliticoasă, nepoliticos!"})
    )
    assert not words.matches(facts(language="ro", texts={"c": "The clerk was rude"}))
    assert words.matches(facts(language="pl", texts={"c": "Pani była NIEGRZECZNA"}))
    assert not words.matches(facts(language="pl", texts={"c": "grzeczna"}))
    one_question = rule([{"kind": "words", "question": "comment", "phrases": {"en": ["rude"]}}])
    assert not one_question.matches(facts(texts={"other": "rude"}))


def test_a_competitor_is_found_whatever_the_language():
    rivals = rule([{"kind": "competitor", "names": ["Banca Verde", "ING"]}])
    assert rivals.matches(facts(language="ro", texts={"c": "La BANCA VERDE e mai bine"}))
    assert rivals.matches(facts(language="pl", texts={"c": "Przechodzę do ING."}))
    assert not rivals.matches(facts(texts={"c": "Nothing, just pricing"}))


def test_all_conditions_of_a_rule_must_hold_and_its_scope_must_fit():
    both = rule(
        [
            {"kind": "loyalty", "question": "ltr", "classes": ["detractor"]},
            {"kind": "answer", "question": "reasons", "options": ["staff"]},
        ],
        program_id=10,
    )
    rude_detractor = facts(scores={"ltr": 2}, choices={"reasons": frozenset({"staff"})})
    assert both.matches(rude_detractor)
    assert not both.matches(facts(scores={"ltr": 2}))
    assert not both.matches(facts(scores={"ltr": 2}, choices=rude_detractor.choices, program_id=11))


def test_the_most_urgent_matching_rule_wins_then_the_lowest_position():
    detractors = [{"kind": "loyalty", "question": "ltr", "classes": ["detractor"]}]
    rules = rules_ordered(
        [
            rule(detractors, rule_id=1, priority="normal", position=0),
            rule(detractors, rule_id=2, priority="urgent", position=5),
            rule(detractors, rule_id=3, priority="urgent", position=1),
            rule([{"kind": "non_response", "days": 30}], rule_id=4, priority="urgent"),
            rule([{"kind": "score", "question": "ltr", "max": 0}], rule_id=5, priority="urgent"),
        ]
    )
    assert [r.rule_id for r in rules] == [5, 3, 2, 1]
    winners = [rule_winner(rules, facts(scores={"ltr": score})) for score in (4, 0)]
    assert [w.rule_id if w else None for w in winners] == [3, 5]
    assert rule_winner(rules, facts(scores={"ltr": 9})) is None


def test_full_names_are_found_in_text():
    people = {1: "Ana Popescu", 2: "Łukasz Nowak", 3: "Ion"}
    assert names_mentioned(fold("Doamna ana POPESCU m-a ajutat"), people) == [1]
    assert names_mentioned(fold("Pan Lukasz Nowak był świetny"), people) == [2]
    assert names_mentioned(fold("Ion was great"), people) == []  # one word is too ambiguous
