from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BackOfficeConfig(AppConfig):
    """Back-office wiring that belongs to no single app: who may do what in the admin."""

    name = "config"
    label = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        # Imported here, not at the top: it uses the auth models, which exist only once
        # the app registry is ready.
        from django.contrib import admin

        from config import admin_access, ytdlp  # noqa: F401  (ytdlp registers its checks)

        # Listed after django.contrib.admin and django_rq, so their registrations exist.
        admin_access.queue_admin_install(admin.site)
        post_migrate.connect(
            admin_access.transfer_permissions_on_migrate, dispatch_uid="backoffice-permissions"
        )
