from __future__ import annotations

from import_export.admin import ExportActionModelAdmin


class HistoryAdmin(ExportActionModelAdmin):
    """Rows that record what happened: exportable, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
