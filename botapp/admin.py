from __future__ import annotations

from django.contrib import admin
from import_export.admin import ExportActionModelAdmin

from botapp.models import GroupChat


@admin.register(GroupChat)
class GroupChatAdmin(ExportActionModelAdmin):
    list_display = ("chat_id", "title", "auto_download", "is_member", "added_at")
    list_filter = ("auto_download", "is_member")
    search_fields = ("chat_id", "title")
