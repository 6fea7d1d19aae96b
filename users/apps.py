from django.apps import AppConfig


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "users"

    def ready(self) -> None:
        # Registers the users table's writer with the analytics worker (models must be
        # loaded first, hence here rather than at the top).
        import users.writers  # noqa: F401
