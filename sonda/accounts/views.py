"""Pages for signing in, the profile, organisations, members, API tokens and the audit log."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from sonda.accounts.access import ADMINISTER, Scope
from sonda.accounts.middleware import SESSION_ORGANISATION_KEY, current_scope
from sonda.accounts.models import Role, User
from sonda.accounts.selectors import (
    api_token_list,
    audit_event_list,
    membership_list,
    organisations_for_user,
)
from sonda.accounts.services import (
    api_token_create,
    api_token_revoke,
    audit_record,
    login_failure_record,
    member_role_set,
    membership_remove,
    user_profile_update,
)
from sonda.core.errors import Conflict, SondaError, ValidationFailed
from sonda.org.selectors import unit_list
from sonda.web.pages import add_service_error, paginate, scoped_page


def _client_ip(request: HttpRequest) -> str | None:
    address: str | None = request.META.get("REMOTE_ADDR")
    return address or None


# Signing in and out, password reset ------------------------------------------------------------


class EmailAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, asking for the email address that identifies a user."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = gettext_lazy("Email")
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email"}
        )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        scope = current_scope(self.request)
        audit_record(
            action="user.logged_in",
            organisation=scope.organisation if scope is not None else None,
            actor=form.get_user(),
            ip_address=_client_ip(self.request),
        )
        return response

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        login_failure_record(
            email=str(form.data.get("username", "")), ip_address=_client_ip(self.request)
        )
        return super().form_invalid(form)


class LocalisedPasswordResetForm(PasswordResetForm):
    """Sends the reset email in the language the user chose, not the visitor's browser's."""

    email = forms.EmailField(
        label=gettext_lazy("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user: User = context["user"]
        with translation.override(user.language or settings.LANGUAGE_CODE):
            super().send_mail(
                subject_template_name,
                email_template_name,
                context,
                from_email,
                to_email,
                html_email_template_name,
            )


class PasswordResetView(auth_views.PasswordResetView):
    form_class = LocalisedPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


# The user's own profile and organisation ---------------------------------------------------------


class ProfileForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=200, required=False)
    language = forms.ChoiceField(
        label=gettext_lazy("Language of your pages and emails"), choices=settings.LANGUAGES
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = ProfileForm(
        request.POST or None, initial={"full_name": user.full_name, "language": user.language}
    )
    if request.method == "POST" and form.is_valid():
        try:
            user_profile_update(
                user=user,
                full_name=form.cleaned_data["full_name"],
                language=form.cleaned_data["language"],
            )
        except SondaError as exc:
            add_service_error(form, exc)
        else:
            # The confirmation is already in the language just chosen.
            with translation.override(user.language):
                messages.success(request, _("Your profile is saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_POST
def switch_organisation(request: HttpRequest) -> HttpResponse:
    """Work in another of the user's organisations; one they do not belong to is not found."""
    user = request.user
    assert isinstance(user, User)
    try:
        organisation_id = int(request.POST.get("organisation", ""))
    except ValueError as exc:
        raise Http404(_("No such organisation.")) from exc
    organisation = organisations_for_user(user).filter(pk=organisation_id).first()
    if organisation is None:
        raise Http404(_("No such organisation."))
    request.session[SESSION_ORGANISATION_KEY] = organisation.pk
    # The page the user was on belongs to the previous organisation: start from home.
    return redirect("home")


# Members and roles ---------------------------------------------------------------------------


def _unit_choices(scope: Scope) -> list[tuple[str, str]]:
    units = unit_list(scope=scope)
    return [("", "—")] + [(str(u.pk), f"{'— ' * u.depth}{u.name} ({u.code})") for u in units]


class MemberForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)
    unit = forms.TypedChoiceField(
        label=gettext_lazy("Unit managed"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=gettext_lazy("Only for unit managers: the root of the subtree they see."),
    )

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = _unit_choices(scope)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("role") == Role.MANAGER and not data.get("unit"):
            self.add_error("unit", _("A unit manager needs the unit they manage."))
        if data.get("role") and data.get("role") != Role.MANAGER and data.get("unit"):
            self.add_error("unit", _("Only unit managers have a unit."))
        return data


def _member_role_save(request: HttpRequest, scope: Scope, form: MemberForm) -> bool:
    try:
        _membership, created = member_role_set(
            scope=scope,
            email=form.cleaned_data["email"],
            role=Role(form.cleaned_data["role"]),
            unit_id=form.cleaned_data["unit"],
        )
    except (ValidationFailed, Conflict) as exc:
        add_service_error(form, exc)
        return False
    email = form.cleaned_data["email"]
    if created:
        messages.success(request, _("%(email)s is now a member.") % {"email": email})
    else:
        messages.success(request, _("The role of %(email)s is changed.") % {"email": email})
    return True


@scoped_page
def members(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(request, "accounts/members.html", {"members": membership_list(scope=scope)})


@scoped_page
def member_add(request: HttpRequest, scope: Scope) -> HttpResponse:
    scope.require(ADMINISTER, "manage members")
    form = MemberForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid() and _member_role_save(request, scope, form):
        return redirect("accounts:members")
    return render(request, "accounts/member_form.html", {"form": form, "membership": None})


@scoped_page
def member_change(request: HttpRequest, scope: Scope, membership_id: int) -> HttpResponse:
    membership = membership_list(scope=scope).filter(pk=membership_id).first()
    if membership is None:
        raise Http404(_("No such member."))
    form = MemberForm(
        request.POST or None,
        scope=scope,
        initial={
            "email": membership.user.email,
            "role": membership.role,
            "unit": membership.unit_id,
        },
    )
    # The member is the one in the URL, whatever the form says.
    form.fields["email"].disabled = True
    if request.method == "POST" and form.is_valid() and _member_role_save(request, scope, form):
        return redirect("accounts:members")
    return render(request, "accounts/member_form.html", {"form": form, "membership": membership})


@scoped_page
@require_POST
def member_remove(request: HttpRequest, scope: Scope, membership_id: int) -> HttpResponse:
    try:
        membership_remove(scope=scope, membership_id=membership_id)
    except Conflict as exc:
        messages.error(request, exc.errors[0].message if exc.errors else exc.detail)
    else:
        messages.success(request, _("The member is removed."))
    return redirect("accounts:members")


# API tokens ------------------------------------------------------------------------------------


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. “CRM integration”."),
    )


@scoped_page
def tokens(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = api_token_create(
                scope=scope, name=form.cleaned_data["name"], ip_address=_client_ip(request)
            )
        except ValidationFailed as exc:
            add_service_error(form, exc)
        else:
            # The secret is shown on this one answer only; nothing may keep a copy of the page.
            response = render(request, "accounts/token_created.html", {"issued": issued})
            response["Cache-Control"] = "no-store"
            return response
    return render(
        request, "accounts/tokens.html", {"form": form, "tokens": api_token_list(scope=scope)}
    )


@scoped_page
@require_POST
def token_revoke(request: HttpRequest, scope: Scope, token_id: int) -> HttpResponse:
    token = api_token_revoke(scope=scope, token_id=token_id, ip_address=_client_ip(request))
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return HttpResponseRedirect(reverse("accounts:tokens"))


# Audit log -------------------------------------------------------------------------------------


@scoped_page
def audit_log(request: HttpRequest, scope: Scope) -> HttpResponse:
    action = request.GET.get("action", "").strip()
    events = audit_event_list(scope=scope, action=action)
    actions = (
        audit_event_list(scope=scope).order_by("action").values_list("action", flat=True).distinct()
    )
    return render(
        request,
        "accounts/audit_log.html",
        {"page_obj": paginate(request, events), "actions": list(actions), "action": action},
    )
