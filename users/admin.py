from __future__ import annotations

from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from users.models import BotUser


@admin.register(BotUser)
class BotUserAdmin(ImportExportModelAdmin):
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
