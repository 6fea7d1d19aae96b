"""/settings -> "Set my time zone": the location shared through the reply keyboard
becomes the user's time zone; the coordinates are kept nowhere (tables, event stream,
logs)."""

from __future__ import annotations

import logging

from django.db import connection

from analytics.stream import STREAM
from config.redis import get_redis
from tests.e2e.conftest import ALICE, BORIS
from tests.e2e.published import wait_until
from users.models import BotUser

# Digits that appear in nothing else: a point in Moscow and one in Kyiv.
MOSCOW = (55.7558123, 37.6173456)
KYIV = (50.4501789, 30.5234987)
FINGERPRINTS = ("55.755", "37.617", "50.450", "30.523", "5575581", "3761734", "5045017")


def everything_stored() -> str:
    """Every row of every table, as text, and every event in the stream."""
    dump = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608
            dump += [row[0] for row in cursor.fetchall()]
    for _id, fields in get_redis().xrange(STREAM):
        dump += [str(value) for value in fields.values()]
    for key in get_redis().keys("*"):
        dump.append(str(key))
    return "\n".join(dump)


def share(telegram, user_id: int, point: tuple[float, float]) -> dict:
    """/settings, the time zone button, then the location button of the reply keyboard."""
    telegram.push_private_message(user_id, "/settings")
    menu = telegram.wait_for_call(
        "sendMessage", lambda c: c["payload"]["chat_id"] == user_id, timeout=60
    )
    telegram.press_button(user_id, "set:tz:ask", message_id=menu["result"]["message_id"])
    prompt = telegram.wait_for_call(
        "sendMessage",
        lambda c: (
            c["payload"]["chat_id"] == user_id
            and "keyboard" in (c["payload"].get("reply_markup") or {})
        ),
        timeout=60,
    )
    keyboard = prompt["payload"]["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_location"] is True
    telegram.push_private_location(user_id, latitude=point[0], longitude=point[1])
    return prompt


def test_a_shared_location_sets_the_zone_and_no_coordinates_are_kept(bot, telegram, caplog):
    caplog.set_level(logging.DEBUG, logger="botapp")
    caplog.set_level(logging.DEBUG, logger="users")
    caplog.set_level(logging.DEBUG, logger="analytics")
    caplog.set_level(logging.INFO)
    share(telegram, ALICE, MOSCOW)
    assert wait_until(lambda: BotUser.objects.filter(pk=ALICE, timezone="Europe/Moscow").exists())
    assert BotUser.objects.get(pk=ALICE).timezone_source == "location"
    done = telegram.wait_for_call(
        "sendMessage",
        lambda c: c["payload"]["chat_id"] == ALICE and "Europe/Moscow" in c["payload"]["text"],
        timeout=60,
    )
    assert done["payload"]["reply_markup"] == {"remove_keyboard": True}

    prompt = share(telegram, BORIS, KYIV)  # in Russian, and a second user
    assert "часовой пояс" in prompt["payload"]["text"]
    assert wait_until(lambda: BotUser.objects.filter(pk=BORIS, timezone="Europe/Kyiv").exists())

    stored = everything_stored()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for digits in FINGERPRINTS:
        assert digits not in stored, digits
        assert digits not in logged, digits


def test_the_cancel_button_closes_the_keyboard(bot, telegram):
    telegram.push_private_message(ALICE, "/settings")
    menu = telegram.wait_for_call(
        "sendMessage", lambda c: c["payload"]["chat_id"] == ALICE, timeout=60
    )
    telegram.press_button(ALICE, "set:tz:ask", message_id=menu["result"]["message_id"])
    telegram.wait_for_call(
        "sendMessage",
        lambda c: "keyboard" in (c["payload"].get("reply_markup") or {}),
        timeout=60,
    )
    telegram.push_private_message(ALICE, "Cancel")
    closed = telegram.wait_for_call(
        "sendMessage", lambda c: c["payload"]["text"] == "Nothing changed.", timeout=60
    )
    assert closed["payload"]["reply_markup"] == {"remove_keyboard": True}
    assert BotUser.objects.get(pk=ALICE).timezone == ""
