from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "sonda.privacy"
    label = "privacy"
