from django.apps import AppConfig


class AbtestsConfig(AppConfig):
    name = "abtests"
    verbose_name = "A/B tests"

    def ready(self) -> None:
        # Registers the event worker's writers for the experiment tables.
        from abtests import writers  # noqa: F401
