from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "sonda.api"
    label = "api"
