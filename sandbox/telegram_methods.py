"""The Bot API methods of the sandbox, with Telegram's validation and error wording.

``BotApi.call`` takes a method name and already decoded parameters (see
``telegram_http.decode_params``) and returns the ``result`` or raises ``ApiError``.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.telegram_formatting import FormattingError, parse_formatted
from sandbox.telegram_limits import FloodControl
from sandbox.telegram_payments import PAYMENT_METHODS, PaymentMethods, StarLedger
from sandbox.telegram_state import (
    PRIVATE,
    ApiError,
    ChatState,
    SandboxState,
    StoredFile,
    Upload,
    bad_request,
)

MB = 1024 * 1024
WRONG_FILE = "wrong file identifier/HTTP URL specified"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
MEDIA_KINDS = ("video", "audio", "document", "photo", "animation")
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
INLINE_BUTTON_ACTIONS = {
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
}
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")


@dataclass
class ApiConfig:
    upload_limit: int = 50 * MB
    photo_upload_limit: int = 10 * MB
    get_file_limit: int = 20 * MB
    query_answer_timeout: float = 15.0
    inline_feedback: bool = True
    pre_checkout_timeout: float = 10.0


class BotApi(PaymentMethods):
    def __init__(self, state: SandboxState, config: ApiConfig, flood: FloodControl) -> None:
        self.state = state
        self.config = config
        self.flood = flood
        self.ledger = StarLedger()
        self._methods: dict[str, Callable[[dict], object]] = {}
        for name in [
            "getMe",
            "logOut",
            "close",
            "getUpdates",
            "setWebhook",
            "deleteWebhook",
            "getWebhookInfo",
            "setMyCommands",
            "getMyCommands",
            "deleteMyCommands",
            "sendMessage",
            "editMessageText",
            "editMessageCaption",
            "editMessageReplyMarkup",
            "editMessageMedia",
            "deleteMessage",
            "sendVideo",
            "sendAudio",
            "sendDocument",
            "sendPhoto",
            "sendChatAction",
            "answerCallbackQuery",
            "answerInlineQuery",
            "getFile",
            "getChat",
            "getChatMember",
            "leaveChat",
            *PAYMENT_METHODS,
        ]:
            self._methods[name.lower()] = getattr(self, "m_" + name)

    def knows(self, method: str) -> bool:
        return method.lower() in self._methods

    def call(self, method: str, params: dict) -> object:
        with self.state.cond:
            return self._methods[method.lower()](params)

    # -- identity, updates, webhook, commands --------------------------------------

    def m_getMe(self, p: dict) -> dict:
        return dict(self.state.me)

    def m_logOut(self, p: dict) -> bool:
        return True

    m_close = m_logOut

    def m_getUpdates(self, p: dict) -> list[dict]:
        state = self.state
        if state.webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if p.get("allowed_updates") is not None:
            state.allowed_updates = list(p["allowed_updates"])
        self._acknowledge(p.get("offset", 0))
        limit = min(max(p.get("limit", 100), 1), 100)
        state.poll_generation += 1
        generation = state.poll_generation
        state.changed()  # wakes an older poll so it can answer 409
        state.wait(
            lambda: generation != state.poll_generation or self._deliverable(),
            max(p.get("timeout", 0), 0),
        )
        if generation != state.poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        return copy.deepcopy(state.updates[:limit])

    def _acknowledge(self, offset: int) -> None:
        updates = self.state.updates
        if offset > 0:
            updates[:] = [u for u in updates if u["update_id"] >= offset]
        elif offset < 0:
            updates[:] = updates[offset:]

    def _deliverable(self) -> bool:
        # Updates of kinds the bot did not ask for are dropped, as Telegram does.
        state = self.state
        state.updates[:] = [u for u in state.updates if state.wants(_update_kind(u))]
        return bool(state.updates)

    def m_setWebhook(self, p: dict) -> bool:
        url = p.get("url") or ""
        loopback = re.match(r"http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]", url)
        if url and not url.startswith("https://") and not loopback:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if p.get("drop_pending_updates"):
            self.state.updates.clear()
        if p.get("allowed_updates") is not None:
            self.state.allowed_updates = list(p["allowed_updates"])
        self.state.webhook = {"url": url, "secret_token": p.get("secret_token")}
        return True

    def m_deleteWebhook(self, p: dict) -> bool:
        return self.m_setWebhook({"drop_pending_updates": p.get("drop_pending_updates")})

    def m_getWebhookInfo(self, p: dict) -> dict:
        return {
            "url": self.state.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }

    def m_setMyCommands(self, p: dict) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH" if commands else "commands is empty")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description") or "") <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        clean = [{"command": c["command"], "description": c["description"]} for c in commands]
        self.state.commands[_commands_key(p)] = clean
        self.state.changed()
        return True

    def m_getMyCommands(self, p: dict) -> list[dict]:
        return copy.deepcopy(self.state.commands.get(_commands_key(p), []))

    def m_deleteMyCommands(self, p: dict) -> bool:
        self.state.commands.pop(_commands_key(p), None)
        self.state.changed()
        return True

    # -- sending -------------------------------------------------------------------

    def m_sendMessage(self, p: dict) -> dict:
        chat = self._writable_chat(p)
        content = self._text_content(p, "text")
        return self._deliver(chat, p, content)

    def m_sendVideo(self, p: dict) -> dict:
        return self._send_media(p, "video")

    def m_sendAudio(self, p: dict) -> dict:
        return self._send_media(p, "audio")

    def m_sendDocument(self, p: dict) -> dict:
        return self._send_media(p, "document")

    def m_sendPhoto(self, p: dict) -> dict:
        return self._send_media(p, "photo")

    def _send_media(self, p: dict, kind: str) -> dict:
        chat = self._writable_chat(p)
        content = self._caption_content(p)
        stored = self._resolve_file(p.get(kind), kind, p, field=kind)
        content.update(media_content(stored))
        return self._deliver(chat, p, content)

    def _deliver(self, chat: ChatState, p: dict, content: dict) -> dict:
        markup = self._reply_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        retry_after = self.flood.check_send(chat.chat["id"], is_group=chat.is_group)
        if retry_after:
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        if markup and "inline_keyboard" in markup:
            content["reply_markup"] = markup
        elif markup:
            chat.reply_keyboard = None if markup.get("remove_keyboard") else markup
        if reply_to:
            content["reply_to_message"] = reply_to
        return copy.deepcopy(self.state.add_message(chat, self.state.bot_user, content))

    def _reply_to(self, chat: ChatState, p: dict) -> dict | None:
        parameters = p.get("reply_parameters") or {}
        message_id = parameters.get("message_id") or p.get("reply_to_message_id")
        if not message_id:
            return None
        snapshot = self.state.reply_snapshot(chat, int(message_id))
        allow = parameters.get("allow_sending_without_reply") or p.get(
            "allow_sending_without_reply"
        )
        if snapshot is None and not allow:
            raise bad_request("message to be replied not found")
        return snapshot

    def _writable_chat(self, p: dict) -> ChatState:
        if p.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        chat = self.state.chat(p["chat_id"])
        check_bot_can_write(self.state, chat)
        return chat

    def _text_content(self, p: dict, key: str) -> dict:
        raw = p.get(key)
        if raw is None or str(raw).strip() == "":
            raise bad_request("message text is empty")
        text, entities = self._formatted(str(raw), p)
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > 4096:
            raise bad_request("message is too long")
        content: dict = {"text": text}
        if entities:
            content["entities"] = entities
        return content

    def _caption_content(self, p: dict) -> dict:
        if not p.get("caption"):
            return {}
        caption, entities = self._formatted(str(p["caption"]), p, "caption_entities")
        if len(caption) > 1024:
            raise bad_request("message caption is too long")
        content: dict = {"caption": caption} if caption else {}
        if entities:
            content["caption_entities"] = entities
        return content

    def _formatted(self, raw: str, p: dict, entities_key: str = "entities") -> tuple[str, list]:
        if p.get(entities_key):
            return raw, list(p[entities_key])
        try:
            return parse_formatted(raw, p.get("parse_mode"))
        except FormattingError as error:
            raise ApiError(400, str(error)) from None

    def _reply_markup(self, markup: object) -> dict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            validate_inline_keyboard(markup)
        return markup

    # -- files ---------------------------------------------------------------------

    def _resolve_file(self, value: object, kind: str, p: dict, *, field: str) -> StoredFile:
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.get("__uploads__", {}).get(value.removeprefix("attach://"))
            if value is None:
                raise bad_request(WRONG_FILE)
        if isinstance(value, Upload):
            return self._store_upload(value, kind, p)
        if not value:
            raise bad_request(f"there is no {field} in the request")
        if not isinstance(value, str):
            raise bad_request(WRONG_FILE)
        if re.match(r"https?://", value):
            # The sandbox fetches nothing; Telegram would, up to 20 MB.
            raise bad_request("failed to get HTTP URL content")
        stored = self.state.files.get(value.strip())
        if stored is None:
            raise bad_request(WRONG_FILE)
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return stored

    def _store_upload(self, upload: Upload, kind: str, p: dict) -> StoredFile:
        limit = self.config.upload_limit
        if kind == "photo":
            limit = min(limit, self.config.photo_upload_limit)
        if len(upload.data) > limit:
            raise ApiError(413, "Request Entity Too Large")
        if not upload.data:
            raise bad_request("file must be non-empty")
        mime_type = upload.content_type
        if not mime_type or mime_type == "application/octet-stream":
            mime_type = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        meta = {
            key: p[key]
            for key in ("width", "height", "duration", "performer", "title")
            if p.get(key) is not None
        }
        return self.state.store_file(
            kind=kind, content=upload.data, name=upload.filename, mime_type=mime_type, meta=meta
        )

    def m_getFile(self, p: dict) -> dict:
        stored = self.state.files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id" if not p.get("file_id") else WRONG_FILE)
        if stored.size > self.config.get_file_limit:
            raise bad_request("file is too big")
        answer = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if stored.content is not None:
            answer["file_path"] = stored.file_path
        return answer

    # -- editing and deleting ------------------------------------------------------

    def _edit_target(self, p: dict) -> tuple[ChatState, dict, bool]:
        """The chat, the message and whether it was addressed by inline_message_id."""
        if p.get("inline_message_id"):
            where = self.state.inline_messages.get(str(p["inline_message_id"]))
            if where is None:
                raise bad_request("MESSAGE_ID_INVALID")
            chat = self.state.chats[where[0]]
            message = chat.messages.get(where[1])
            if message is None:
                raise bad_request("message to edit not found")
            return chat, message, True
        chat = self._writable_chat(p)
        if not p.get("message_id"):
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(int(p["message_id"]))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.state.bot_user["id"]:
            raise bad_request("message can't be edited")
        return chat, message, False

    def _apply_edit(self, chat: ChatState, message: dict, new: dict, inline: bool) -> object:
        kept = {k: v for k, v in message.items() if k not in _EDITABLE}
        if {k: v for k, v in message.items() if k in _EDITABLE} == new:
            raise bad_request(NOT_MODIFIED)
        retry_after = self.flood.check_edit(chat.chat["id"])
        if retry_after:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        message.clear()
        message.update(kept, **new, edit_date=int(time.time()))
        self.state.touch(chat, message["message_id"])
        return True if inline else copy.deepcopy(message)

    def _markup_for_edit(self, p: dict) -> dict:
        markup = self._reply_markup(p.get("reply_markup"))
        if markup and "inline_keyboard" not in markup:
            raise bad_request("reply markup must be an inline keyboard")
        return {"reply_markup": markup} if markup and markup["inline_keyboard"] else {}

    def m_editMessageText(self, p: dict) -> object:
        chat, message, inline = self._edit_target(p)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        new = self._text_content(p, "text") | self._markup_for_edit(p)
        return self._apply_edit(chat, message, new, inline)

    def m_editMessageCaption(self, p: dict) -> object:
        chat, message, inline = self._edit_target(p)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        new = {k: v for k, v in message.items() if k in MEDIA_KINDS}
        new |= self._caption_content(p) | self._markup_for_edit(p)
        return self._apply_edit(chat, message, new, inline)

    def m_editMessageReplyMarkup(self, p: dict) -> object:
        chat, message, inline = self._edit_target(p)
        new = {k: v for k, v in message.items() if k in _EDITABLE and k != "reply_markup"}
        return self._apply_edit(chat, message, new | self._markup_for_edit(p), inline)

    def m_editMessageMedia(self, p: dict) -> object:
        chat, message, inline = self._edit_target(p)
        media = p.get("media")
        if not isinstance(media, dict) or media.get("type") not in MEDIA_KINDS:
            raise bad_request("can't parse InputMedia JSON object")
        if "text" in message and not inline:
            raise bad_request("there is no media in the message to edit")
        file_value = media.get("media")
        if inline and isinstance(file_value, str) and file_value.startswith("attach://"):
            # Telegram cannot attach a new upload to a message it does not host in a chat.
            raise bad_request("can't upload file for an inline message; use a file_id instead")
        stored = self._resolve_file(file_value, media["type"], p | media, field="media")
        new = self._caption_content(media) | media_content(stored) | self._markup_for_edit(p)
        return self._apply_edit(chat, message, new, inline)

    def m_deleteMessage(self, p: dict) -> bool:
        chat = self.state.chat(p.get("chat_id"))
        message = chat.messages.get(int(p.get("message_id") or 0))
        if message is None:
            raise bad_request("message to delete not found")
        from_bot = message["from"]["id"] == self.state.bot_user["id"]
        if chat.is_group and not from_bot and chat.bot_status != "administrator":
            raise bad_request("message can't be deleted")
        self.state.remove_message(chat, message["message_id"])
        return True

    # -- chat actions, queries -----------------------------------------------------

    def m_sendChatAction(self, p: dict) -> bool:
        chat = self._writable_chat(p)
        if p.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.notices.append(
            {"seq": self.state.changed(), "type": "action", "action": p["action"]}
            | {"until": time.time() + 5}
        )
        return True

    def m_answerCallbackQuery(self, p: dict) -> bool:
        query = self._fresh_query(self.state.callback_queries, p.get("callback_query_id"))
        if len(p.get("text") or "") > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query["answer"] = {k: p[k] for k in ("text", "show_alert", "url") if p.get(k)}
        chat_id = query.get("chat_id")
        if chat_id in self.state.chats:
            notice = {"type": "callback_answer", "user_id": query["from"]["id"]}
            notice |= query["answer"]
            self.state.chats[chat_id].notices.append(notice | {"seq": self.state.changed()})
        return True

    def _fresh_query(self, queries: dict, query_id: object) -> dict:
        query = queries.get(str(query_id or ""))
        too_late = query and time.monotonic() - query["created"] > self.config.query_answer_timeout
        if query is None or "answer" in query or too_late:
            raise bad_request(QUERY_TOO_OLD)
        return query

    def m_answerInlineQuery(self, p: dict) -> bool:
        query = self._fresh_query(self.state.inline_queries, p.get("inline_query_id"))
        results = p.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        if len(str(p.get("next_offset") or "").encode()) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        seen: set[str] = set()
        for result in results:
            self._check_inline_result(result, seen)
        query["answer"] = {
            "results": copy.deepcopy(results),
            "next_offset": str(p.get("next_offset") or ""),
            "button": p.get("button"),
            "cache_time": p.get("cache_time", 300),
        }
        self.state.changed()
        return True

    def _check_inline_result(self, result: dict, seen: set[str]) -> None:
        result_id = str(result.get("id", ""))
        if not result_id or len(result_id.encode()) > 64:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        if result.get("reply_markup"):
            validate_inline_keyboard(result["reply_markup"])
        content = result.get("input_message_content")
        if content and "message_text" in content:
            try:
                parse_formatted(content["message_text"], content.get("parse_mode"))
            except FormattingError as error:
                raise ApiError(400, str(error)) from None
        for key, value in result.items():
            if key.endswith("_file_id") and value not in self.state.files:
                raise bad_request(WRONG_FILE)

    # -- chats and members ---------------------------------------------------------

    def m_getChat(self, p: dict) -> dict:
        chat = self.state.chat(p.get("chat_id"))
        if chat.is_group and chat.bot_status in ("left", "kicked"):
            check_bot_can_write(self.state, chat)
        return chat.chat | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def m_getChatMember(self, p: dict) -> dict:
        chat = self.state.chat(p.get("chat_id"))
        user_id = p.get("user_id")
        if user_id == self.state.bot_user["id"]:
            return chat_member(self.state.bot_user, chat.bot_status)
        user = self.state.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if chat.chat["type"] == PRIVATE:
            if user_id != chat.chat["id"]:
                raise bad_request("PARTICIPANT_ID_INVALID")
            return chat_member(user, "member")
        if user_id not in chat.members:
            return chat_member(user, "left")
        return chat_member(user, "administrator" if user_id in chat.admins else "member")

    def m_leaveChat(self, p: dict) -> bool:
        chat = self.state.chat(p.get("chat_id"))
        if not chat.is_group:
            raise bad_request("chat member status can't be changed in private chats")
        check_bot_can_write(self.state, chat)
        old = chat_member(self.state.bot_user, chat.bot_status)
        chat.bot_status = "left"
        if self.state.wants("my_chat_member"):
            self.state.push_update(
                "my_chat_member",
                {
                    "chat": chat.chat,
                    "from": self.state.bot_user,
                    "date": int(time.time()),
                    "old_chat_member": old,
                    "new_chat_member": chat_member(self.state.bot_user, "left"),
                },
            )
        self.state.changed()
        return True


_EDITABLE = {"text", "entities", "caption", "caption_entities", "reply_markup", *MEDIA_KINDS}


def _update_kind(update: dict) -> str:
    return next(key for key in update if key != "update_id")


def _commands_key(p: dict) -> tuple[str, str]:
    scope = p.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")


def media_content(stored: StoredFile) -> dict:
    obj = stored.as_object()
    return {"photo": [obj]} if stored.kind == "photo" else {stored.kind: obj}


def check_bot_can_write(state: SandboxState, chat: ChatState) -> None:
    kind = chat.chat["type"]
    if kind == PRIVATE:
        if chat.chat["id"] in state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not chat.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
    elif chat.bot_status == "kicked":
        raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
    elif chat.bot_status == "left":
        raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")


def validate_inline_keyboard(markup: dict) -> None:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" must be of type Array'
        )
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise bad_request("can't parse inline keyboard button: Text must be non-empty")
        if not INLINE_BUTTON_ACTIONS & button.keys():
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the "
                "inline keyboard"
            )
        if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
            raise bad_request("BUTTON_URL_INVALID")


def chat_member(user: dict, status: str) -> dict:
    member: dict = {"user": user, "status": status}
    if status == "kicked":
        member["until_date"] = 0
    if status == "administrator":
        member |= {
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": False,
            "can_restrict_members": False,
            "can_promote_members": False,
            "can_change_info": False,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
        }
    return member
