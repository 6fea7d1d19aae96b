from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        # Registers the slow-query logger and the dashboard's configuration check.
        from config.health import health_report_register

        from . import checks, slowlog  # noqa: F401
        from .health import pipeline_health

        health_report_register(pipeline_health)

        # The insights: their rollup refresher, endpoints and pages.
        from .insights import dashboard, rollups  # noqa: F401
