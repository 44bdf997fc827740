"""The loop settings page (/loop/settings/): the executives' monthly callbacks and the follow-up
survey sent after a case closes ("did we fix it?").

Admins and analysts read and change them; every other member is refused (403), as the loop's
configuration pages refuse a change and as /api/v1/loop-settings does. The form only turns what
was typed into values; the service (`sonda.loop.follow_up.loop_settings_update`) judges them, so
the page and the API accept the same settings, and a refusal comes back next to its field.
"""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from sonda.accounts.access import CONFIGURE, Scope
from sonda.core.errors import SondaError
from sonda.loop.follow_up import follow_up_survey_choices, loop_settings_get, loop_settings_update
from sonda.web.pages import add_service_error, scoped_page


class LoopSettingsForm(forms.Form):
    executive_callbacks_per_month = forms.IntegerField(
        label=gettext_lazy("Callbacks per executive per month"),
        help_text=gettext_lazy(
            "Detractor cases each executive calls back personally every month (0 to 100)."
        ),
    )
    follow_up_survey = forms.TypedChoiceField(
        label=gettext_lazy("Follow-up survey"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy(
            "Sent to the customer when a case closes, to ask whether it was fixed; the answer is "
            "linked to the case. One of the published surveys."
        ),
    )

    def __init__(self, *args: Any, surveys: Sequence[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["follow_up_survey"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("None: no follow-up")), *surveys]


@require_http_methods(["GET", "POST"])
@scoped_page
def loop_settings_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(CONFIGURE, "change the loop settings")
    current = loop_settings_get(scope=scope)
    surveys = [(survey.pk, survey.name) for survey in follow_up_survey_choices(scope=scope)]
    if current.follow_up_survey is not None and current.follow_up_survey_id not in dict(surveys):
        # Archived since it was chosen: still shown as the choice it is, refused if kept.
        surveys.append((current.follow_up_survey.pk, current.follow_up_survey.name))
    form = LoopSettingsForm(
        request.POST or None,
        surveys=surveys,
        initial={
            "executive_callbacks_per_month": current.executive_callbacks_per_month,
            "follow_up_survey": current.follow_up_survey_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            loop_settings_update(
                scope=scope,
                executive_callbacks_per_month=form.cleaned_data["executive_callbacks_per_month"],
                follow_up_survey_id=form.cleaned_data["follow_up_survey"],
            )
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The loop settings are saved."))
            return redirect("loop:settings")
    return render(request, "loop/loop_settings.html", {"form": form, "settings": current})
