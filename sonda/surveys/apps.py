from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "sonda.surveys"
    label = "surveys"

    def ready(self) -> None:
        # A customer's responses and answers are exported, erased and merged with their profile.
        from sonda.surveys import personal_data

        personal_data.register_source()
