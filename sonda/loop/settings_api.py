"""The loop settings over the API (/api/v1/loop-settings): the executives' monthly callbacks and
the follow-up survey sent after a case closes.

Admins and analysts read and change them; every other member is refused (403). Handlers parse,
call `sonda.loop.follow_up`, and answer; a refused value is a 422 problem naming its field.
"""

from django.http import HttpRequest
from ninja import Field, Router, Schema

from sonda.api.auth import scope_of
from sonda.api.schemas import InputSchema
from sonda.loop.follow_up import loop_settings_get, loop_settings_update
from sonda.loop.models import LoopSettings

router = Router(tags=["loop settings"])


class SurveyRef(Schema):
    id: int
    name: str


class LoopSettingsOut(Schema):
    executive_callbacks_per_month: int = Field(
        description="Detractor cases each executive calls back a month (0 to 100)."
    )
    follow_up_survey_id: int | None = Field(
        description="The survey sent after a case closes (\u201cdid we fix it?\u201d); null: none."
    )
    follow_up_survey: SurveyRef | None


class LoopSettingsIn(InputSchema):
    executive_callbacks_per_month: int = Field(description="0 to 100.")
    follow_up_survey_id: int | None = Field(
        description=(
            "A published, unarchived survey of the organisation, sent to the customer when a "
            "case closes; null: no follow-up."
        )
    )


@router.get("", response=LoopSettingsOut, summary="Get the loop settings")
def loop_settings_read(request: HttpRequest) -> LoopSettings:
    return loop_settings_get(scope=scope_of(request))


@router.put(
    "",
    response=LoopSettingsOut,
    summary="Set the executives' monthly callbacks and the follow-up survey",
    description=(
        "The follow-up survey applies to cases closed from now on. A refused value is named in "
        "the problem's `errors[].field`: `executive_callbacks_per_month` or "
        "`follow_up_survey_id`; then nothing changes."
    ),
)
def loop_settings_put(request: HttpRequest, payload: LoopSettingsIn) -> LoopSettings:
    return loop_settings_update(
        scope=scope_of(request),
        executive_callbacks_per_month=payload.executive_callbacks_per_month,
        follow_up_survey_id=payload.follow_up_survey_id,
    )
