"""Telegram's HTML subset, checked before an ad is saved: Telegram refuses a message
with anything else, and an ad it refuses is an impression lost."""

from __future__ import annotations

import html
from html.parser import HTMLParser

# Tag -> attributes it may carry (Bot API "HTML style").
ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "tg-spoiler": frozenset(),
    "span": frozenset({"class"}),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}
# Telegram knows only these named entities; any other "&name;" is refused.
NAMED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})


class TelegramHtmlError(ValueError):
    pass


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.visible: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise TelegramHtmlError(f"<{tag}> is not a tag Telegram supports")
        for name, value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                raise TelegramHtmlError(f'<{tag}> cannot have the attribute "{name}"')
            _check_attribute(tag, name, value or "")
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            raise TelegramHtmlError('<span> needs class="tg-spoiler"')
        if tag == "a" and not dict(attrs).get("href"):
            raise TelegramHtmlError("<a> needs an href")
        if (
            self.stack
            and self.stack[-1] in ("code", "pre")
            and not (tag == "code" and self.stack[-1] == "pre")
        ):
            raise TelegramHtmlError(f"<{tag}> cannot be inside <{self.stack[-1]}>")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        raise TelegramHtmlError(f"<{tag}/>: Telegram has no self-closing tags (use a new line)")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            expected = f"</{self.stack[-1]}>" if self.stack else "no closing tag"
            raise TelegramHtmlError(f"</{tag}> where {expected} was expected")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for char, entity in (("<", "&lt;"), (">", "&gt;"), ("&", "&amp;")):
            if char in data:
                raise TelegramHtmlError(f'a bare "{char}" outside a tag (write {entity})')
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            raise TelegramHtmlError(f"&{name}; is not an entity Telegram knows (use the character)")
        self.visible.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.visible.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        raise TelegramHtmlError("comments are not allowed")

    def handle_decl(self, decl: str) -> None:
        raise TelegramHtmlError("declarations are not allowed")

    def handle_pi(self, data: str) -> None:
        raise TelegramHtmlError("processing instructions are not allowed")


def _check_attribute(tag: str, name: str, value: str) -> None:
    if tag == "a" and not (value.startswith("https://") or value.startswith("tg://")):
        raise TelegramHtmlError("links in an ad must be https:// (or tg://)")
    if tag == "code" and not value.startswith("language-"):
        raise TelegramHtmlError('<code class> must be "language-..."')
    if tag == "tg-emoji" and not value.isdigit():
        raise TelegramHtmlError("emoji-id must be a number")


def visible_text(text: str) -> str:
    """The text as a reader sees it; raises ``TelegramHtmlError`` for what Telegram
    would refuse (unknown or unclosed tags, stray "<", unknown entities)."""
    checker = _Checker()
    try:
        checker.feed(text)
        checker.close()
    except AssertionError as error:  # html.parser's way of giving up on markup
        raise TelegramHtmlError(f"broken markup: {error}") from None
    if checker.stack:
        raise TelegramHtmlError(f"<{checker.stack[-1]}> is never closed")
    return "".join(checker.visible)


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2
