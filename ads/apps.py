from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "ads"
    verbose_name = "Ads"

    def ready(self) -> None:
        # The event worker learns to store AdShown, AdClicked and AdNoFill.
        from . import writers  # noqa: F401
