"""Listening reports, mounted at /listening/."""

from django.urls import path

from sonda.listening import report_views as views

app_name = "listening_reports"
urlpatterns = [
    path("events/", views.event_list_page, name="events"),
    path("events/<int:event_id>/", views.event_detail, name="event"),
    path("simulate/", views.simulate_page, name="simulate"),
    path("planner/", views.planner_page, name="planner"),
    path("response-rates/", views.rates_page, name="rates"),
    path("invitations/", views.invitation_list_page, name="invitations"),
    path("non-responders/", views.non_responders_page, name="non_responders"),
    path(
        "non-responders/download/",
        views.non_responders_download,
        name="non_responders_download",
    ),
]
