from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "sonda.customers"
    label = "customers"

    def ready(self) -> None:
        # The customers app's own personal data joins the registry like any other app's.
        from sonda.customers import personal_data

        personal_data.register_source()
