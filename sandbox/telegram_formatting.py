"""Message text as Telegram sees it: entities of user text and parse modes of bot text.

Offsets and lengths of entities are in UTF-16 code units, as in the Bot API; PTB's
``Message.parse_entity`` relies on that, so an emoji before a link must shift it by two.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import NoReturn

# Telegram highlights bare domains only for real TLDs; this short list covers the links
# people paste into a video bot and the usual suspects.
_TLDS = "com|be|org|net|ru|ua|io|me|tv|app|ly|co|uk|de|es|info|biz|gl|to|us|fm|xyz|dev"
_URL_RE = re.compile(
    r"(?<![\w@/.])(?:https?://[^\s<>\"]+|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    rf"(?:{_TLDS})\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"(?<![\w.])[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}", re.I)
_COMMAND_RE = re.compile(r"(?<!\S)/[a-zA-Z0-9_]{1,64}(?:@[a-zA-Z][a-zA-Z0-9_]{3,31})?(?![\w/])")
_MENTION_RE = re.compile(r"(?<![\w@/])@[a-zA-Z][a-zA-Z0-9_]{3,31}(?!\w)")
_HASHTAG_RE = re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")
_URL_TRAILING = ".,!?;:)]}'\""

MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!"


class FormattingError(ValueError):
    """A parse_mode text that Telegram would reject; the message is the API's wording."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def detect_entities(text: str) -> list[dict]:
    """Entities Telegram's clients attach to what a user typed: links, commands, @names."""
    spans: list[tuple[int, int, str]] = []
    for match in _URL_RE.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        spans.append((match.start(), match.start() + len(url), "url"))
    for kind, pattern in (
        ("email", _EMAIL_RE),
        ("bot_command", _COMMAND_RE),
        ("mention", _MENTION_RE),
        ("hashtag", _HASHTAG_RE),
    ):
        for match in pattern.finditer(text):
            if not any(s < match.end() and match.start() < e for s, e, _ in spans):
                spans.append((match.start(), match.end(), kind))
    spans.sort()
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in spans
    ]


def entity_text(text: str, entity: dict) -> str:
    encoded = text.encode("utf-16-le")
    start = entity["offset"] * 2
    return encoded[start : start + entity["length"] * 2].decode("utf-16-le")


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """Plain text and entities of a bot's text in ``parse_mode``, or FormattingError."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        return _HtmlEntities.parse(text)
    if mode == "markdownv2":
        return _MarkdownV2(text).parse()
    if mode == "markdown":
        return _LegacyMarkdown(text).parse()
    raise FormattingError(f"Bad Request: unsupported parse_mode {parse_mode!r}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
}


class _HtmlEntities(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.out: list[str] = []
        self.length = 0
        self.stack: list[tuple[str, dict]] = []
        self.entities: list[dict] = []

    @classmethod
    def parse(cls, source: str) -> tuple[str, list[dict]]:
        parser = cls(source)
        parser.feed(source)
        parser.close()
        if parser.stack:
            tag = parser.stack[-1][0]
            raise FormattingError(
                "Bad Request: can't parse entities: Can't find end tag corresponding to "
                f'start tag "{tag}"'
            )
        parser.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(parser.out), parser.entities

    def _error_offset(self) -> int:
        line, col = self.getpos()
        lines = self.source.split("\n")
        return _byte_offset(self.source, sum(len(x) + 1 for x in lines[: line - 1]) + col)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = _HTML_TAGS.get(tag)
        attributes = dict(attrs)
        if kind is None or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            raise FormattingError(
                "Bad Request: can't parse entities: Unsupported start tag "
                f'"{tag}" at byte offset {self._error_offset()}'
            )
        entity: dict = {"type": kind, "offset": self.length}
        if tag == "a":
            entity["url"] = attributes.get("href") or ""
        if tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = (attributes.get("class") or "").removeprefix("language-")
            if language:
                self.stack[-1][1]["language"] = language
            entity = {}
        self.stack.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            expected = f'"</{self.stack[-1][0]}>"' if self.stack else "nothing"
            raise FormattingError(
                f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                f'{self._error_offset()}, expected {expected}, found "</{tag}>"'
            )
        _, entity = self.stack.pop()
        if entity and self.length > entity["offset"]:
            entity["length"] = self.length - entity["offset"]
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.out.append(data)
        self.length += utf16_len(data)


class _MarkdownV2:
    """MarkdownV2 as the Bot API documents it, strict about unescaped reserved characters."""

    _MARKERS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"))

    def __init__(self, source: str) -> None:
        self.source = source
        self.i = 0
        self.out: list[str] = []
        self.length = 0
        self.open: dict[str, tuple[int, int]] = {}
        self.entities: list[dict] = []
        self.link_start: tuple[int, int] | None = None

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.length += utf16_len(text)

    def _fail(self, what: str) -> NoReturn:
        raise FormattingError(f"Bad Request: can't parse entities: {what}")

    def parse(self) -> tuple[str, list[dict]]:
        src = self.source
        while self.i < len(src):
            char = src[self.i]
            if char == "\\" and self.i + 1 < len(src):
                self._emit(src[self.i + 1])
                self.i += 2
            elif src.startswith("```", self.i):
                self._code_block()
            elif char == "`":
                self._inline_code()
            elif self._toggle_marker() or self._link_part():
                continue
            elif char in MARKDOWN_V2_RESERVED:
                self._fail(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            else:
                self._emit(char)
                self.i += 1
        if self.open or self.link_start:
            kind, (_, start) = next(iter(self.open.items()), ("text_link", self.link_start))
            name = kind.replace("_", " ").title().replace(" ", "")
            self._fail(f"Can't find end of {name} entity at byte offset {start}")
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _toggle_marker(self) -> bool:
        for marker, kind in self._MARKERS:
            if self.source.startswith(marker, self.i):
                if kind in self.open:
                    offset, _ = self.open.pop(kind)
                    if self.length > offset:
                        self.entities.append(
                            {"type": kind, "offset": offset, "length": self.length - offset}
                        )
                else:
                    self.open[kind] = (self.length, _byte_offset(self.source, self.i))
                self.i += len(marker)
                return True
        return False

    def _link_part(self) -> bool:
        src = self.source
        if src[self.i] == "[":
            self.link_start = (self.length, _byte_offset(src, self.i))
            self.i += 1
            return True
        if src[self.i] == "]" and self.link_start and src.startswith("(", self.i + 1):
            end = src.find(")", self.i + 2)
            if end < 0:
                self._fail("Can't find end of a URL")
            offset, _ = self.link_start
            url = src[self.i + 2 : end].replace("\\)", ")").replace("\\\\", "\\")
            self.entities.append(
                {"type": "text_link", "offset": offset, "length": self.length - offset, "url": url}
            )
            self.link_start = None
            self.i = end + 1
            return True
        return False

    def _inline_code(self) -> None:
        end = self.source.find("`", self.i + 1)
        if end < 0:
            self._fail(f"Can't find end of Code entity at byte offset {self.i}")
        body = re.sub(r"\\([`\\])", r"\1", self.source[self.i + 1 : end])
        self.entities.append({"type": "code", "offset": self.length, "length": utf16_len(body)})
        self._emit(body)
        self.i = end + 1

    def _code_block(self) -> None:
        end = self.source.find("```", self.i + 3)
        if end < 0:
            self._fail(f"Can't find end of Pre entity at byte offset {self.i}")
        body = self.source[self.i + 3 : end]
        language, newline, rest = body.partition("\n")
        entity: dict = {"type": "pre", "offset": self.length}
        if newline and language and " " not in language:
            entity["language"] = language
            body = rest
        body = re.sub(r"\\([`\\])", r"\1", body)
        entity["length"] = utf16_len(body)
        self.entities.append(entity)
        self._emit(body)
        self.i = end + 3


class _LegacyMarkdown:
    _MARKERS = {"*": "bold", "_": "italic", "`": "code"}

    def __init__(self, source: str) -> None:
        self.source = source

    def parse(self) -> tuple[str, list[dict]]:
        src, i, out, length, entities = self.source, 0, [], 0, []
        while i < len(src):
            char = src[i]
            if char == "\\" and i + 1 < len(src) and src[i + 1] in "_*`[":
                out.append(src[i + 1])
                length += 1
                i += 2
                continue
            if char in self._MARKERS or char == "[":
                closer = "]" if char == "[" else char
                end = src.find(closer, i + 1)
                if end < 0:
                    raise FormattingError(
                        "Bad Request: can't parse entities: Can't find end of the entity "
                        f"starting at byte offset {_byte_offset(src, i)}"
                    )
                body = src[i + 1 : end]
                entity: dict = {"offset": length, "length": utf16_len(body)}
                if char == "[":
                    url_end = src.find(")", end) if src.startswith("(", end + 1) else -1
                    entity.update(type="text_link", url=src[end + 2 : url_end])
                    end = max(end, url_end)
                else:
                    entity["type"] = self._MARKERS[char]
                if entity["length"]:
                    entities.append(entity)
                out.append(body)
                length += utf16_len(body)
                i = end + 1
                continue
            out.append(char)
            length += utf16_len(char)
            i += 1
        return "".join(out), entities
