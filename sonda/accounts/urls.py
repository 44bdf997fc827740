from django.urls import path

from sonda.accounts import views

app_name = "accounts"
urlpatterns = [
    path("account/profile/", views.profile, name="profile"),
    path("account/organisation/", views.switch_organisation, name="switch_organisation"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("members/", views.members, name="members"),
    path("members/add/", views.member_add, name="member_add"),
    path("members/<int:membership_id>/", views.member_change, name="member_change"),
    path("members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("audit/", views.audit_log, name="audit"),
]
