"""One's own notifications at /loop/notifications/: the list (unread first to the eye), opening
one (marks it read), marking all read, and how one wants to hear (email at once, a daily digest,
both, or in the app only). Everyone signed in has their own; nobody sees another's."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from sonda.accounts.access import Scope
from sonda.loop.emails import notification_path, notification_text
from sonda.loop.notifications import (
    notification_list,
    notification_preferences,
    notification_preferences_set,
    notification_unread_count,
    notifications_mark_read,
)
from sonda.web.pages import paginate, scoped_page


class PreferencesForm(forms.Form):
    email_immediately = forms.BooleanField(
        label=gettext_lazy("Email me each notification at once"), required=False
    )
    daily_digest = forms.BooleanField(
        label=gettext_lazy("Email me a digest of the day's notifications (from 17:00)"),
        required=False,
    )


@require_GET
@scoped_page
def notifications_page(request: HttpRequest, scope: Scope) -> HttpResponse:
    page = paginate(request, notification_list(scope=scope))
    preferences = notification_preferences(scope=scope)
    return render(
        request,
        "loop/notifications.html",
        {
            "page": page,
            "items": [(n, notification_text(n)) for n in page.object_list],
            "unread": notification_unread_count(scope=scope),
            "form": PreferencesForm(
                initial={
                    "email_immediately": preferences.email_immediately,
                    "daily_digest": preferences.daily_digest,
                }
            ),
        },
    )


@require_POST
@scoped_page
def notification_open(request: HttpRequest, scope: Scope, notification_id: int) -> HttpResponse:
    notification = notification_list(scope=scope).filter(pk=notification_id).first()
    if notification is None:
        raise Http404(_("No such notification."))
    notifications_mark_read(scope=scope, notification_ids=[notification.pk])
    return redirect(notification_path(notification))


@require_POST
@scoped_page
def notifications_read(request: HttpRequest, scope: Scope) -> HttpResponse:
    count = notifications_mark_read(scope=scope)
    messages.success(request, _("%(count)d notifications marked read.") % {"count": count})
    return redirect("loop_notifications:list")


@require_POST
@scoped_page
def notification_preferences_save(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = PreferencesForm(request.POST)
    if form.is_valid():
        notification_preferences_set(
            scope=scope,
            email_immediately=form.cleaned_data["email_immediately"],
            daily_digest=form.cleaned_data["daily_digest"],
        )
        messages.success(request, _("Your notification settings are saved."))
    return redirect("loop_notifications:list")
