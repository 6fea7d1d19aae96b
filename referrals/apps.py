from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        # Registers the referrals table's writer with the analytics worker (models must
        # be loaded first, hence here rather than at the top).
        import referrals.writers  # noqa: F401
