"""The sandbox's world: users, chats, messages, files, pending updates and the call log.

Everything sits behind one condition variable, so the HTTP threads, the test thread and
the chat page see one consistent state, and waiters (long polling, ``wait_for_call``,
the page's history poll) wake on any change instead of sleeping in loops.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Telegram never sends these unless the bot asks for them by name in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
PRIVATE, GROUP, SUPERGROUP = "private", "group", "supergroup"

# file_id prefixes as Telegram's start (the type is encoded in the id).
_FILE_ID_PREFIX = {"video": "BAAC", "audio": "CQAC", "document": "BQAC", "photo": "AgAC"}


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict:
        answer: dict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            answer["parameters"] = self.parameters
        return answer


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class Upload:
    """A file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes

    def describe(self) -> dict:
        return {"file": self.filename, "size": len(self.data), "mime_type": self.content_type}


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    size: int
    name: str
    mime_type: str
    content: bytes | None
    file_path: str
    meta: dict = field(default_factory=dict)

    def as_object(self) -> dict:
        """The Video/Audio/Document/PhotoSize object a Message carries."""
        obj = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        obj["file_size"] = self.size
        if self.kind == "photo":
            obj.update(width=self.meta.get("width", 0), height=self.meta.get("height", 0))
            return obj
        if self.kind == "video":
            obj.update(
                width=self.meta.get("width", 0),
                height=self.meta.get("height", 0),
                duration=self.meta.get("duration", 0),
            )
        if self.kind == "audio":
            obj["duration"] = self.meta.get("duration", 0)
            for key in ("performer", "title"):
                if self.meta.get(key):
                    obj[key] = self.meta[key]
        obj.update(file_name=self.name, mime_type=self.mime_type)
        return obj


@dataclass
class ChatState:
    chat: dict
    bot_status: str = "member"  # member, administrator, left, kicked
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)  # members who administer the group
    messages: dict[int, dict] = field(default_factory=dict)
    revisions: dict[int, int] = field(default_factory=dict)
    deletions: list[tuple[int, int]] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)  # callback answers, chat actions
    reply_keyboard: dict | None = None  # the last ReplyKeyboardMarkup the bot sent
    next_message_id: int = 1
    started: bool = False  # a private chat the user has opened (the bot may write)

    @property
    def is_group(self) -> bool:
        return self.chat["type"] in (GROUP, SUPERGROUP)


class SandboxState:
    def __init__(self, bot_user: dict, me: dict) -> None:
        self.cond = threading.Condition(threading.RLock())
        self.bot_user = bot_user  # as "from" of the bot's messages
        self.me = me  # as getMe answers
        self.seq = 0  # bumps on every change the chat page may want to show
        self.users: dict[int, dict] = {}
        self.blocked: set[int] = set()
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self.file_paths: dict[str, str] = {}
        self.inline_messages: dict[str, tuple[int, int]] = {}
        self.inline_queries: dict[str, dict] = {}
        self.callback_queries: dict[str, dict] = {}
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.updates: list[dict] = []
        self.allowed_updates: list[str] | None = None
        self.webhook: dict = {"url": ""}
        self.calls: list[dict] = []
        self.consumed_calls: set[int] = set()
        self.poll_generation = 0
        self.stopping = False
        self._update_ids = itertools.count(secrets.randbelow(10**6) + 10**8)
        self._ids = itertools.count(1)

    # -- change notification -------------------------------------------------------

    def changed(self) -> int:
        with self.cond:
            self.seq += 1
            self.cond.notify_all()
            return self.seq

    def wait(self, ready: Callable[[], object], timeout: float) -> object:
        """Block until ``ready()`` is truthy or timeout; returns its last value."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (value := ready()) and not self.stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
            return value

    def next_id(self) -> int:
        return next(self._ids)

    # -- chats and messages --------------------------------------------------------

    def chat(self, chat_id: object) -> ChatState:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for state in self.chats.values():
                if state.chat.get("username", "").lower() == chat_id[1:].lower():
                    return state
        state = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if state is None:
            raise bad_request("chat not found")
        return state

    def add_message(self, state: ChatState, sender: dict, content: dict) -> dict:
        message = {
            "message_id": state.next_message_id,
            "from": sender,
            "chat": state.chat,
            "date": int(time.time()),
            **content,
        }
        state.next_message_id += 1
        state.messages[message["message_id"]] = message
        state.revisions[message["message_id"]] = self.changed()
        return message

    def touch(self, state: ChatState, message_id: int) -> None:
        state.revisions[message_id] = self.changed()

    def remove_message(self, state: ChatState, message_id: int) -> None:
        del state.messages[message_id]
        state.revisions.pop(message_id, None)
        state.deletions.append((self.changed(), message_id))

    def reply_snapshot(self, state: ChatState, message_id: int | None) -> dict | None:
        """The replied-to message as Telegram nests it: one level deep."""
        original = state.messages.get(message_id) if message_id else None
        if original is None:
            return None
        snapshot = copy.deepcopy(original)
        snapshot.pop("reply_to_message", None)
        return snapshot

    # -- updates -------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict) -> dict:
        update = {"update_id": next(self._update_ids), kind: payload}
        self.updates.append(update)
        self.changed()
        return update

    def wants(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in OPT_IN_UPDATES

    # -- files ---------------------------------------------------------------------

    def store_file(
        self, *, kind: str, content: bytes | None, name: str, mime_type: str, meta: dict
    ) -> StoredFile:
        digest = hashlib.sha256(content if content is not None else name.encode()).digest()
        unique = "AgAD" + base64.urlsafe_b64encode(digest[:9]).decode()
        random_part = base64.urlsafe_b64encode(secrets.token_bytes(45)).decode().rstrip("=")
        file_id = _FILE_ID_PREFIX.get(kind, "BQAC") + "AgIAAxkBAAI" + random_part
        extension = name.rsplit(".", 1)[-1] if "." in name else "bin"
        path = f"{kind}s/file_{self.next_id()}.{extension}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            size=len(content) if content is not None else int(meta.get("file_size", 0)),
            name=name,
            mime_type=mime_type,
            content=content,
            file_path=path,
            meta=meta,
        )
        self.files[file_id] = stored
        self.file_paths[path] = file_id
        return stored

    # -- call log ------------------------------------------------------------------

    def record_call(self, method: str, payload: dict, status: int, answer: dict) -> dict:
        call = {
            "method": method,
            "payload": payload,
            "ok": status == 200,
            "status": status,
            "description": answer.get("description"),
            "parameters": answer.get("parameters"),
            "result": answer.get("result"),
            "time": time.time(),
        }
        with self.cond:
            # Numbered under the lock: concurrent calls must never share an index, or
            # handing one out to wait_for_call would hide the other.
            call["index"] = len(self.calls)
            self.calls.append(call)
            self.changed()
        return call
