from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sonda.core"
    label = "core"
