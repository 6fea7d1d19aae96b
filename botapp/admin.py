from __future__ import annotations

from django.contrib import admin

from botapp.models import GroupChat
from config.admin_mixins import ExportAdmin


@admin.register(GroupChat)
class GroupChatAdmin(ExportAdmin):
    list_display = ("chat_id", "title", "auto_download", "is_member", "added_at")
    list_filter = ("auto_download", "is_member")
    search_fields = ("chat_id", "title")
