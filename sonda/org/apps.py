from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "sonda.org"
    label = "org"
