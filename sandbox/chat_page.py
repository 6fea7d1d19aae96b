"""JSON endpoints of the sandbox chat page (``/sandbox/api/<endpoint>``).

The page acts as Telegram's client: it sends as a chosen user through the double's
simulation API and polls a chat's history. Endpoints:

- ``GET state``: bot, users, chats (with the bot's status), the bot's commands and the
  video site's sample links with a hint of what each does.
- ``GET history?chat_id=&since=&wait=1``: changes after ``since``; with ``wait`` it
  long-polls up to 20 s for any change.
- ``POST send {user_id, chat_id, text, reply_to_message_id?}``
- ``POST location {user_id, latitude, longitude}``: share a location in the private chat
- ``POST press {user_id, chat_id, message_id, callback_data}`` (or ``inline_message_id``)
- ``POST inline_query {user_id, chat_id, query}`` -> ``{query_id}``;
  ``GET inline_results?query_id=`` waits up to 10 s for the bot's answer;
  ``POST inline_choose {user_id, chat_id, query_id, result_id}``.
- ``POST group_bot {user_id, chat_id, action: add|add_admin|remove}``
- ``POST block {user_id, blocked: true|false}``
- ``POST pay {user_id, chat_id, message_id}`` or ``{user_id, link}``: pay an invoice with
  Stars; answers once the bot confirmed or refused at checkout (or its 10 s ran out).
- ``GET subscriptions?user_id=``; ``POST subscription {user_id, charge_id?, action:
  renew|cancel}``: the next period is charged now, or the user cancels in Telegram.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.telegram_state import ApiError
from sandbox.videosite import samples

if TYPE_CHECKING:
    from sandbox.telegram_api import TelegramApiDouble

HISTORY_WAIT = 20.0
INLINE_WAIT = 10.0


def handle(double: TelegramApiDouble, verb: str, endpoint: str, params: dict) -> tuple[int, dict]:
    view = _VIEWS.get((verb if verb != "HEAD" else "GET", endpoint))
    if view is None:
        return 404, {"error": "no such endpoint"}
    try:
        return 200, view(double, params)
    except (ValueError, KeyError, ApiError, TimeoutError) as error:
        return 400, {"error": str(error)}


def _state(double: TelegramApiDouble, params: dict) -> dict:
    languages = {user.get("language_code", "") for user in double.users()} | {""}
    return {
        "bot": double.bot_user,
        "users": double.users(),
        "chats": double.chats(),
        "commands": {lang: double.commands(language_code=lang) for lang in languages},
        "samples": samples(),
    }


def _history(double: TelegramApiDouble, params: dict) -> dict:
    since = int(params.get("since") or 0)
    if params.get("wait"):
        double.state.wait(lambda: double.state.seq > since, HISTORY_WAIT)
    return double.history(int(params["chat_id"]), since)


def _send(double: TelegramApiDouble, params: dict) -> dict:
    user_id, chat_id = int(params["user_id"]), int(params["chat_id"])
    text = str(params.get("text") or "").strip()
    if not text:
        raise ValueError("empty message")
    reply_to = int(params["reply_to_message_id"]) if params.get("reply_to_message_id") else None
    if chat_id == user_id:
        return double.push_private_message(user_id, text, reply_to_message_id=reply_to)
    return double.push_group_message(user_id, text, chat_id=chat_id, reply_to_message_id=reply_to)


def _location(double: TelegramApiDouble, params: dict) -> dict:
    return double.push_private_location(
        int(params["user_id"]),
        latitude=float(params["latitude"]),
        longitude=float(params["longitude"]),
    )


def _press(double: TelegramApiDouble, params: dict) -> dict:
    update = double.press_button(
        int(params["user_id"]),
        str(params["callback_data"]),
        chat_id=int(params["chat_id"]),
        message_id=int(params.get("message_id") or 0),
        inline_message_id=params.get("inline_message_id") or None,
    )
    return {"query_id": update["callback_query"]["id"], "update": update}


def _inline_query(double: TelegramApiDouble, params: dict) -> dict:
    user_id, chat_id = int(params["user_id"]), int(params["chat_id"])
    chat_type = "sender" if chat_id == user_id else "supergroup"
    update = double.push_inline_query(user_id, str(params.get("query") or ""), chat_type=chat_type)
    return {"query_id": update["inline_query"]["id"]}


def _inline_results(double: TelegramApiDouble, params: dict) -> dict:
    try:
        answer = double.inline_answer(str(params["query_id"]), timeout=INLINE_WAIT)
    except TimeoutError:
        return {"answered": False, "results": []}
    return {"answered": True} | answer


def _inline_choose(double: TelegramApiDouble, params: dict) -> dict:
    return double.choose_inline_result(
        int(params["user_id"]),
        str(params["query_id"]),
        str(params["result_id"]),
        chat_id=int(params["chat_id"]),
    )


def _group_bot(double: TelegramApiDouble, params: dict) -> dict:
    user_id, chat_id = int(params["user_id"]), int(params["chat_id"])
    action = params.get("action")
    if action == "remove":
        return double.remove_bot_from_group(user_id, chat_id)
    if action in ("add", "add_admin"):
        return double.add_bot_to_group(user_id, chat_id, admin=action == "add_admin")
    raise ValueError(f"unknown action {action!r}")


def _block(double: TelegramApiDouble, params: dict) -> dict:
    user_id = int(params["user_id"])
    if params.get("blocked"):
        return double.block_bot(user_id)
    return double.unblock_bot(user_id)


def _pay(double: TelegramApiDouble, params: dict) -> dict:
    user_id = int(params["user_id"])
    if params.get("link"):
        result = double.pay_invoice(user_id, link=str(params["link"]))
    else:
        result = double.pay_invoice(
            user_id, chat_id=int(params["chat_id"]), message_id=int(params["message_id"])
        )
    return {key: value for key, value in result.items() if key != "message"}


def _subscriptions(double: TelegramApiDouble, params: dict) -> dict:
    return {"subscriptions": double.star_subscriptions(int(params["user_id"]))}


def _subscription(double: TelegramApiDouble, params: dict) -> dict:
    user_id, charge_id = int(params["user_id"]), params.get("charge_id") or None
    action = params.get("action")
    if action == "renew":
        result = double.renew_subscription(user_id, charge_id)
        return {key: value for key, value in result.items() if key != "message"}
    if action == "cancel":
        return double.cancel_subscription(user_id, charge_id)
    raise ValueError(f"unknown action {action!r}")


_VIEWS = {
    ("GET", "state"): _state,
    ("GET", "history"): _history,
    ("POST", "send"): _send,
    ("POST", "location"): _location,
    ("POST", "press"): _press,
    ("POST", "inline_query"): _inline_query,
    ("GET", "inline_results"): _inline_results,
    ("POST", "inline_choose"): _inline_choose,
    ("POST", "group_bot"): _group_bot,
    ("POST", "block"): _block,
    ("POST", "pay"): _pay,
    ("GET", "subscriptions"): _subscriptions,
    ("POST", "subscription"): _subscription,
}
