from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "ads"
    verbose_name = "Ads"

    def ready(self) -> None:
        # The event worker writes this app's tables through writers registered here:
        # impressions, clicks and no fills; payments and refunds. It also adds its
        # "Ads and money" section to the staff dashboard.
        from ads import dashboard, payment_writers, writers

        assert dashboard and payment_writers and writers
