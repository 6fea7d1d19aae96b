from __future__ import annotations

from django.contrib import admin

from analytics.models import ClickEvent, Download, Video
from config.admin_mixins import ExportAdmin, HistoryAdmin


@admin.register(Video)
class VideoAdmin(ExportAdmin):
    list_display = ("video_id", "platform", "title", "total_downloads", "last_download_at")
    list_filter = ("platform", "first_seen_at")
    search_fields = ("video_id", "title", "url")
    readonly_fields = ("first_seen_at", "total_downloads", "last_download_at")
    date_hierarchy = "first_seen_at"


@admin.register(Download)
class DownloadAdmin(HistoryAdmin):
    list_display = (
        "created_at",
        "user_id",
        "video_id",
        "platform",
        "source",
        "format",
        "from_cache",
    )
    list_filter = ("platform", "source", "from_cache", "created_at")
    search_fields = ("=user__user_id", "video__video_id", "=event_id")
    date_hierarchy = "created_at"
    show_full_result_count = False  # COUNT(*) over millions of rows on every page


@admin.register(ClickEvent)
class ClickEventAdmin(HistoryAdmin):
    list_display = ("created_at", "user_id", "event_type", "video_id")
    list_filter = ("event_type", "created_at")
    search_fields = ("=user__user_id", "video__video_id", "=event_id")
    date_hierarchy = "created_at"
    show_full_result_count = False
