from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from import_export.admin import (
    ExportActionMixin,
    ExportActionModelAdmin,
    ExportMixin,
    ImportExportModelAdmin,
)


def export_too_large_message() -> str:
    limit = settings.EXPORT_MAX_ROWS
    return (
        f"This export would contain more than {limit:,} rows, the limit (EXPORT_MAX_ROWS)"
        " that keeps it within the web server's request timeout. Narrow it with the"
        " filters, the date hierarchy or a search on the list page and export again."
    )


def export_too_large(queryset) -> bool:
    # Counts at most limit + 1 rows: an exact COUNT(*) of a history table with
    # millions of rows would itself take seconds.
    limit = settings.EXPORT_MAX_ROWS
    return queryset.order_by()[: limit + 1].count() > limit


class CappedExportMixin(ExportMixin):
    """Exports run inside the web request, so they stop at ``EXPORT_MAX_ROWS`` rows.

    A larger export would outlive gunicorn's worker timeout (100,000 downloads took 23 s
    and 100 MB); the admin gets a message saying how to narrow it instead of a file.
    """

    def get_export_data(self, file_format, request, queryset, **kwargs):
        if export_too_large(queryset):
            # export_action shows a ValueError's text as an error message on its form.
            raise ValueError(export_too_large_message())
        return super().get_export_data(file_format, request, queryset, **kwargs)


class CappedExportActionMixin(CappedExportMixin, ExportActionMixin):
    def export_admin_action(self, request, queryset):
        # The action form carries every selected key; refuse before building it.
        if export_too_large(queryset):
            self.message_user(request, export_too_large_message(), messages.ERROR)
            return None
        return super().export_admin_action(request, queryset)


class ExportAdmin(CappedExportActionMixin, ExportActionModelAdmin):
    """A model admin with the "export" button and action, capped."""


class ImportExportAdmin(CappedExportMixin, ImportExportModelAdmin):
    """A model admin with import and export (capped)."""


class ProtectedHistoryMixin:
    """Explain a refused deletion by the history that protects it.

    Rows kept as history (referrals) are ``PROTECT``ed and read-only in the admin, so
    Django's confirmation page would blame a missing delete permission even for a
    superuser. When protected rows exist nothing is deleted whatever the permissions
    (Django checks that first), so the page lists them as the reason instead.
    """

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            perms_needed = set()
        return deleted, counts, perms_needed, protected


class HistoryAdmin(ExportAdmin):
    """Rows that record what happened: exportable, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
