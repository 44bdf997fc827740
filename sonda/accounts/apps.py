from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sonda.accounts"
    label = "accounts"
