from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Installed only where the package exists (development), for its commands."""

    name = "sandbox"
    verbose_name = "Sandbox (development only)"
