"""SLA pages, mounted at /loop/sla/."""

from django.urls import path

from sonda.loop import sla_settings_views
from sonda.loop import sla_views as views

app_name = "loop_sla"
urlpatterns = [
    path("", views.overdue_page, name="overdue"),
    path("attainment/", views.attainment_page, name="attainment"),
    path("settings/", sla_settings_views.settings_page, name="settings"),
]
