"""Writes of the Telegram interface's own rows: group settings."""

from __future__ import annotations

from botapp.models import GroupChat


def group_joined(*, chat_id: int, title: str) -> GroupChat:
    group, _created = GroupChat.objects.update_or_create(
        chat_id=chat_id, defaults={"title": title[:255], "is_member": True}
    )
    return group


def group_left(*, chat_id: int) -> None:
    GroupChat.objects.filter(chat_id=chat_id).update(is_member=False)


def group_set_auto_download(*, chat_id: int, enabled: bool, title: str = "") -> None:
    GroupChat.objects.update_or_create(
        chat_id=chat_id, defaults={"auto_download": enabled, "title": title[:255]}
    )
