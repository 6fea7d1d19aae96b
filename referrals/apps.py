from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        # Registers the referrals table's writer with the analytics worker, and the
        # dashboard's referrals section (models must be loaded first, hence here).
        import referrals.dashboard
        import referrals.writers  # noqa: F401
