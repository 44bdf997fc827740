from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "sonda.demo"
    label = "demo"
