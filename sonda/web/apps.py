from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "sonda.web"
    label = "web"
