from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "ads"
    verbose_name = "Ads"

    def ready(self) -> None:
        # The event worker writes this app's tables through writers registered here:
        # impressions, clicks and no fills; payments and refunds.
        from ads import payment_writers, writers

        assert payment_writers and writers
