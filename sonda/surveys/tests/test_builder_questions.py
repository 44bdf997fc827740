"""The builder's question forms: one form per kind, every save checked against the whole draft."""

import re

import pytest
from django.urls import reverse

from sonda.surveys import services
from sonda.surveys.definition import ConditionSpec, OptionSpec, QuestionSpec
from sonda.surveys.models import Question, SurveyVersion
from sonda.surveys.selectors import survey_editing_base, version_specs
from sonda.surveys.tests.factories import make_program, make_published_survey


@pytest.fixture
def draft_survey(world):
    """A published en/ro/pl survey whose draft (version 2) is being edited."""
    scope = world.scope(world.analyst)
    survey = make_published_survey(scope)
    services.survey_draft(scope=scope, survey_id=survey.pk)
    return survey


@pytest.fixture
def analyst(world, client):
    client.force_login(world.analyst)
    return client


def draft_specs(world, survey) -> list[QuestionSpec]:
    base = survey_editing_base(scope=world.scope(world.analyst), survey=survey)
    assert base is not None
    return version_specs(base)


def texts(prefix: str, **values: str) -> dict[str, str]:
    return {f"{prefix}_{lang}": value for lang, value in values.items()}


def new_question(survey, kind: str) -> str:
    return reverse("surveys:question_create", args=[survey.pk]) + f"?kind={kind}"


def snapshot(survey):
    return list(
        Question.objects.filter(version__survey=survey)
        .order_by("version__number", "position")
        .values_list("version__number", "position", "key", "page", "text", "condition")
    )


def test_adding_a_csat_question_appends_it_to_the_draft(world, draft_survey, analyst):
    response = analyst.post(
        new_question(draft_survey, "csat"),
        {
            "kind": "csat",
            "key": "satisfied",
            "page": "2",
            "required": "on",
            "scale": "1-7",
            **texts("text", en="Satisfied?", ro="Mulțumit?", pl="Zadowolony?"),
            **texts("min_label", en="Not at all", ro="Deloc", pl="Wcale"),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:builder", args=[draft_survey.pk]) + (
        "#q-satisfied"
    )
    added = draft_specs(world, draft_survey)[-1]
    assert added == QuestionSpec(
        key="satisfied",
        kind="csat",
        text={"en": "Satisfied?", "ro": "Mulțumit?", "pl": "Zadowolony?"},
        required=True,
        page=2,
        scale_min=1,
        scale_max=7,
        scale_labels={"min": {"en": "Not at all", "ro": "Deloc", "pl": "Wcale"}},
    )


def test_the_form_offers_only_the_scales_of_the_kind(world, draft_survey, analyst):
    page = analyst.get(new_question(draft_survey, "ces"))
    assert page.context["form"].fields["scale"].choices == [("1-5", "1–5"), ("1-7", "1–7")]
    assert "nps" not in [f for f in page.context["form"].fields if f == "scale"]
    before = snapshot(draft_survey)
    response = analyst.post(
        new_question(draft_survey, "ces"),
        {"kind": "ces", "key": "effort", "page": "1", "scale": "1-10", "text_ro": "Ușor?"},
    )
    assert list(response.context["form"].errors) == ["scale"]
    assert snapshot(draft_survey) == before


def test_a_choice_question_takes_options_from_the_rows_and_skips_empty_ones(
    world, draft_survey, analyst
):
    url = new_question(draft_survey, "single_choice")
    page = analyst.get(url)
    assert page.context["form"].option_rows == 3
    # Asking for more rows keeps what was typed and saves nothing.
    typed = {
        "kind": "single_choice",
        "option_rows": "3",
        "key": "product",
        "page": "2",
        **texts("text", en="Product?", ro="Produs?", pl="Produkt?"),
        "option-0-code": "card",
        "option-0-label-en": "Card",
        "option-0-label-ro": "Card",
        "option-0-label-pl": "Karta",
        "option-2-code": "loan",
        "option-2-label-en": "Loan",
        "option-2-label-ro": "Credit",
        "option-2-label-pl": "Kredyt",
        "option-2-problem": "lending",
    }
    more = analyst.post(url, {**typed, "more_options": "1"})
    assert more.status_code == 200
    assert more.context["form"].option_rows == 6
    assert more.context["form"].errors == {}
    assert 'value="loan"' in more.content.decode()
    assert len(draft_specs(world, draft_survey)) == 4
    response = analyst.post(url, {**typed, "option_rows": "6"})
    assert response.status_code == 302
    assert draft_specs(world, draft_survey)[-1].options == (
        OptionSpec(code="card", labels={"en": "Card", "ro": "Card", "pl": "Karta"}),
        OptionSpec(
            code="loan", labels={"en": "Loan", "ro": "Credit", "pl": "Kredyt"}, problem="lending"
        ),
    )


def test_a_bad_option_code_is_shown_on_its_row(world, draft_survey, analyst):
    before = snapshot(draft_survey)
    response = analyst.post(
        new_question(draft_survey, "multi_choice"),
        {
            "kind": "multi_choice",
            "option_rows": "3",
            "key": "channels",
            "page": "1",
            "text_ro": "Canale?",
            "option-0-code": "branch",
            "option-2-code": "Web Site",
        },
    )
    assert response.context["form"].errors == {
        "option-2-code": ["lower-case letters, digits, - and _ (at most 64)"]
    }
    assert snapshot(draft_survey) == before


def test_a_duplicate_key_is_shown_next_to_the_key_and_nothing_changes(world, draft_survey, analyst):
    before = snapshot(draft_survey)
    response = analyst.post(
        new_question(draft_survey, "yes_no"),
        {"kind": "yes_no", "key": "ltr", "page": "1", "text_ro": "Rezolvat?"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"key": ["'ltr' is used by another question"]}
    html = response.content.decode()
    assert '<ul class="errorlist" id="id_key_error">' in html
    assert snapshot(draft_survey) == before


def test_a_page_after_a_gap_is_refused_on_the_page_field(world, draft_survey, analyst):
    response = analyst.post(
        new_question(draft_survey, "yes_no"),
        {"kind": "yes_no", "key": "resolved", "page": "4", "text_ro": "Rezolvat?"},
    )
    assert response.context["form"].errors == {
        "page": ["pages must run 1, 2, 3... without gaps: [1, 2, 4]"]
    }


def test_the_default_language_text_is_required_the_others_may_wait(world, draft_survey, analyst):
    response = analyst.post(
        new_question(draft_survey, "text"),
        {"kind": "text", "key": "why", "page": "2", "text_en": "Why?"},
    )
    assert response.context["form"].errors == {"text_ro": ["This field is required."]}
    response = analyst.post(
        new_question(draft_survey, "text"),
        {"kind": "text", "key": "why", "page": "2", "text_ro": "De ce?", "max_length": "500"},
    )
    assert response.status_code == 302
    assert draft_specs(world, draft_survey)[-1] == QuestionSpec(
        key="why", kind="text", text={"ro": "De ce?"}, page=2, max_length=500
    )


def test_a_condition_looks_back_at_an_earlier_answer(world, draft_survey, analyst):
    url = new_question(draft_survey, "text")
    page = analyst.get(url)
    offered = [value for value, _label in page.context["form"].fields["condition_question"].choices]
    assert offered == ["", "ltr", "reasons", "speed", "comment"]
    response = analyst.post(
        url,
        {
            "kind": "text",
            "key": "waiting_detail",
            "page": "2",
            "text_ro": "Cât ați așteptat?",
            "condition_question": "reasons",
            "condition_op": "in",
            "condition_value": "waiting, staff",
        },
    )
    assert response.status_code == 302
    assert draft_specs(world, draft_survey)[-1].condition == ConditionSpec(
        question="reasons", op="in", value=["waiting", "staff"]
    )


def test_a_condition_value_must_fit_its_question(world, draft_survey, analyst):
    base = {"kind": "text", "key": "more", "page": "2", "text_ro": "Mai mult?"}
    url = new_question(draft_survey, "text")
    response = analyst.post(
        url, {**base, "condition_question": "ltr", "condition_op": "lte", "condition_value": "six"}
    )
    assert response.context["form"].errors == {"condition_value": ["“six” is not a number."]}
    response = analyst.post(
        url, {**base, "condition_question": "reasons", "condition_op": "eq", "condition_value": "x"}
    )
    assert response.context["form"].errors == {"condition_value": ["not options of reasons: ['x']"]}
    response = analyst.post(url, {**base, "condition_question": "ltr", "condition_value": "6"})
    assert response.context["form"].errors == {"condition_op": ["Choose how to compare."]}
    assert len(draft_specs(world, draft_survey)) == 4


def test_a_condition_on_a_later_question_cannot_be_chosen(world, draft_survey, analyst):
    before = snapshot(draft_survey)
    response = analyst.post(
        reverse("surveys:question_edit", args=[draft_survey.pk, "ltr"]),
        {
            "kind": "nps",
            "key": "ltr",
            "page": "1",
            "text_ro": "Ne recomandați?",
            "condition_question": "speed",
            "condition_op": "gte",
            "condition_value": "3",
        },
    )
    assert list(response.context["form"].errors) == ["condition_question"]
    assert snapshot(draft_survey) == before


def test_renaming_a_question_that_a_later_condition_names_is_refused(world, draft_survey, analyst):
    before = snapshot(draft_survey)
    response = analyst.post(
        reverse("surveys:question_edit", args=[draft_survey.pk, "ltr"]),
        {"kind": "nps", "key": "recommend", "page": "1", "text_ro": "Ne recomandați?"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "questions[1].condition.question: must name an earlier question"
    ]
    assert snapshot(draft_survey) == before


def test_editing_fills_the_form_and_saves_the_change_in_place(world, draft_survey, analyst):
    url = reverse("surveys:question_edit", args=[draft_survey.pk, "reasons"])
    form = analyst.get(url).context["form"]
    assert form["condition_value"].value() == "6"
    assert form["option-1-label-pl"].value() == "Postawa personelu"
    assert form.option_rows == 6
    data = {
        name: form[name].value() for name in form.fields if form[name].value() not in (None, False)
    }
    data.update({"kind": "multi_choice", "option_rows": "6", "text_en": "What could be better?"})
    response = analyst.post(url, data)
    assert response.status_code == 302
    edited = draft_specs(world, draft_survey)[1]
    assert edited.text["en"] == "What could be better?"
    assert edited.condition == ConditionSpec(question="ltr", op="lte", value=6)
    assert [o.code for o in edited.options] == ["waiting", "staff", "fees"]
    # The published version keeps its text.
    published = Question.objects.get(version__number=1, version__survey=draft_survey, key="reasons")
    assert published.text["en"] == "What went wrong?"


def test_changing_the_kind_shows_that_kinds_fields(world, draft_survey, analyst):
    url = reverse("surveys:question_edit", args=[draft_survey.pk, "speed"])
    assert "scale" in analyst.get(url).context["form"].fields
    form = analyst.get(url, {"kind": "number"}).context["form"]
    assert {"lowest", "highest"} <= set(form.fields)
    assert "scale" not in form.fields
    response = analyst.post(
        url,
        {
            "kind": "number",
            "key": "speed",
            "page": "2",
            "text_ro": "Minute?",
            "lowest": "0",
            "highest": "120",
        },
    )
    assert response.status_code == 302
    assert draft_specs(world, draft_survey)[2] == QuestionSpec(
        key="speed", kind="number", text={"ro": "Minute?"}, page=2, scale_min=0, scale_max=120
    )


def test_a_competitor_question_names_the_competitor(world, draft_survey, analyst):
    response = analyst.post(
        new_question(draft_survey, "nps"),
        {
            "kind": "nps",
            "key": "ltr_danubia",
            "page": "1",
            "competitor": "Danubia Bank",
            "text_ro": "Ați recomanda Danubia Bank?",
        },
    )
    assert response.status_code == 302
    added = next(s for s in draft_specs(world, draft_survey) if s.key == "ltr_danubia")
    assert (added.competitor, added.scale()) == ("Danubia Bank", (0, 10))


def test_saving_a_question_of_a_published_survey_makes_a_draft(world, analyst):
    survey = make_published_survey(world.scope(world.analyst))
    url = reverse("surveys:question_edit", args=[survey.pk, "comment"])
    page = analyst.get(url)
    assert "Saving makes a new draft from the published version 1." in page.content.decode()
    assert survey.versions.count() == 1  # looking changes nothing
    response = analyst.post(
        url, {"kind": "text", "key": "comment", "page": "2", "text_ro": "Altceva?"}
    )
    assert response.status_code == 302
    assert list(survey.versions.order_by("number").values_list("number", "status")) == [
        (1, "published"),
        (2, "draft"),
    ]


def test_deleting_a_question_closes_up_its_page(world, analyst):
    scope = world.scope(world.analyst)
    program = make_program(scope)
    survey = services.survey_create(
        scope=scope,
        program_id=program.pk,
        name="Three pages",
        languages=["en"],
        default_language="en",
        questions=[
            QuestionSpec(key="a", kind="yes_no", text={"en": "A?"}, page=1),
            QuestionSpec(key="b", kind="yes_no", text={"en": "B?"}, page=2),
            QuestionSpec(key="c", kind="yes_no", text={"en": "C?"}, page=3),
        ],
    )
    response = analyst.post(reverse("surveys:question_delete", args=[survey.pk, "b"]))
    assert response["Location"] == reverse("surveys:builder", args=[survey.pk])
    assert [(s.key, s.page) for s in draft_specs(world, survey)] == [("a", 1), ("c", 2)]


def test_deleting_a_question_another_depends_on_is_refused(world, draft_survey, analyst):
    before = snapshot(draft_survey)
    response = analyst.post(
        reverse("surveys:question_delete", args=[draft_survey.pk, "ltr"]), follow=True
    )
    assert (
        "Not changed: questions[0].condition.question: must name an earlier question"
        in response.content.decode()
    )
    assert snapshot(draft_survey) == before


def test_moving_questions_up_and_down_crosses_pages_one_step_at_a_time(
    world, draft_survey, analyst
):
    def order():
        return [(s.key, s.page) for s in draft_specs(world, draft_survey)]

    def move(key, direction):
        return analyst.post(
            reverse("surveys:question_move", args=[draft_survey.pk, key]),
            {"direction": direction},
        )

    assert order() == [("ltr", 1), ("reasons", 1), ("speed", 2), ("comment", 2)]
    response = move("comment", "up")
    assert response["Location"] == reverse("surveys:builder", args=[draft_survey.pk]) + (
        "#q-comment"
    )
    assert order() == [("ltr", 1), ("reasons", 1), ("comment", 2), ("speed", 2)]
    move("comment", "up")  # the first of page 2 joins page 1 as its last
    assert order() == [("ltr", 1), ("reasons", 1), ("comment", 1), ("speed", 2)]
    move("speed", "up")  # the only one on page 2: page 2 closes up
    assert order() == [("ltr", 1), ("reasons", 1), ("comment", 1), ("speed", 1)]
    move("ltr", "up")  # already first
    assert order() == [("ltr", 1), ("reasons", 1), ("comment", 1), ("speed", 1)]


def test_moving_a_condition_above_its_question_is_refused(world, draft_survey, analyst):
    before = snapshot(draft_survey)
    response = analyst.post(
        reverse("surveys:question_move", args=[draft_survey.pk, "reasons"]),
        {"direction": "up"},
        follow=True,
    )
    assert (
        "Not changed: questions[0].condition.question: must name an earlier question"
        in response.content.decode()
    )
    assert snapshot(draft_survey) == before


def test_an_unknown_question_or_kind_is_not_found(world, draft_survey, analyst):
    edit = reverse("surveys:question_edit", args=[draft_survey.pk, "nothing"])
    assert analyst.get(edit).status_code == 404
    assert analyst.get(new_question(draft_survey, "teleport")).status_code == 404
    assert SurveyVersion.objects.filter(survey=draft_survey).count() == 2


def test_the_form_labels_every_field_in_the_readers_language(world, draft_survey, analyst):
    html = analyst.get(new_question(draft_survey, "single_choice")).content.decode()
    labels = re.findall(r'<label (?:class="visually-hidden" )?for="id_([^"]+)"', html)
    inputs = re.findall(r'<(?:input|select|textarea) [^>]*id="id_([^"]+)"', html)
    assert sorted(set(inputs)) == sorted(set(labels))
    assert "Question (Romanian)" in html
