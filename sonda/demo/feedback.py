"""The demo bank's feedback: two programs, three surveys in en/ro/pl, and 18 months of answers.

The programs, surveys, versions and open links are created through sonda.surveys.services as the
demo's CX analyst, so the product's rules hold for them; only their dates are set afterwards, to
the start of the period. The responses (about 200,000 at full scale) are drawn from the seeded
generator (sonda.demo.sampling: who, where, when; sonda.demo.experience: what they answered) and
written in bulk by sonda.demo.feedback_writing. A few live invitations (pending, expired, half
answered) go through the listening and response services so that the survey pages can be tried
from the demo; they alone follow the wall clock, because a link must still be open when someone
follows it.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from sonda.accounts.access import Scope, scope_for
from sonda.accounts.models import User
from sonda.core.calendar import day_number, hour_of, zone
from sonda.demo.bank import ANALYST_LOGIN, DEMO_BRANCH, DEMO_TEAM, FRONTLINE_LOGIN
from sonda.demo.experience import (
    BRANCH_SECOND_VERSION,
    MONTHS,
    PARTIAL_SHARE,
    DrawnAnswer,
    Situation,
    relationship_answers,
    service_answers,
)
from sonda.demo.feedback_writing import (
    RESPONSE_COLUMNS,
    answers_staged,
    answers_write,
    bulk_insert,
    indexes_deferred,
    response_ids_after,
    timestamp_adapter,
)
from sonda.demo.questionnaires import (
    BRANCH_SURVEY,
    CALL_SURVEY,
    LANGUAGES,
    RELATIONSHIP_SURVEY,
    branch_questions,
    demo_programs,
    demo_surveys,
)
from sonda.demo.sampling import (
    QR_TOUCHPOINT,
    TEAM_TOUCHPOINTS,
    Effects,
    Population,
    Sampler,
    Visit,
    effects,
    population,
)
from sonda.demo.specs import REFERENCE_DATE, OrganisationSpec, Scale
from sonda.demo.writing import DemoOrganisation
from sonda.listening.models import Invitation, InvitationStatus
from sonda.listening.services import invitation_create, invitation_mark
from sonda.org.models import Unit
from sonda.surveys import services as surveys
from sonda.surveys.models import (
    Answer,
    OpenLink,
    Program,
    Question,
    Response,
    ResponseSource,
    ResponseStatus,
    Survey,
    SurveyVersion,
)
from sonda.surveys.responses import ResponseContext, response_save_page, response_start

# Responses are drawn and written this many at a time: memory stays flat at any scale.
CHUNK = 20_000
# Where the responses come from: most after branch visits, many after calls, and the waves of
# the relationship survey.
SHARES = {"branch": 0.55, "call": 0.37, "relationship": 0.08}
SURVEY_OF_SETTING = {
    "branch": BRANCH_SURVEY,
    "call": CALL_SURVEY,
    "relationship": RELATIONSHIP_SURVEY,
}
LAUNCH = datetime(2025, 4, 28, 9, 0, tzinfo=UTC)
SECOND_VERSION_AT = datetime(2026, 2, 1, 18, 0, tzinfo=UTC)
# Live invitations to try the survey pages with: waiting to be answered, expired, half answered.
PENDING, EXPIRED, HALF_ANSWERED = 6, 4, 4


@dataclass(frozen=True)
class FeedbackSummary:
    programs: int
    surveys: int
    responses: int
    complete: int
    answers: int
    months: int
    open_links: int
    invitations: int
    try_token: str  # a pending invitation's token: its survey page can be opened right away


@dataclass(frozen=True)
class DemoSurvey:
    survey: Survey
    versions: list[int]  # ids, oldest first
    # version id → question key → (question id, kind)
    questions: dict[int, dict[str, tuple[int, str]]]


def _analyst_scope(bank: DemoOrganisation) -> Scope:
    scope = scope_for(User.objects.get(email=ANALYST_LOGIN), bank.organisation)
    if scope is None:
        raise RuntimeError("the demo analyst is not a member of the demo bank")
    return scope


def _dated(queryset: "QuerySet[Any]", at: datetime, **more: datetime) -> None:
    queryset.update(created_at=at, updated_at=at, **more)


def _surveys_create(scope: Scope) -> dict[str, DemoSurvey]:
    """The programs and surveys, published at launch; the branch survey's second version later."""
    programs = {
        program.name: surveys.program_create(
            scope=scope, name=program.name, kind=program.kind, description=program.description
        )
        for program in demo_programs()
    }
    created: dict[str, Survey] = {}
    for definition in demo_surveys():
        survey = surveys.survey_create(
            scope=scope,
            program_id=programs[definition.program].pk,
            name=definition.name,
            languages=list(LANGUAGES),
            default_language="en",
            questions=definition.questions,
        )
        surveys.survey_publish(scope=scope, survey_id=survey.pk)
        created[definition.name] = survey
    branch = created[BRANCH_SURVEY]
    surveys.survey_draft_save(
        scope=scope, survey_id=branch.pk, questions=branch_questions(with_wait_minutes=True)
    )
    second = surveys.survey_publish(scope=scope, survey_id=branch.pk)
    organisation = scope.organisation
    for model in (Program, Survey, Question):
        _dated(model.objects.filter(organisation=organisation), LAUNCH)
    _dated(SurveyVersion.objects.filter(organisation=organisation), LAUNCH, published_at=LAUNCH)
    _dated(
        SurveyVersion.objects.filter(pk=second.pk),
        SECOND_VERSION_AT,
        published_at=SECOND_VERSION_AT,
    )
    _dated(Question.objects.filter(version=second), SECOND_VERSION_AT)
    out = {}
    for name, survey in created.items():
        versions = list(
            SurveyVersion.objects.filter(survey=survey)
            .order_by("number")
            .values_list("pk", flat=True)
        )
        questions: dict[int, dict[str, tuple[int, str]]] = {v: {} for v in versions}
        for version_id, key, question_id, kind in Question.objects.filter(
            version_id__in=versions
        ).values_list("version_id", "key", "pk", "kind"):
            questions[version_id][key] = (question_id, kind)
        out[name] = DemoSurvey(survey, versions, questions)
    return out


def _open_links_create(scope: Scope, survey: Survey, branches: list[Unit]) -> dict[str, OpenLink]:
    """A QR code per branch: anonymous answers that know the branch, not who served."""
    links = {
        branch.code: surveys.open_link_create(
            scope=scope,
            survey_id=survey.pk,
            name=f"QR code · {branch.name}",
            unit_id=branch.pk,
            touchpoint=QR_TOUCHPOINT,
            channel="link",
        )
        for branch in branches
    }
    _dated(OpenLink.objects.filter(organisation=scope.organisation), LAUNCH)
    return links


@dataclass(frozen=True)
class Written:
    responses: int
    complete: int
    answers: int


def _responses_write(
    *,
    rng: random.Random,
    bank: DemoOrganisation,
    visits: list[Visit],
    demo: dict[str, DemoSurvey],
    customers: Population,
    shifts: Effects,
    links: dict[str, OpenLink],
) -> Written:
    """Draw each visit's answers and write responses and answers, a chunk at a time."""
    at = timestamp_adapter()
    organisation_id = bank.organisation.pk
    time_zone = zone(bank.organisation.time_zone)
    units = {code: unit.pk for code, unit in bank.units.items()}
    people = {number: person.pk for number, person in bank.people.items()}
    link_ids = {code: link.pk for code, link in links.items()}
    questions = {v: q for d in demo.values() for v, q in d.questions.items()}
    complete_status, partial_status = ResponseStatus.COMPLETE.value, ResponseStatus.PARTIAL.value
    last_id = 0
    responses = complete_count = answers = 0
    for start in range(0, len(visits), CHUNK):
        response_rows: list[tuple[Any, ...]] = []
        drawn_answers: list[
            tuple[dict[str, tuple[int, str]], list[DrawnAnswer], tuple[int, int]]
        ] = []
        for visit in visits[start : start + CHUNK]:
            survey = demo[SURVEY_OF_SETTING[visit.setting]]
            second = visit.setting == "branch" and visit.day.day >= BRANCH_SECOND_VERSION
            version_id = survey.versions[-1] if second else survey.versions[0]
            complete = rng.random() >= PARTIAL_SHARE
            situation = Situation(
                setting=visit.setting,
                day=visit.day.day,
                weekday=visit.day.day.weekday(),
                hour=visit.hour,
                language=visit.language,
                unit_effect=shifts.units[visit.unit],
                employee_effect=shifts.employees.get(visit.employee or "", 0.0),
                journey=visit.journey,
                tier=customers.tiers[visit.customer] if visit.customer >= 0 else "mass",
                country=visit.country,
                complete=complete,
            )
            drawn = (
                relationship_answers(rng, situation)
                if visit.setting == "relationship"
                else service_answers(rng, situation, with_wait=second)
            )
            started = at(visit.started)
            finished = visit.started + timedelta(seconds=rng.randint(45, 420)) if complete else None
            completed = at(finished) if finished is not None else None
            response_rows.append(
                (
                    organisation_id,
                    started,
                    completed or started,
                    survey.survey.pk,
                    version_id,
                    link_ids.get(visit.unit) if visit.channel == "link" else None,
                    customers.ids[visit.customer] if visit.customer >= 0 else None,
                    units[visit.unit],
                    people[visit.employee] if visit.employee_known and visit.employee else None,
                    visit.touchpoint,
                    visit.channel,
                    visit.journey,
                    visit.stage,
                    visit.language,
                    complete_status if complete else partial_status,
                    ResponseSource.DEMO.value,
                    "",
                    2,  # every demo survey has two pages: a partial response stopped after one
                    "",
                    started,
                    completed,
                )
            )
            answered = finished or visit.started
            day = (day_number(answered, time_zone), hour_of(answered, time_zone))
            drawn_answers.append((questions[version_id], drawn, day))
            complete_count += complete
        bulk_insert(Response, RESPONSE_COLUMNS, response_rows)
        ids = response_ids_after(organisation_id, last_id, len(response_rows))
        last_id = ids[-1]
        staged = []
        for response_id, (keys, given, day) in zip(ids, drawn_answers, strict=True):
            for key, number, text, choice in given:
                question_id, kind = keys[key]
                staged.append(
                    (answers, response_id, question_id, key, kind, number, text, choice, *day)
                )
                answers += 1
        answers_write(staged)
        responses += len(response_rows)
    return Written(responses, complete_count, answers)


def _live_invitations(
    *,
    bank: DemoOrganisation,
    spec: OrganisationSpec,
    demo: dict[str, DemoSurvey],
    customers: Population,
) -> tuple[int, str]:
    """Invitations to try the survey pages with: (how many, a pending one's token).

    Pending and half-answered invitations were sent in the last hours (of the wall clock, or of
    the reference date if that is later); expired ones a month before the reference date.
    """
    now = max(timezone.now(), REFERENCE_DATE)
    organisation = bank.organisation
    banker = next(p.number for p in spec.people if p.login == FRONTLINE_LOGIN)
    agent = next(p.number for p in spec.people if p.unit == DEMO_TEAM and p.manages is None)
    team_name = bank.units[DEMO_TEAM].name.split(" · ")[0]
    invited = customers.by_branch.get((DEMO_BRANCH, "email"), [])
    wanted = PENDING + EXPIRED + HALF_ANSWERED
    if len(invited) < wanted:
        raise RuntimeError(f"the demo branch has fewer than {wanted} customers to invite")
    tokens = []
    for number, index in enumerate(invited[:wanted]):
        call = number % 2 == 1
        kind = (
            "pending" if number < PENDING else "expired" if number < PENDING + EXPIRED else "half"
        )
        sent = (
            now - timedelta(hours=2 * number + 1)
            if kind != "expired"
            else (REFERENCE_DATE - timedelta(days=20 + number))
        )
        context = ResponseContext(
            language=customers.languages[index],
            customer_id=customers.ids[index],
            unit_id=bank.units[DEMO_TEAM if call else DEMO_BRANCH].pk,
            employee_id=bank.people[agent if call else banker].pk,
            touchpoint=TEAM_TOUCHPOINTS.get(team_name, "") if call else "Branch personal banker",
            channel="sms" if call else "email",
        )
        survey = demo[CALL_SURVEY if call else BRANCH_SURVEY].survey
        invitation = invitation_create(
            organisation=organisation,
            survey=survey,
            customer_id=context.customer_id,
            language=context.language,
            unit_id=context.unit_id,
            employee_id=context.employee_id,
            touchpoint=context.touchpoint,
            channel=context.channel,
            now=sent,
        )
        invitation_mark(invitation_id=invitation.pk, status=InvitationStatus.SENT, now=sent)
        tokens.append(invitation.token)
        if kind == "expired":
            # Nothing in the product expires invitations yet: the demo says so itself.
            Invitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.EXPIRED)
        elif kind == "half":
            opened = sent + timedelta(minutes=12)
            invitation_mark(invitation_id=invitation.pk, status=InvitationStatus.OPENED, now=opened)
            response = response_start(
                survey=survey, context=context, invitation_id=invitation.pk, now=opened
            )
            low = number % 4 == 0
            page = {"ltr": "5", "reasons": ["waiting_time"]} if low else {"ltr": "8"}
            response_save_page(response_id=response.pk, page=1, raw=page, now=opened)
            invitation_mark(
                invitation_id=invitation.pk, status=InvitationStatus.STARTED, now=opened
            )
    return wanted, tokens[0]


def feedback_generate(
    *, rng: random.Random, bank: DemoOrganisation, spec: OrganisationSpec, scale: Scale
) -> FeedbackSummary:
    """Programs, surveys, open links, the period's responses and a few live invitations."""
    scope = _analyst_scope(bank)
    demo = _surveys_create(scope)
    branches = [bank.units[u.code] for u in spec.units if u.unit_type == "branch"]
    links = _open_links_create(scope, demo[BRANCH_SURVEY].survey, branches)
    customers = population(spec, bank.customer_ids)
    sampler = Sampler(rng, spec, customers)
    shifts = effects(rng, spec, sampler.frontline)
    counts = {setting: round(scale.responses * share) for setting, share in SHARES.items()}
    visits = [
        *sampler.branch_visits(counts["branch"]),
        *sampler.calls(counts["call"]),
        *sampler.relationship(counts["relationship"]),
    ]
    # In time order, so that ids, like the survey pages', follow the answers' arrival.
    visits.sort(key=lambda visit: visit.started)
    with indexes_deferred(Response, Answer), answers_staged():
        written = _responses_write(
            rng=rng,
            bank=bank,
            visits=visits,
            demo=demo,
            customers=customers,
            shifts=shifts,
            links=links,
        )
    invitations, token = _live_invitations(bank=bank, spec=spec, demo=demo, customers=customers)
    return FeedbackSummary(
        programs=len(demo_programs()),
        surveys=len(demo),
        responses=written.responses,
        complete=written.complete,
        answers=written.answers,
        months=MONTHS,
        open_links=len(links),
        invitations=invitations,
        try_token=token,
    )
