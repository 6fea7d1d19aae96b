from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        # Registers the slow-query logger and the dashboard's configuration check.
        from . import checks, slowlog  # noqa: F401
