from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "sonda.imports"
    label = "imports"
