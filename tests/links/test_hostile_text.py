"""Link extraction on hostile text: never a crash, always linear time."""

from __future__ import annotations

import random
import time
import urllib.parse

import pytest

from downloads.links import MediaLink, RefusedLink, extract_links, parse_link

YT = "youtube:dQw4w9WgXcQ"
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
# Loose on purpose: a slow, shared machine still passes; quadratic code does not (it
# took 3.5 s on 100,000 characters).
SECONDS = 1.5

FRAGMENTS = [
    VIDEO, "https://youtu.be/dQw4w9WgXcQ", "youtu.be/dQw4w9WgXcQ", "www.youtube.com/shorts/",
    "https://www.instagram.com/reel/C7abcDEF12x/", "https://vm.tiktok.com/ZMabc123/",
    "https://www.youtube.com/attribution_link?u=", "%2Fwatch%3Fv%3DdQw4w9WgXcQ",
    "https://", "http://[::1", "://", "?v=", "&list=", "#", "(", ")", "[", "]", ".", ",", "!",
    "…", "»", "'", '"', " ", "\n", "\t", "@", "/", "\\", ":", "%", "%ZZ", "\u200b", "\ufeff",
    "😀", "\U0001d518", "🇺🇦", "\ud800", "\udfff", "\ud83d", "\ude00", "é", "ж", "\x00", "\x7f",
]  # fmt: skip


def _message(rng: random.Random) -> tuple[str, list[dict]]:
    text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 40)))
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    entities = []
    for _ in range(rng.randint(0, 4)):
        offset = rng.randint(-2, units + 2)
        entity = {
            "type": rng.choice(["url", "text_link", "bold", "url"]),
            "offset": offset,
            "length": rng.randint(-1, units - offset + 3),
        }
        if entity["type"] == "text_link":
            entity["url"] = rng.choice([VIDEO, "\ud800" + VIDEO, "", "javascript:x", "😀"])
        entities.append(entity)
    return text, entities


def _assert_usable(matches: list) -> None:
    for match in matches:
        assert isinstance(match, MediaLink | RefusedLink)
        # Whatever comes out is logged, shown, published: it must have a UTF-8 form.
        for value in (match.original_url, match.media_key if isinstance(match, MediaLink) else
                      match.url):  # fmt: skip
            value.encode("utf-8")


def test_thousands_of_generated_messages_never_crash_extraction():
    rng = random.Random(20261129)
    for _ in range(4000):
        text, entities = _message(rng)
        _assert_usable(extract_links(text, entities))


def test_a_lone_surrogate_beside_a_link_keeps_the_link():
    [match] = extract_links(f"\ud800 look {VIDEO} \udfff")
    assert isinstance(match, MediaLink) and match.media_key == YT


def test_an_entity_that_splits_a_surrogate_pair_is_survived():
    text = f"😀{VIDEO}"
    # Offset 1 falls between the two UTF-16 halves of the emoji.
    matches = extract_links(text, [{"type": "url", "offset": 1, "length": 2 + len(VIDEO)}])
    _assert_usable(matches)
    assert any(isinstance(m, MediaLink) and m.media_key == YT for m in matches)


def test_entities_beyond_the_text_or_negative_are_ignored():
    entities = [
        {"type": "url", "offset": -5, "length": 3},
        {"type": "url", "offset": 500, "length": 30},
        {"type": "url", "offset": 0, "length": -1},
        {"type": "url", "offset": "0", "length": None},
    ]
    assert [m.media_key for m in extract_links(VIDEO, entities)] == [YT]


def _attribution(depth: int, *, quoted: bool = True) -> str:
    target = "/watch?v=dQw4w9WgXcQ"
    for _ in range(depth):
        target = "/attribution_link?u=" + (
            urllib.parse.quote(target, safe="") if quoted else target
        )
    return "https://www.youtube.com" + target


def test_a_few_nested_attribution_links_still_lead_to_the_video():
    match = parse_link(_attribution(3))
    assert isinstance(match, MediaLink) and match.media_key == YT


def test_deeply_nested_attribution_links_are_refused_without_recursion():
    started = time.monotonic()
    # Unquoted, each level is the rest of the query: 2,000 levels in 40,000 characters
    # (it hit Python's recursion limit).
    match = parse_link(_attribution(2000, quoted=False))
    assert isinstance(match, RefusedLink)
    assert time.monotonic() - started < SECONDS


HUGE = 100_000


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(VIDEO + ")" * HUGE, id="closing brackets"),
        pytest.param("(" * (HUGE // 2) + VIDEO + ")" * (HUGE // 2), id="balanced brackets"),
        pytest.param(VIDEO + ".,;:!?" * (HUGE // 6), id="trailing punctuation"),
        pytest.param("youtu.be/" + "a." * (HUGE // 2), id="dotted labels"),
        pytest.param("https://" * (HUGE // 8), id="schemes"),
        pytest.param(("see " + VIDEO + " and ") * (HUGE // 60), id="many links"),
        pytest.param("\ud800" * HUGE, id="lone surrogates"),
        pytest.param("😀" * (HUGE // 2), id="surrogate pairs"),
        pytest.param(VIDEO + "&x=" + "%" * HUGE, id="long query"),
        pytest.param("a-" * (HUGE // 2) + ".com", id="hyphens"),
    ],
)
def test_a_hundred_thousand_characters_take_linear_time(text):
    entities = [{"type": "url", "offset": 0, "length": len(text)}]
    started = time.monotonic()
    _assert_usable(extract_links(text, entities))
    assert time.monotonic() - started < SECONDS
