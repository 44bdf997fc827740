from django.apps import AppConfig


class LoopConfig(AppConfig):
    name = "sonda.loop"
    label = "loop"

    def ready(self) -> None:
        # A customer's cases are exported, erased (the notes' words) and merged with their profile.
        from sonda.loop import personal_data

        personal_data.register_source()
