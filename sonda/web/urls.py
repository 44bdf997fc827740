from django.contrib.auth import views as auth_views
from django.urls import path

from sonda.accounts import views as account_views
from sonda.web import views

# Signing in and password reset keep Django's URL names without a namespace: the settings
# (LOGIN_URL, LOGOUT_REDIRECT_URL) and Django's auth views refer to them by these names.
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        account_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        account_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
