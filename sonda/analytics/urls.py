"""Dashboards, mounted at /dashboards/."""

from django.urls import path

from sonda.analytics import views

app_name = "dashboards"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("units/", views.units, name="units"),
    path("employees/", views.employees, name="employees"),
    path("employees/<int:person_id>/", views.employee, name="employee"),
    path("weekday-hour/", views.heatmap, name="heatmap"),
    path("below-average/", views.below_average, name="below_average"),
]
