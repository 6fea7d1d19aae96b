from __future__ import annotations

from django.contrib import admin

from botapp.models import BotUser, CachedMedia, GroupChat
from config.admin_mixins import ExportAdmin, ImportExportAdmin, ProtectedHistoryMixin


@admin.register(BotUser)
class BotUserAdmin(ProtectedHistoryMixin, ImportExportAdmin):
    list_display = (
        "user_id",
        "username",
        "first_name",
        "language_code",
        "total_downloads",
        "is_paid",
        "is_blocked",
        "first_seen_at",
        "last_seen_at",
    )
    list_filter = ("is_paid", "is_blocked", "language_code", "first_seen_at")
    search_fields = ("user_id", "username", "first_name", "referral_code")
    readonly_fields = ("user_id", "first_seen_at", "last_seen_at", "total_downloads")
    raw_id_fields = ("referred_by",)
    date_hierarchy = "first_seen_at"


@admin.register(CachedMedia)
class CachedMediaAdmin(ExportAdmin):
    list_display = ("media_key", "format", "kind", "size", "duration", "created_at", "last_used_at")
    list_filter = ("format", "kind")
    search_fields = ("media_key", "title", "file_unique_id")
    readonly_fields = ("created_at", "last_used_at")


@admin.register(GroupChat)
class GroupChatAdmin(ExportAdmin):
    list_display = ("chat_id", "title", "auto_download", "is_member", "added_at")
    list_filter = ("auto_download", "is_member")
    search_fields = ("chat_id", "title")
