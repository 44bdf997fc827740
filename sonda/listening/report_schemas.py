"""API schemas of the listening reports: the dry run, the sample-size planner, response rates and
non-responders. Shares are fractions from 0 to 1; margins are NPS points at 95%."""

from datetime import date, datetime

from ninja import Field, Schema

from sonda.api.schemas import InputSchema
from sonda.listening.planning import DEFAULT_MARGIN


class SimulationIn(InputSchema):
    date_from: date = Field(description="The first day of events replayed (organisation time).")
    date_to: date = Field(description="The last day, included; at most 366 days after the first.")
    rule_ids: list[int] = Field(
        default_factory=list,
        description="Trigger rules to simulate as if switched on; the active ones always run.",
    )
    margin_target: float = Field(
        DEFAULT_MARGIN, gt=0, le=100, description="The NPS margin of error to aim for, in points."
    )


class RuleOutcomeOut(Schema):
    rule_id: int
    name: str
    status: str
    survey_id: int
    survey_name: str
    invitations: int
    skips: dict[str, int]
    left_out: str = Field(description="Why the rule cannot invite anyone; empty when it can.")


class DayUnitChannelOut(Schema):
    day: date
    unit_id: int | None
    unit_name: str
    channel: str
    invitations: int


class ResponseRateOut(Schema):
    survey_id: int
    survey_name: str
    rate: float | None
    source: str = Field(description="survey, organisation or none: whose history the rate is.")
    sent: int
    completed: int


class UnitMonthOut(Schema):
    month: str = Field(description="YYYY-MM")
    unit_id: int | None
    unit_name: str
    survey_id: int
    survey_name: str
    invitations: int
    expected_responses: float
    variance: float
    variance_source: str = Field(description="history or worst_case")
    history_answers: int
    margin: float | None = Field(description="± NPS points at 95%; null without responses.")
    needed_responses: int
    misses_target: bool = Field(description="The margin is wider than the target, or unknown.")


class SimulationOut(Schema):
    date_from: date
    date_to: date
    events: int
    invitations: int
    expected_responses: float
    margin_target: float
    rules: list[RuleOutcomeOut]
    by_day_unit_channel: list[DayUnitChannelOut]
    by_channel: dict[str, int]
    skips: dict[str, int] = Field(description="Skipped decisions by reason.")
    skips_by_contact_rule: dict[str, int]
    response_rates: list[ResponseRateOut]
    by_unit_month: list[UnitMonthOut]
    notes: list[str]


class SampleSizeQuery(Schema):
    margin: float = Field(DEFAULT_MARGIN, gt=0, description="± NPS points at 95%.")
    promoters: float | None = Field(None, ge=0, le=1, description="Expected promoter share.")
    detractors: float | None = Field(None, ge=0, le=1, description="Expected detractor share.")
    survey_id: int | None = Field(
        None, description="Take the variance from this survey's NPS answers."
    )
    response_rate: float | None = Field(None, gt=0, le=1, description="Completed / sent.")
    population: int | None = Field(
        None, ge=1, description="Customers in the population (finite-population correction)."
    )


class SampleSizeOut(Schema):
    margin: float
    variance: float
    variance_source: str = Field(description="survey, mix or worst_case")
    history_answers: int
    promoters: float | None
    detractors: float | None
    responses_needed: int
    population: int | None
    responses_needed_in_population: int | None
    response_rate: float | None
    invitations_needed: int | None
    notes: list[str]


class RatesQuery(Schema):
    by: str = Field("survey", description="survey, delivery, channel, unit or segment")
    segment: str = Field("", max_length=64, description="The customer attribute for by=segment.")
    date_from: date | None = Field(None, description="Invitations created on or after this day.")
    date_to: date | None = Field(None, description="…and on or before this day.")
    survey_id: int | None = None


class RateRowOut(Schema):
    key: str
    label: str
    sent: int
    delivered: int
    opened: int
    started: int
    completed: int
    minimum_base: int
    too_few: bool = Field(description="Fewer invitations than the minimum base: no rate given.")
    rate: float | None
    rate_low: float | None = Field(description="Wilson 95% interval, lower end.")
    rate_high: float | None


class RatesOut(Schema):
    by: str
    segment: str
    date_from: date | None
    date_to: date | None
    rows: list[RateRowOut]
    total: RateRowOut


class NonRespondersQuery(Schema):
    date_from: date | None = None
    date_to: date | None = None
    min_invitations: int = Field(3, ge=1, le=1000)
    segment: str = Field("", max_length=64, description="A customer attribute to show and filter.")
    segment_value: str = Field("", max_length=100)


class NonResponderOut(Schema):
    customer_id: int
    full_name: str
    segment: str
    invitations: int
    last_invited_at: datetime
