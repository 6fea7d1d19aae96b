from __future__ import annotations

import datetime as dt
import json

import pytest

from analytics.events import DownloadCompleted, EventError, UserReferred, UserSeen, event_from_json


def test_it_round_trips_an_event_through_json():
    event = DownloadCompleted(
        user_id=7, video_id="youtube:dQw4w9WgXcQ", platform="youtube", source="inline",
        format="720p", from_cache=True, title="Never", duration=212,
    )  # fmt: skip

    assert event_from_json(event.to_json()) == event


def test_it_stamps_each_event_with_a_uuid_and_an_aware_utc_time():
    first, second = UserSeen(user_id=1), UserSeen(user_id=1)

    assert first.event_id != second.event_id
    assert first.occurred_at.utcoffset() == dt.timedelta(0)


def test_it_refuses_a_version_newer_than_the_code():
    payload = json.loads(UserSeen(user_id=1).to_json())
    payload["v"] = 99

    with pytest.raises(EventError, match="unsupported version"):
        event_from_json(json.dumps(payload))


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        '{"type": "Nope", "v": 1}',
        json.dumps({"type": "UserSeen", "v": 1, "event_id": "0a6f3e0e-8f1c-4d55-9e43-1c2b3a4d5e6f",
                    "occurred_at": "2026-01-01T00:00:00+00:00", "user_id": "abc"}),
        json.dumps({"type": "UserSeen", "v": 1, "event_id": "5b1d7c2a-3e4f-4a6b-8c9d-0e1f2a3b4c5d",
                    "occurred_at": "2026-01-01T00:00:00", "user_id": 1}),
        json.dumps({"type": "DownloadCompleted", "v": 1, "user_id": 1, "video_id": "x",
                    "platform": "myspace", "source": "message"}),
    ],
)  # fmt: skip
def test_it_explains_why_a_payload_is_not_an_event(payload):
    with pytest.raises(EventError):
        event_from_json(payload)


def test_it_refuses_a_self_referral():
    with pytest.raises(EventError):
        UserReferred(referrer_id=5, new_user_id=5)
