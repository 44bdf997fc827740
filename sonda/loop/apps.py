from django.apps import AppConfig


class LoopConfig(AppConfig):
    name = "sonda.loop"
    label = "loop"
