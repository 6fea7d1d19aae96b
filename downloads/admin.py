from __future__ import annotations

from django.contrib import admin

from config.admin_mixins import ExportAdmin
from downloads.models import CachedMedia


@admin.register(CachedMedia)
class CachedMediaAdmin(ExportAdmin):
    list_display = ("media_key", "format", "kind", "size", "duration", "created_at", "last_used_at")
    list_filter = ("format", "kind")
    search_fields = ("media_key", "title", "file_unique_id")
    readonly_fields = ("created_at", "last_used_at")
