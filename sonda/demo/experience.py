"""What the demo bank's respondents experienced, and how they answered.

The patterns later analyses must find are planted here, each as one named constant:
- the Nord-Est region's branches serve worse (WEAK_REGION: about 15 NPS points lower);
- Monday 9–11 at the branches has long queues (more "waiting time", lower scores);
- December dips (crowds and staff on leave);
- a mobile-app release on APP_RELEASE breaks logins; the fix rolls out until APP_FIXED, after
  which app problems are rare again;
- a few employees are consistently better or worse than their colleagues;
- speed and competence drive the recommendation most, friendliness and clarity less.

Every answer is drawn from latent scores (one per rated attribute, in standard deviations), so
ratings, the recommendation, reasons, resolution and effort agree with one another the way real
answers do.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sonda.demo.questionnaires import (
    BRANCH_REASONS,
    CALL_REASONS,
    RATINGS,
    RELATIONSHIP_RATINGS,
    RELATIONSHIP_REASONS,
)
from sonda.demo.specs import REFERENCE_DATE
from sonda.demo.verbatims import verbatim

MONTHS = 18
PERIOD_START = date(2025, 5, 1)
PERIOD_END = REFERENCE_DATE.date()  # exclusive: the 18 months end the day before
WEAK_REGION = "RO-NE"
WEAK_REGION_EFFECT = -0.28
APP_RELEASE = date(2026, 1, 12)  # month 9 of the period
APP_FIX_FROM = date(2026, 3, 23)
APP_FIXED = date(2026, 4, 20)  # month 12
BRANCH_SECOND_VERSION = date(2026, 2, 2)  # the branch survey starts asking how long the wait was
HOLIDAYS = frozenset({(12, 25), (12, 26), (1, 1)})
PARTIAL_SHARE = 0.06
TIME_ZONES = {"RO": ZoneInfo("Europe/Bucharest"), "PL": ZoneInfo("Europe/Warsaw")}
# How often a respondent met the app's troubles while they lasted, and otherwise.
APP_TROUBLE_HEAVY = {"call": 0.17, "branch": 0.07, "relationship": 0.3}
APP_TROUBLE_LIGHT = {"call": 0.02, "branch": 0.01, "relationship": 0.05}
# Effects on the latent scores, in standard deviations.
QUEUE_ON_SPEED = -0.8
DECEMBER_ON_SPEED = -0.25
DECEMBER_OVERALL = -0.1
# Danubia's customers are a little less enthusiastic than the bank's, Vistula's a little more.
COMPETITOR_MEANS = {"ltr_danubia": 7.6, "ltr_vistula": 8.1}
RATING_ANSWERED = 0.88
COMMENT_CHANCE = {"detractor": 0.62, "passive": 0.38, "promoter": 0.4}
REASON_COUNT = ((0.55, 1), (0.87, 2), (1.0, 3))  # cumulative: 55% tick one, 32% two, 13% three

# Local opening hours with their weights: when visits and calls happen.
BRANCH_HOURS = {9: 1.3, 10: 1.4, 11: 1.2, 12: 1.1, 13: 1.0, 14: 0.9, 15: 1.0, 16: 1.1}
BRANCH_MONDAY_HOURS = {**BRANCH_HOURS, 9: 2.0, 10: 2.0}
BRANCH_SATURDAY_HOURS = {9: 1.0, 10: 1.2, 11: 1.1, 12: 0.8}
CALL_HOURS = {h: (1.4 if 9 <= h <= 11 else 0.8 if h >= 18 else 1.0) for h in range(8, 20)}
CALL_WEEKEND_HOURS = dict.fromkeys(range(9, 15), 1.0)
HOME_HOURS = {h: (1.6 if 18 <= h <= 21 else 1.0) for h in range(8, 22)}
BRANCH_DAYS = (1.25, 1.0, 1.0, 1.0, 1.15, 0.3, 0.0)  # Monday first
CALL_DAYS = (1.3, 1.1, 1.0, 1.0, 0.95, 0.35, 0.12)
# Relationship waves: three weeks from these days.
WAVES = (
    date(2025, 6, 2),
    date(2025, 9, 1),
    date(2025, 12, 1),
    date(2026, 3, 2),
    date(2026, 6, 1),
    date(2026, 9, 1),
)


@dataclass(frozen=True)
class Day:
    index: int
    day: date
    month: int  # 0 … 17 within the period
    midnight_utc: dict[str, datetime]  # local midnight of each country, in UTC


def calendar() -> list[Day]:
    days: list[Day] = []
    current = PERIOD_START
    while current < PERIOD_END:
        midnight = {}
        for country, zone in TIME_ZONES.items():
            noon = datetime(current.year, current.month, current.day, 12, tzinfo=zone)
            offset = noon.utcoffset() or timedelta(0)
            midnight[country] = datetime(current.year, current.month, current.day, tzinfo=UTC) - (
                offset
            )
        month = (current.year - PERIOD_START.year) * 12 + current.month - PERIOD_START.month
        days.append(Day(len(days), current, month, midnight))
        current += timedelta(days=1)
    return days


def day_weights(days: Sequence[Day], by_weekday: Sequence[float]) -> list[float]:
    """How many interactions each day sees: weekday, slow growth, a quieter December."""
    weights = []
    for day in days:
        weight = by_weekday[day.day.weekday()] * (0.85 + 0.3 * day.month / (MONTHS - 1))
        if (day.day.month, day.day.day) in HOLIDAYS:
            weight = 0.0
        elif day.day.month == 12:
            weight *= 0.85
        weights.append(weight)
    return weights


def wave_weights(days: Sequence[Day]) -> list[float]:
    """How many relationship answers each day sees: none outside the survey's waves."""
    weights = []
    for day in days:
        in_wave = any(0 <= (day.day - start).days < 21 for start in WAVES)
        # Answers come in fast after the invitation and tail off.
        since = min((day.day - start).days for start in WAVES if start <= day.day) if in_wave else 0
        weights.append(math.exp(-since / 6) if in_wave else 0.0)
    return weights


def app_problem_chance(day: date, setting: str) -> float:
    """How likely a respondent ran into the app's troubles: rare, then frequent, then rare."""
    heavy, light = APP_TROUBLE_HEAVY[setting], APP_TROUBLE_LIGHT[setting]
    if day < APP_RELEASE or day >= APP_FIXED:
        return light
    if day < APP_FIX_FROM:
        return heavy
    left = (APP_FIXED - day).days / (APP_FIXED - APP_FIX_FROM).days
    return light + (heavy - light) * left


def app_release_live(day: date) -> bool:
    return APP_RELEASE <= day < APP_FIXED


@dataclass(slots=True)
class Situation:
    """One respondent's interaction, as far as it shapes their answers."""

    setting: str  # branch, call or relationship
    day: date
    weekday: int
    hour: int  # local
    language: str
    unit_effect: float  # region and branch (or team)
    employee_effect: float
    journey: str
    tier: str
    country: str
    complete: bool


# (question key, number, text, option code) of one answer row
DrawnAnswer = tuple[str, float | None, str, str]


def _scale(value: float, low: int, high: int) -> int:
    return min(high, max(low, round(value)))


def _loyalty(ltr: int) -> str:
    return "promoter" if ltr >= 9 else "detractor" if ltr <= 6 else "passive"


def _cite(rng: random.Random, weights: dict[str, float]) -> list[str]:
    """The reasons a detractor ticks: one to three, the felt ones most likely."""
    draw = rng.random()
    wanted = next(count for share, count in REASON_COUNT if draw < share)
    left = dict(weights)
    cited: list[str] = []
    while left and len(cited) < wanted:
        pick = rng.random() * sum(left.values())
        codes = list(left)
        chosen = codes[-1]
        for code in codes:
            pick -= left[code]
            if pick <= 0:
                chosen = code
                break
        cited.append(chosen)
        del left[chosen]
    return cited


def _rated(
    rng: random.Random, answers: list[DrawnAnswer], latent: dict[str, float], keys: Sequence[str]
) -> dict[str, int]:
    """Answer the attribute ratings a respondent does not skip; the ratings given."""
    given = {}
    for key in keys:
        if rng.random() < RATING_ANSWERED:
            rating = min(5, max(1, round(3.8 + 0.9 * latent[key])))
            given[key] = rating
            answers.append((key, float(rating), "", ""))
    return given


def _best_and_worst(
    rng: random.Random, given: dict[str, int], keys: Sequence[str]
) -> tuple[list[str], str]:
    if not given:
        return [], rng.choice(keys)
    ordered = sorted(given, key=lambda k: (-given[k], keys.index(k)))
    return [k for k in ordered if given[k] >= 4][:2], ordered[-1]


def service_answers(rng: random.Random, s: Situation, *, with_wait: bool) -> list[DrawnAnswer]:
    """A branch or call respondent's answers (page 1 only when the response stays partial)."""
    gauss = rng.gauss
    random_ = rng.random
    call = s.setting == "call"
    queue = not call and s.weekday == 0 and s.hour in (9, 10)
    december = s.day.month == 12
    app = random_() < app_problem_chance(s.day, s.setting)
    fees = random_() < (0.08 if s.tier == "business" else 0.05)
    transferred = call and random_() < 0.1
    speed = (
        gauss(0.2, 0.9)
        + QUEUE_ON_SPEED * queue
        + DECEMBER_ON_SPEED * december
        + 0.5 * s.unit_effect
        - 0.6 * transferred
    )
    competence = gauss(0.25, 0.9) + s.employee_effect + 0.3 * s.unit_effect
    friendliness = 0.3 * competence + gauss(0.25, 0.85) + 0.8 * s.employee_effect
    clarity = 0.4 * competence + gauss(0.05, 0.85) - 0.4 * app
    # Speed and competence weigh most: the structure driver analysis should recover.
    overall = (
        0.42 * speed
        + 0.36 * competence
        + 0.14 * friendliness
        + 0.12 * clarity
        + 0.45 * s.unit_effect
        + gauss(0.0, 0.6)
        - 1.3 * app
        - 1.0 * fees
        + DECEMBER_OVERALL * december
    )
    ltr = _scale(8.3 + 2.0 * overall, 0, 10)
    loyalty = _loyalty(ltr)
    answers: list[DrawnAnswer] = [("ltr", float(ltr), "", "")]
    reasons: list[str] = []
    if ltr <= 6 and random_() < 0.9:
        weights = {
            "waiting_time": 0.25 + 1.6 * max(0.0, -speed) + 1.2 * queue,
            "staff_attitude": 0.1 + 1.3 * max(0.0, -friendliness),
            "wrong_information": 0.15 + 1.0 * max(0.0, -clarity) + 0.6 * max(0.0, -competence),
            "fees": 0.15 + 3.0 * fees,
            "app_problems": 0.04 + 4.0 * app,
            "process_complex": 0.3 + 0.4 * bool(s.journey),
            "opening_hours": 0.12,
            "transfers": 0.1 + 3.0 * transferred,
        }
        options = CALL_REASONS if call else BRANCH_REASONS
        reasons = _cite(rng, {code: weights[code] for code in options})
        answers.extend(("reasons", None, "", code) for code in reasons)
    if not s.complete:
        return answers
    if call:
        if random_() < 0.95:
            csat = _scale(3.9 + 1.05 * overall + gauss(0, 0.45), 1, 5)
            answers.append(("csat", float(csat), "", ""))
        if random_() < 0.93:
            ease = 3.8 + 0.6 * clarity + 0.5 * overall - 0.9 * app - 0.8 * transferred
            answers.append(("ces", float(_scale(ease + gauss(0, 0.5), 1, 5)), "", ""))
    latent = {"speed": speed, "competence": competence, "friendliness": friendliness}
    latent["clarity"] = clarity
    given = _rated(rng, answers, latent, RATINGS)
    if with_wait and random_() < 0.8:
        minutes = math.exp(gauss(1.7, 0.3) - 0.55 * speed + 0.8 * queue)
        answers.append(("wait_minutes", float(_scale(minutes, 0, 120)), "", ""))
    resolved = random_() < 1 / (1 + math.exp(-(1.3 + 1.6 * overall - 1.0 * app)))
    if random_() < 0.9:
        answers.append(("resolved", 1.0 if resolved else 0.0, "", ""))
    if random_() < COMMENT_CHANCE[loyalty]:
        best, worst = _best_and_worst(rng, given, RATINGS)
        comment = verbatim(
            rng,
            language=s.language,
            loyalty=loyalty,
            reasons=reasons,
            best=best,
            worst=worst,
            setting=s.setting,
            app_release=app and app_release_live(s.day),
            resolved=resolved,
        )
        answers.append(("comment", None, comment, ""))
    return answers


def relationship_answers(rng: random.Random, s: Situation) -> list[DrawnAnswer]:
    """A relationship respondent's answers: the bank, maybe a competitor, attribute ratings."""
    gauss = rng.gauss
    app = rng.random() < app_problem_chance(s.day, "relationship")
    wealthy = 0.2 if s.tier in {"affluent", "private"} else 0.0
    latent = {
        "products": gauss(0.1, 0.9) + wealthy,
        "fees": gauss(-0.35, 1.0) - 0.2 * (s.tier == "business"),
        "digital": gauss(0.25, 0.9) - 1.5 * app,
        "branch_service": gauss(0.1, 0.9) + 0.7 * s.unit_effect,
    }
    overall = (
        0.28 * latent["products"]
        + 0.3 * latent["fees"]
        + 0.26 * latent["digital"]
        + 0.22 * latent["branch_service"]
        + 0.4 * s.unit_effect
        + gauss(0.0, 0.65)
    )
    ltr = _scale(7.9 + 2.1 * overall, 0, 10)
    loyalty = _loyalty(ltr)
    answers: list[DrawnAnswer] = [("ltr", float(ltr), "", "")]
    # Customers mostly know the competitor of their own country; the survey asks about Danubia
    # (Romanian) before Vistula (Polish).
    home = 0.55 if s.country == "RO" else 0.06
    for key, chance in (("ltr_danubia", home), ("ltr_vistula", 0.61 - home)):
        if rng.random() < chance:
            score = _scale(gauss(COMPETITOR_MEANS[key], 2.3), 0, 10)
            answers.append((key, float(score), "", ""))
    reasons: list[str] = []
    if ltr <= 6 and rng.random() < 0.9:
        weights = {
            "fees": 0.3 + 1.5 * max(0.0, -latent["fees"]),
            "product_offer": 0.2 + 1.0 * max(0.0, -latent["products"]),
            "app_problems": 0.05 + 3.0 * app,
            "waiting_time": 0.15 + 1.0 * max(0.0, -latent["branch_service"]),
            "staff_attitude": 0.1 + 0.5 * max(0.0, -latent["branch_service"]),
            "wrong_information": 0.15,
            "process_complex": 0.25,
        }
        reasons = _cite(rng, {code: weights[code] for code in RELATIONSHIP_REASONS})
        answers.extend(("reasons", None, "", code) for code in reasons)
    if not s.complete:
        return answers
    given = _rated(rng, answers, latent, RELATIONSHIP_RATINGS)
    if rng.random() < COMMENT_CHANCE[loyalty]:
        best, worst = _best_and_worst(rng, given, RELATIONSHIP_RATINGS)
        comment = verbatim(
            rng,
            language=s.language,
            loyalty=loyalty,
            reasons=reasons,
            best=best,
            worst=worst,
            setting="relationship",
            app_release=app and app_release_live(s.day),
        )
        answers.append(("comment", None, comment, ""))
    return answers
