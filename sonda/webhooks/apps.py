from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "sonda.webhooks"
    label = "webhooks"
