"""Listening configuration pages, mounted at /listening/ (the reports share the prefix)."""

from django.urls import path

from sonda.listening import views

app_name = "listening"
urlpatterns = [
    path("", views.index, name="index"),
    path("rules/", views.rule_list_page, name="rules"),
    path("rules/new/", views.rule_create_page, name="rule_create"),
    path("rules/<int:rule_id>/", views.rule_detail, name="rule"),
    path("rules/<int:rule_id>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/pause/", views.rule_pause, name="rule_pause"),
    path("rules/<int:rule_id>/resume/", views.rule_resume, name="rule_resume"),
    path("contact-policy/", views.contact_rule_list_page, name="contact_rules"),
    path("contact-policy/new/", views.contact_rule_create_page, name="contact_rule_create"),
    path("contact-policy/<int:rule_id>/edit/", views.contact_rule_edit, name="contact_rule_edit"),
    path(
        "contact-policy/<int:rule_id>/active/",
        views.contact_rule_active,
        name="contact_rule_active",
    ),
    path("quiet-hours/", views.settings_page, name="settings"),
]
