from __future__ import annotations

from django.db import models


class GroupChat(models.Model):
    """A group or supergroup the bot has been added to."""

    chat_id = models.BigIntegerField(primary_key=True)
    title = models.CharField(max_length=255, blank=True)
    auto_download = models.BooleanField(default=True)
    is_member = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "group_chats"

    def __str__(self) -> str:
        return self.title or str(self.chat_id)
