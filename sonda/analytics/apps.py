from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    # An app so that the dashboards' templates, template tags and static files are found.
    name = "sonda.analytics"
    label = "analytics"
