"""Cache slots: a video sent as a file is stored, looked up and re-sent apart from the
same video sent as a video; audio has one slot whatever the setting."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from downloads.cache import CachedFile, cache_slot, cached_file_get, cached_file_store
from downloads.delivery import file_from_message, send_kwargs
from downloads.models import CachedMedia

KEY = "youtube:dQw4w9WgXcQ"


@pytest.mark.parametrize(
    ("fmt", "as_file", "slot"),
    [
        ("720p", False, "720p"),
        ("720p", True, "720p-file"),
        ("best", True, "best-file"),
        ("audio", True, "audio"),
        ("mp3", True, "mp3"),
    ],
)
def test_the_slot_of_a_format(fmt, as_file, slot):
    assert cache_slot(fmt, as_file=as_file) == slot
    assert slot in dict(CachedMedia._meta.get_field("format").choices)


def test_the_method_follows_the_kind_of_the_stored_file():
    """Telegram refuses a file_id of another kind, so the setting cannot change it."""
    video = CachedFile(media_key=KEY, format="720p", file_id="V", kind="video", width=1280)
    document = CachedFile(media_key=KEY, format="720p-file", file_id="D", kind="document")
    audio = CachedFile(media_key=KEY, format="audio", file_id="A", kind="audio")
    assert send_kwargs(video) == (
        "sendVideo",
        {"video": "V", "width": 1280, "supports_streaming": True},
    )
    assert send_kwargs(document) == ("sendDocument", {"document": "D"})
    assert send_kwargs(audio) == ("sendAudio", {"audio": "A"})


def _message(**media):
    file = SimpleNamespace(file_id="F", file_unique_id="U", file_size=10, duration=3)
    fields = {"video": None, "audio": None, "document": None}
    fields.update({name: file for name in media})
    return SimpleNamespace(**fields)


@pytest.mark.parametrize(
    ("sent", "fmt", "slot"),
    [("video", "720p", "720p"), ("document", "720p", "720p-file"), ("audio", "audio", "audio")],
)
def test_an_upload_is_stored_under_the_slot_of_how_it_was_sent(sent, fmt, slot):
    item = file_from_message(_message(**{sent: True}), media_key=KEY, fmt=fmt, title="T")
    assert (item.format, item.kind) == (slot, sent)


@pytest.mark.django_db
def test_a_document_under_a_video_slot_is_a_miss():
    """Written before the slots were split: re-sent with sendVideo it would be refused."""
    CachedMedia.objects.create(media_key=KEY, format="720p", file_id="D", kind="document")
    assert cached_file_get(media_key=KEY, fmt="720p") is None  # from PostgreSQL
    cached_file_store(CachedFile(media_key=KEY, format="720p", file_id="D", kind="document"))
    assert cached_file_get(media_key=KEY, fmt="720p") is None  # from the Redis copy


@pytest.mark.django_db
def test_both_slots_of_one_format_are_kept():
    cached_file_store(CachedFile(media_key=KEY, format="720p", file_id="V", kind="video"))
    cached_file_store(CachedFile(media_key=KEY, format="720p-file", file_id="D", kind="document"))
    assert cached_file_get(media_key=KEY, fmt="720p").file_id == "V"
    assert cached_file_get(media_key=KEY, fmt="720p-file").file_id == "D"
    assert CachedMedia.objects.filter(media_key=KEY).count() == 2
