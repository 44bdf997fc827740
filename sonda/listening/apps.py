from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "sonda.listening"
    label = "listening"

    def ready(self) -> None:
        # A customer's invitations are exported, erased and merged with their profile.
        from sonda.listening import personal_data

        personal_data.register_source()
