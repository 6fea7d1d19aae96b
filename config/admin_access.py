"""Who may export, import and use the queue dashboard in the back office.

Being staff only opens the admin. Each model's export and import need their own
permission (``<app>.export_<model>``, ``<app>.import_<model>``; django-import-export
checks them through ``IMPORT_EXPORT_*_PERMISSION_CODE``), created here after every
``migrate`` so they can be granted like any other. The django-rq dashboard, every
queue page and every queue action (empty, requeue, delete, stop) are for superusers
and holders of django-rq's own ``django_rq.admin`` permission; django-rq itself lets
any staff member in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard
from import_export.admin import ExportMixin, ImportMixin

from config import platform_alerts, ytdlp

EXPORT_CODE = "export"
IMPORT_CODE = "import"
QUEUE_PERMISSION = "django_rq.admin"
# django-rq's views that also accept its API token (RQ_API_TOKEN) instead of a session.
_TOKEN_VIEWS = {"django_rq_home_json", "django_rq_metrics"}


def queue_access_allowed(user: Any) -> bool:
    return bool(
        user.is_active and user.is_staff and (user.is_superuser or user.has_perm(QUEUE_PERMISSION))
    )


class QueueDashboardAdmin(QueueAdmin):
    """django-rq's dashboard, limited to superusers and ``django_rq.admin`` holders."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return queue_access_allowed(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return queue_access_allowed(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return queue_access_allowed(request.user)

    def get_urls(self) -> list:
        urls = super().get_urls()
        for pattern in urls:
            if pattern.name in _TOKEN_VIEWS:
                pattern.callback = _session_needs_permission(pattern.callback)
            else:
                pattern.callback = _queue_access_required(pattern.callback)
        return urls


def _queue_access_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Anonymous visitors go on to the admin's own login redirect inside ``view``.
        if request.user.is_authenticated and not queue_access_allowed(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded


def _session_needs_permission(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # django-rq admits any staff session here; without the permission the request
        # counts as anonymous, so only the API token can still open it.
        if request.user.is_authenticated and not queue_access_allowed(request.user):
            request.user = AnonymousUser()
        return view(request, *args, **kwargs)

    return guarded


def queue_admin_install(site: admin.AdminSite) -> None:
    """Put the restricted dashboard in place of django-rq's own registration."""
    if site.is_registered(Dashboard):
        site.unregister(Dashboard)
    site.register(Dashboard, QueueDashboardAdmin)


def transfer_permissions_ensure(*, app_label: str, using: str, site: admin.AdminSite) -> int:
    """Create the export/import permissions of ``app_label``'s admin models; returns how
    many were new. Idempotent (runs after every migrate)."""
    created = 0
    for model, model_admin in site._registry.items():
        if model._meta.app_label != app_label:
            continue
        codes = [code for code, mixin in ((EXPORT_CODE, ExportMixin), (IMPORT_CODE, ImportMixin))
                 if isinstance(model_admin, mixin)]  # fmt: skip
        if not codes:
            continue
        content_type = ContentType.objects.db_manager(using).get_for_model(
            model, for_concrete_model=False
        )
        for code in codes:
            _, new = Permission.objects.using(using).get_or_create(
                content_type=content_type,
                codename=f"{code}_{model._meta.model_name}",
                defaults={"name": f"Can {code} {model._meta.verbose_name_raw}"},
            )
            created += new
    return created


def transfer_permissions_on_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` receiver (connected in ``config.apps``)."""
    transfer_permissions_ensure(app_label=sender.label, using=using, site=admin.site)


def back_office_context(request: HttpRequest) -> dict[str, Any]:
    """Template context of admin pages for staff: the yt-dlp version and the platforms
    demanding sign-in (a callable, so Redis is asked only when a page shows it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_staff:
        return {}
    return {
        "ytdlp_version": ytdlp.ytdlp_version(),
        "signin_demands": platform_alerts.signin_demands,
    }
