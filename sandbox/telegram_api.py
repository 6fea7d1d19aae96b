"""An offline Telegram Bot API for tests, benchmarks and the sandbox chat page.

``TelegramApiDouble`` is an HTTP server in a background thread that the real
python-telegram-bot talks to::

    double = TelegramApiDouble().start()
    app = (
        Application.builder().token(double.token)
        .base_url(double.base_url).base_file_url(double.base_file_url).build()
    )
    double.push_private_message(ALICE, "https://youtu.be/dQw4w9WgXcQ")
    call = double.wait_for_call("sendVideo")
    double.stop()

Methods: getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, setMyCommands,
getMyCommands, deleteMyCommands, sendMessage, sendVideo, sendAudio, sendDocument,
sendPhoto, sendChatAction, editMessageText, editMessageCaption, editMessageReplyMarkup,
editMessageMedia, deleteMessage, answerCallbackQuery, answerInlineQuery, getFile (and
downloads under ``base_file_url``), getChat, getChatMember, leaveChat, logOut, close, and
Telegram Stars payments (``telegram_payments``: sendInvoice, createInvoiceLink,
answerPreCheckoutQuery, refundStarPayment, editUserStarSubscription; users pay, renew
and cancel through ``pay_invoice``, ``renew_subscription``, ``cancel_subscription``).
Bodies may be query strings, JSON, urlencoded or multipart (with ``attach://`` parts).

What it enforces, with Telegram's status and wording:

- 401 for a wrong token, 404 for an unknown method;
- 400 ``chat not found``; 403 when the user blocked the bot, the bot was kicked from or
  left a group, or the user never opened the chat (``bot can't initiate conversation``);
- text 1..4096 characters after parse_mode (HTML, MarkdownV2, Markdown, with their
  ``can't parse entities`` errors), caption up to 1024, callback_data 1..64 bytes, URL
  buttons, text-only inline buttons, a missing reply target;
- uploads: 50 MB (photos 10 MB) or the configured limit, else 413; every upload gets a
  new file_id, file_unique_id follows the content; known file_ids re-send without a body,
  unknown ones are ``wrong file identifier/HTTP URL specified``, a file_id of another
  kind is ``type of file mismatch``; getFile only up to 20 MB;
- edits: ``message to edit not found``, ``message can't be edited`` (not the bot's),
  ``message is not modified``; an edit without reply_markup removes the keyboard, as on
  Telegram; inline messages (``inline_message_id``) take no new upload, only a file_id;
- deletes: ``message to delete not found``; in groups only the bot's own messages
  unless it is an administrator;
- flood control (see ``telegram_limits``): 429 ``Too Many Requests: retry after N`` with
  ``parameters.retry_after``; ``rate_limits=False`` turns it off;
- callback and inline queries: answered once, within ``query_answer_timeout`` (15 s),
  inline answers at most 50 results with unique ids up to 64 bytes, next_offset up to
  64 bytes, cached file ids must exist;
- getUpdates: long polling, offset acknowledging, negative offsets, limit,
  allowed_updates (kept until changed; other kinds are dropped), 409 while a webhook is
  set or when a second poller takes over;
- group privacy mode (on by default): the bot gets commands, mentions of itself, replies
  to its messages, messages sent via it and service messages, unless it is an
  administrator or ``privacy_mode=False``.

What it does not do: fetch anything by URL (sending by HTTP URL answers ``failed to get
HTTP URL content``), POST updates to a webhook, channels, forum topics, media groups,
payment providers other than Stars, stickers, polls, probing media (width/height/duration
are what the bot sent, else 0), per-day or per-minute server-side limits beyond those
above. getUpdates calls are not in the call log (there would be thousands).
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
import time
from collections.abc import Callable

from sandbox.telegram_formatting import detect_entities, entity_text, parse_formatted
from sandbox.telegram_http import SandboxServer
from sandbox.telegram_limits import FloodControl
from sandbox.telegram_methods import (
    MB,
    ApiConfig,
    BotApi,
    chat_member,
    media_content,
)
from sandbox.telegram_state import PRIVATE, SUPERGROUP, ChatState, SandboxState

# Not a secret: the sandbox accepts only this made-up token unless given another.
DEFAULT_TOKEN = "7000000001:AAE-sandbox_offline_token_0123456789ab"  # noqa: S105
SEED_USERS = (
    {"id": 500001, "first_name": "Alice", "username": "alice", "language_code": "en"},
    {"id": 500002, "first_name": "Boris", "username": "boris", "language_code": "ru"},
    {"id": 500003, "first_name": "Olena", "username": "olena", "language_code": "uk"},
    {"id": 500004, "first_name": "Carmen", "username": "carmen", "language_code": "es"},
)
SEED_GROUP_ID = -1001500000001
_DEEP_LINK = re.compile(r"[A-Za-z0-9_-]{1,64}")

__all__ = ["DEFAULT_TOKEN", "MB", "SEED_GROUP_ID", "SEED_USERS", "TelegramApiDouble"]


class TelegramApiDouble:
    """The offline Bot API; every public method is thread-safe."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "SandboxVideoBot",
        bot_first_name: str = "Video Bot",
        upload_limit: int = 50 * MB,
        photo_upload_limit: int = 10 * MB,
        get_file_limit: int = 20 * MB,
        rate_limits: bool = True,
        private_burst: int = 5,
        privacy_mode: bool = True,
        inline_feedback: bool = True,
        query_answer_timeout: float = 15.0,
        pre_checkout_timeout: float = 10.0,
        seed: bool = True,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.privacy_mode = privacy_mode
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        me = self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": not privacy_mode,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.state = SandboxState(self.bot_user, me)
        config = ApiConfig(
            upload_limit=upload_limit,
            photo_upload_limit=min(photo_upload_limit, upload_limit),
            get_file_limit=get_file_limit,
            query_answer_timeout=query_answer_timeout,
            inline_feedback=inline_feedback,
            pre_checkout_timeout=pre_checkout_timeout,
        )
        flood = FloodControl(enabled=rate_limits, private_burst=private_burst)
        self.api = BotApi(self.state, config, flood)
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        if seed:
            self._seed()

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> TelegramApiDouble:
        self._server = SandboxServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="telegram-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.state.cond:
            self.state.stopping = True
            self.state.cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> TelegramApiDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.root_url}/file/bot"

    @property
    def page_url(self) -> str:
        return f"{self.root_url}/"

    # -- the simulated world -------------------------------------------------------

    def _seed(self) -> None:
        for user in SEED_USERS:
            self.add_user(
                user["id"],
                user["first_name"],
                username=user["username"],
                language_code=user["language_code"],
            )
        self.add_group(SEED_GROUP_ID, "Sandbox group", members=[u["id"] for u in SEED_USERS])

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> dict:
        user: dict = {"id": user_id, "is_bot": False, "first_name": first_name}
        optional = {"last_name": last_name, "username": username, "language_code": language_code}
        user |= {key: value for key, value in optional.items() if value}
        chat = {"id": user_id, "type": PRIVATE, "first_name": first_name}
        chat |= {key: user[key] for key in ("last_name", "username") if key in user}
        with self.state.cond:
            self.state.users[user_id] = user
            self.state.chats[user_id] = ChatState(chat=chat)
            self.state.changed()
        return copy.deepcopy(user)

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        members: list[int] | tuple[int, ...] = (),
        bot_status: str = "member",
        chat_type: str = SUPERGROUP,
    ) -> dict:
        chat = {"id": chat_id, "type": chat_type, "title": title}
        with self.state.cond:
            self.state.chats[chat_id] = ChatState(
                chat=chat, bot_status=bot_status, members=set(members)
            )
            self.state.changed()
        return copy.deepcopy(chat)

    def push_private_message(
        self, user_id: int, text: str, *, reply_to_message_id: int | None = None
    ) -> dict:
        """A user writes to the bot; returns the Update."""
        with self.state.cond:
            user = self._user(user_id)
            chat = self.state.chats[user_id]
            if user_id in self.state.blocked:
                self.unblock_bot(user_id)  # the client's "Restart bot" unblocks first
            chat.started = True
            message = self._user_message(chat, user, text, reply_to_message_id)
            return self._deliver("message", message, delivered=True)

    def push_private_location(self, user_id: int, *, latitude: float, longitude: float) -> dict:
        """A user shares a location with the bot (a ``request_location`` reply button or
        the attachment menu); returns the Update."""
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("latitude must lie in -90..90 and longitude in -180..180")
        with self.state.cond:
            user = self._user(user_id)
            chat = self.state.chats[user_id]
            if user_id in self.state.blocked:
                self.unblock_bot(user_id)
            chat.started = True
            if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
                chat.reply_keyboard = None  # Telegram hides a one-time keyboard once used
            location = {"latitude": float(latitude), "longitude": float(longitude)}
            message = self.state.add_message(chat, user, {"location": location})
            return self._deliver("message", message, delivered=True)

    def push_group_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int = SEED_GROUP_ID,
        reply_to_message_id: int | None = None,
    ) -> dict:
        """A user writes in a group; the Update has update_id None if the bot can't see it."""
        with self.state.cond:
            user = self._user(user_id)
            chat = self._group(chat_id)
            chat.members.add(user_id)
            message = self._user_message(chat, user, text, reply_to_message_id)
            return self._deliver("message", message, delivered=self._bot_sees(chat, message))

    def push_start(self, user_id: int, payload: str | None = None) -> dict:
        """``/start`` from a t.me/<bot>?start=<payload> deep link."""
        if payload is not None and not _DEEP_LINK.fullmatch(payload):
            raise ValueError("a deep-link payload is 1-64 characters of A-Z a-z 0-9 _ -")
        return self.push_private_message(user_id, f"/start {payload}" if payload else "/start")

    def press_button(
        self,
        user_id: int,
        callback_data: str,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
        inline_message_id: str | None = None,
    ) -> dict:
        """Tap a callback button on a bot message (default chat: the user's private chat)."""
        with self.state.cond:
            user = self._user(user_id)
            if inline_message_id:
                chat_id, message_id = self.state.inline_messages[inline_message_id]
            chat = self.state.chat(chat_id if chat_id is not None else user_id)
            message = chat.messages.get(message_id or 0)
            if message is None:
                raise ValueError(f"no message {message_id} in chat {chat.chat['id']}")
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            if not any(b.get("callback_data") == callback_data for row in rows for b in row):
                raise ValueError(f"message {message_id} has no button {callback_data!r}")
            query_id = str(secrets.randbits(62))
            query = {
                "id": query_id,
                "from": user,
                "chat_instance": str(abs(chat.chat["id"]) * 7919 % 10**18),
                "data": callback_data,
            }
            if inline_message_id:
                query["inline_message_id"] = inline_message_id
            else:
                query["message"] = copy.deepcopy(message)
            self.state.callback_queries[query_id] = {
                "from": user,
                "chat_id": chat.chat["id"],
                "created": time.monotonic(),
            }
            delivered = bool(inline_message_id) or chat.bot_status not in ("left", "kicked")
            return self._deliver("callback_query", query, delivered=delivered)

    def push_inline_query(
        self, user_id: int, query: str, *, chat_type: str = "sender", offset: str = ""
    ) -> dict:
        """A user types ``@bot query``; chat_type as Telegram reports where they typed it."""
        if len(query) > 256:
            raise ValueError("an inline query is at most 256 characters")
        with self.state.cond:
            user = self._user(user_id)
            query_id = str(secrets.randbits(62))
            payload = {
                "id": query_id,
                "from": user,
                "query": query,
                "offset": offset,
                "chat_type": chat_type,
            }
            self.state.inline_queries[query_id] = {
                "from": user,
                "query": query,
                "created": time.monotonic(),
            }
            return self._deliver("inline_query", payload, delivered=True)

    def choose_inline_result(
        self, user_id: int, query_id: str, result_id: str, *, chat_id: int
    ) -> dict:
        """Pick one of the bot's inline results: it is posted into ``chat_id`` as the user.

        Returns the chosen_inline_result Update; it carries ``inline_message_id`` when the
        result had an inline keyboard, as on Telegram (update_id None without feedback).
        """
        with self.state.cond:
            user = self._user(user_id)
            record = self.state.inline_queries.get(query_id) or {}
            answer = record.get("answer")
            if answer is None:
                raise ValueError(f"inline query {query_id} has no answer")
            result = next((r for r in answer["results"] if str(r["id"]) == result_id), None)
            if result is None:
                raise ValueError(f"inline query {query_id} has no result {result_id!r}")
            chat = self.state.chat(chat_id)
            content = self._inline_content(result)
            message = self.state.add_message(chat, user, content)
            chosen = {"result_id": result_id, "from": user, "query": record["query"]}
            if result.get("reply_markup"):
                inline_message_id = secrets.token_urlsafe(18)
                self.state.inline_messages[inline_message_id] = (
                    chat.chat["id"],
                    message["message_id"],
                )
                chosen["inline_message_id"] = inline_message_id
            if chat.chat["id"] == user_id or (chat.is_group and self._bot_sees(chat, message)):
                self._deliver("message", message, delivered=True)
            return self._deliver(
                "chosen_inline_result", chosen, delivered=self.api.config.inline_feedback
            )

    def add_bot_to_group(
        self, user_id: int, chat_id: int = SEED_GROUP_ID, *, admin: bool = False
    ) -> dict:
        """A member adds the bot; returns the my_chat_member Update (a service message too)."""
        with self.state.cond:
            user = self._user(user_id)
            chat = self._group(chat_id)
            chat.members.add(user_id)
            update = self._bot_status_change(chat, user, "administrator" if admin else "member")
            service = self.state.add_message(chat, user, {"new_chat_members": [self.bot_user]})
            self._deliver("message", service, delivered=True)
            return update

    def remove_bot_from_group(self, user_id: int, chat_id: int = SEED_GROUP_ID) -> dict:
        with self.state.cond:
            user = self._user(user_id)
            chat = self._group(chat_id)
            update = self._bot_status_change(chat, user, "kicked")
            # The removed bot never sees this service message; the chat page does.
            self.state.add_message(chat, user, {"left_chat_member": self.bot_user})
            return update

    def block_bot(self, user_id: int) -> dict:
        with self.state.cond:
            self.state.blocked.add(user_id)
            return self._private_status_change(user_id, "member", "kicked")

    def unblock_bot(self, user_id: int) -> dict:
        with self.state.cond:
            self.state.blocked.discard(user_id)
            return self._private_status_change(user_id, "kicked", "member")

    def pay_invoice(
        self,
        user_id: int,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
        link: str | None = None,
    ) -> dict:
        """The user pays an invoice message (in ``chat_id``, default their private chat)
        or an invoice link. Blocks until the bot answers the pre-checkout query, or its
        deadline passes; returns ``{"status": "paid"|"refused"|"expired", ...}`` with
        ``charge_id`` and the ``successful_payment`` message when paid."""
        with self.state.cond:
            return self.api.pay(
                user_id,
                timeout=self.api.config.pre_checkout_timeout,
                chat_id=chat_id,
                message_id=message_id,
                link=link,
            )

    def renew_subscription(self, user_id: int, charge_id: str | None = None) -> dict:
        """A subscription's period ends: the next one is charged unless it was cancelled
        (``{"status": "ended"}``)."""
        with self.state.cond:
            return self.api.renew(user_id, charge_id)

    def cancel_subscription(self, user_id: int, charge_id: str | None = None) -> dict:
        """The user cancels in Telegram's settings (the bot gets no update)."""
        with self.state.cond:
            return self.api.cancel(user_id, charge_id)

    def star_subscriptions(self, user_id: int) -> list[dict]:
        with self.state.cond:
            return self.api.subscriptions_of(user_id)

    def redeliver(self, update: dict) -> dict:
        """Send an update again under a new update_id, as Telegram does when the bot did
        not acknowledge it (a restart between handling and the next getUpdates)."""
        kind = next(key for key in update if key != "update_id")
        with self.state.cond:
            return copy.deepcopy(self.state.push_update(kind, copy.deepcopy(update[kind])))

    def store_file(
        self,
        content: bytes,
        *,
        kind: str = "video",
        name: str = "video.mp4",
        mime_type: str = "video/mp4",
        **meta: object,
    ) -> dict:
        """A file Telegram already has (e.g. a cached video); returns its file object."""
        with self.state.cond:
            stored = self.state.store_file(
                kind=kind, content=content, name=name, mime_type=mime_type, meta=meta
            )
            return stored.as_object()

    # -- read-back -----------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[dict]:
        """Every Bot API call (but getUpdates) in order: method, payload, ok, status..."""
        with self.state.cond:
            return [
                copy.deepcopy(call)
                for call in self.state.calls
                if method is None or call["method"].lower() == method.lower()
            ]

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[dict], bool] | None = None,
        timeout: float = 10.0,
        *,
        ok: bool | None = None,
    ) -> dict:
        """The earliest matching call not returned before by wait_for_call; blocks for it.

        ``predicate`` gets the call record (``call["payload"]["chat_id"]``...). Each call
        is handed out once, so waiting twice for sendMessage gives the first and second.
        """
        state = self.state

        def find() -> dict | None:
            for call in state.calls:
                if (
                    call["index"] not in state.consumed_calls
                    and call["method"].lower() == method.lower()
                    and (ok is None or call["ok"] == ok)
                    and (predicate is None or predicate(call))
                ):
                    return call
            return None

        with state.cond:
            call = state.wait(find, timeout)
            if call is None:
                seen = [(c["method"], c["description"]) for c in state.calls]
                raise TimeoutError(f"no {method} call within {timeout} s; calls: {seen}")
            state.consumed_calls.add(call["index"])
            return copy.deepcopy(call)

    def messages(self, chat_id: int) -> list[dict]:
        """The chat as it looks now: edits applied, deletions gone, oldest first."""
        with self.state.cond:
            chat = self.state.chat(chat_id)
            return [copy.deepcopy(chat.messages[key]) for key in sorted(chat.messages)]

    def history(self, chat_id: int, since: int = 0) -> dict:
        """Changes of a chat after sequence number ``since`` (what the chat page polls)."""
        with self.state.cond:
            chat = self.state.chat(chat_id)
            changed = sorted(mid for mid, rev in chat.revisions.items() if rev > since)
            return {
                "seq": self.state.seq,
                "messages": [copy.deepcopy(chat.messages[mid]) for mid in changed],
                "deleted": [mid for seq, mid in chat.deletions if seq > since],
                "notices": [n for n in chat.notices if n["seq"] > since],
                "reply_keyboard": chat.reply_keyboard,
                "bot_status": chat.bot_status,
                "blocked": chat.chat["id"] in self.state.blocked,
            }

    def pending_updates(self) -> list[dict]:
        with self.state.cond:
            return copy.deepcopy(self.state.updates)

    def wait_until_updates_consumed(self, timeout: float = 10.0) -> None:
        """Block until the bot has acknowledged every update (its next getUpdates offset)."""
        if self.state.wait(lambda: not self.state.updates, timeout) is False:
            raise TimeoutError(f"updates still pending after {timeout} s")

    def inline_answer(self, query_id: str, timeout: float = 10.0) -> dict:
        """The bot's answerInlineQuery for ``query_id``, waiting for it."""
        record = self.state.inline_queries[query_id]
        answer = self.state.wait(lambda: record.get("answer"), timeout)
        if not answer:
            raise TimeoutError(f"inline query {query_id} not answered within {timeout} s")
        return copy.deepcopy(answer)

    def callback_answer(self, query_id: str, timeout: float = 10.0) -> dict:
        record = self.state.callback_queries[query_id]
        answer = self.state.wait(lambda: record.get("answer") is not None, timeout)
        if not answer:
            raise TimeoutError(f"callback query {query_id} not answered within {timeout} s")
        return copy.deepcopy(record["answer"])

    def file_content(self, file_id: str) -> bytes | None:
        with self.state.cond:
            stored = self.state.files.get(file_id)
            return stored.content if stored else None

    def commands(self, *, scope: dict | None = None, language_code: str = "") -> list[dict]:
        return self.api.m_getMyCommands({"scope": scope, "language_code": language_code})

    def users(self) -> list[dict]:
        with self.state.cond:
            return copy.deepcopy(list(self.state.users.values()))

    def chats(self) -> list[dict]:
        with self.state.cond:
            return [
                copy.deepcopy(c.chat) | {"bot_status": c.bot_status, "members": sorted(c.members)}
                for c in self.state.chats.values()
            ]

    # -- helpers -------------------------------------------------------------------

    def _user(self, user_id: int) -> dict:
        try:
            return self.state.users[user_id]
        except KeyError:
            raise ValueError(f"unknown user {user_id}; add_user() first") from None

    def _group(self, chat_id: int) -> ChatState:
        chat = self.state.chats.get(chat_id)
        if chat is None or not chat.is_group:
            raise ValueError(f"no group {chat_id}")
        return chat

    def _user_message(
        self, chat: ChatState, user: dict, text: str, reply_to_message_id: int | None
    ) -> dict:
        content: dict = {"text": text}
        if entities := detect_entities(text):
            content["entities"] = entities
        if reply := self.state.reply_snapshot(chat, reply_to_message_id):
            content["reply_to_message"] = reply
        return self.state.add_message(chat, user, content)

    def _deliver(self, kind: str, payload: dict, *, delivered: bool) -> dict:
        if delivered and self.state.wants(kind):
            return copy.deepcopy(self.state.push_update(kind, payload))
        return {"update_id": None, kind: copy.deepcopy(payload)}

    def _bot_sees(self, chat: ChatState, message: dict) -> bool:
        """Group privacy mode: what a bot that is not an administrator receives."""
        if chat.bot_status in ("left", "kicked"):
            return False
        if not self.privacy_mode or chat.bot_status == "administrator":
            return True
        bot_id, name = self.bot_user["id"], self.bot_user["username"].lower()
        if (message.get("via_bot") or {}).get("id") == bot_id:
            return True
        if (message.get("reply_to_message") or {}).get("from", {}).get("id") == bot_id:
            return True
        for entity in message.get("entities", []):
            text = entity_text(message["text"], entity).lower()
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                return "@" not in text or text.endswith("@" + name)
            if entity["type"] == "mention" and text == "@" + name:
                return True
        return False

    def _bot_status_change(self, chat: ChatState, user: dict, status: str) -> dict:
        old = chat_member(self.bot_user, chat.bot_status)
        chat.bot_status = status
        payload = {
            "chat": chat.chat,
            "from": user,
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": chat_member(self.bot_user, status),
        }
        self.state.changed()
        return self._deliver("my_chat_member", payload, delivered=True)

    def _private_status_change(self, user_id: int, old: str, new: str) -> dict:
        user = self._user(user_id)
        payload = {
            "chat": self.state.chats[user_id].chat,
            "from": user,
            "date": int(time.time()),
            "old_chat_member": chat_member(self.bot_user, old),
            "new_chat_member": chat_member(self.bot_user, new),
        }
        self.state.changed()
        return self._deliver("my_chat_member", payload, delivered=True)

    def _inline_content(self, result: dict) -> dict:
        """The message an inline result turns into, sent by the user via the bot."""
        content: dict = {"via_bot": self.bot_user}
        message_content = result.get("input_message_content")
        if message_content and "message_text" in message_content:
            text, entities = parse_formatted(
                message_content["message_text"], message_content.get("parse_mode")
            )
            content |= {"text": text, "entities": entities} if entities else {"text": text}
        else:
            content |= self._inline_media(result)
        if result.get("reply_markup"):
            content["reply_markup"] = result["reply_markup"]
        return content

    def _inline_media(self, result: dict) -> dict:
        kind = {"gif": "animation", "mpeg4_gif": "animation"}.get(result["type"], result["type"])
        file_id = result.get(f"{result['type']}_file_id")
        if file_id:
            stored = self.state.files[file_id]
        else:
            url = result.get(f"{result['type']}_url") or result.get("url") or ""
            # Telegram would fetch the URL; the sandbox keeps a placeholder without bytes.
            stored = self.state.store_file(
                kind=kind,
                content=None,
                name=url.rsplit("/", 1)[-1] or "file",
                mime_type=result.get("mime_type", "application/octet-stream"),
                meta={"url": url},
            )
        content = media_content(stored)
        if result.get("caption"):
            caption, entities = parse_formatted(result["caption"], result.get("parse_mode"))
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content
