"""The referral program through the real bot: /referral, ref_ links on a first /start,
the bonus on the friend's first download, the notices, caps, revocation, /stats."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue

from analytics.worker import Worker
from botapp import referral_jobs
from referrals.models import BonusOutcome, BonusReason, Referral, ReferralBonus, Referrer
from referrals.selectors import referral_bonus_total, referral_pending_forget
from referrals.services import referral_bonus_revoke
from sandbox.telegram_api import SEED_GROUP_ID
from tests.e2e.conftest import ALICE, BORIS, CARMEN, OLENA, eventually
from tests.e2e.published import seed_cached_video, wait_until
from users.models import BotUser

CLIP = "https://www.tiktok.com/@sandbox.user/video/7300000000000000001"
CLIP_KEY = "tiktok:7300000000000000001"
WELCOME = "Send me a link to a YouTube, Instagram or TikTok video"
JOINED = "joined through your link"
CREDITED = "downloaded their first video"
LINK = re.compile(r"https://t\.me/SandboxVideoBot\?start=ref_([a-z2-9]{8})")


@pytest.fixture(autouse=True)
def _fresh_pending_memory():
    referral_pending_forget()  # user ids repeat from test to test
    yield
    referral_pending_forget()


def to(chat_id):
    return lambda call: call["payload"].get("chat_id") == chat_id


def answer(telegram, user_id: int, method: str = "sendMessage") -> dict:
    return telegram.wait_for_call(method, to(user_id), timeout=60)


def reply_containing(telegram, user_id: int, fragment: str) -> str:
    """The next message to the user that contains ``fragment`` (notices may interleave)."""
    call = telegram.wait_for_call(
        "sendMessage", lambda c: to(user_id)(c) and fragment in c["payload"]["text"], timeout=60
    )
    return call["payload"]["text"]


def stats_left(telegram, user_id: int) -> str:
    telegram.push_private_message(user_id, "/stats")
    return reply_containing(telegram, user_id, "left:")


def bot_texts(telegram, chat_id: int) -> list[str]:
    return [
        call["payload"]["text"]
        for call in telegram.calls("sendMessage")
        if call["payload"].get("chat_id") == chat_id and call["ok"]
    ]


def referral_page(telegram, user_id: int) -> dict:
    telegram.push_private_message(user_id, "/referral")
    return telegram.wait_for_call(
        "sendMessage", lambda c: to(user_id)(c) and "ref_" in c["payload"]["text"], timeout=60
    )["payload"]


def code_of(telegram, user_id: int) -> str:
    return LINK.search(referral_page(telegram, user_id)["text"]).group(1)


def new_user(telegram, user_id: int, name: str = "Friend", language: str = "en") -> int:
    telegram.add_user(user_id, name, language_code=language)
    return user_id


def join(telegram, user_id: int, payload: str | None) -> str:
    telegram.push_start(user_id, payload)
    return answer(telegram, user_id)["payload"]["text"]


def download_once(telegram, user_id: int) -> None:
    telegram.push_private_message(user_id, CLIP)
    assert answer(telegram, user_id, "sendVideo")["ok"]


# --- /referral ------------------------------------------------------------------------

PAGES = {
    ALICE: ("Friends invited: 0", "Share the link"),
    BORIS: ("Приглашено друзей: 0", "Поделиться ссылкой"),
    OLENA: ("Запрошено друзів: 0", "Поділитися посиланням"),
    CARMEN: ("Amigos invitados: 0", "Compartir el enlace"),
}


@pytest.mark.parametrize("user_id", PAGES)
def test_referral_shows_the_link_a_share_button_and_the_stats(bot, telegram, user_id):
    payload = referral_page(telegram, user_id)
    stats_line, share_label = PAGES[user_id]
    code = LINK.search(payload["text"]).group(1)
    assert Referrer.objects.get(pk=user_id).code == code
    assert stats_line in payload["text"]
    [[button]] = payload["reply_markup"]["inline_keyboard"]
    assert button["text"] == share_label
    share = urlsplit(button["url"])
    assert (share.netloc, share.path) == ("t.me", "/share/url")
    query = parse_qs(share.query)
    assert query["url"] == [f"https://t.me/SandboxVideoBot?start=ref_{code}"]
    assert query["text"][0]
    # The code is made once: the page shows the same link again.
    assert code_of(telegram, user_id) == code


# --- Attribution ----------------------------------------------------------------------


def test_a_new_friend_then_their_first_download_pays_the_referrer(bot, telegram):
    code = code_of(telegram, ALICE)
    boris = new_user(telegram, 700001, "Borya", "ru")
    assert "Привет, Borya" in join(telegram, boris, f"ref_{code.upper()}")
    referral = Referral.objects.get(referred_user_id=boris)
    assert referral.referrer_id == ALICE and referral.outcome == BonusOutcome.PENDING
    joined = reply_containing(telegram, ALICE, JOINED)
    assert "Borya joined through your link" in joined and "+5" in joined
    assert referral_bonus_total(user_id=ALICE) == 0  # joining alone earns nothing

    seed_cached_video(telegram, CLIP_KEY, "best")
    download_once(telegram, boris)
    credited = reply_containing(telegram, ALICE, CREDITED)
    assert credited.startswith("+5") and "Borya" in credited and CREDITED in credited
    assert referral_bonus_total(user_id=ALICE) == 5
    assert Referral.objects.get(referred_user_id=boris).outcome == BonusOutcome.PAID

    download_once(telegram, boris)  # a second download pays nothing more
    assert "left: 15" in stats_left(telegram, ALICE)
    assert ReferralBonus.objects.count() == 1
    assert len([t for t in bot_texts(telegram, ALICE) if CREDITED in t]) == 1


def test_an_existing_user_following_a_link_changes_nothing(bot, telegram):
    code = code_of(telegram, ALICE)
    join(telegram, BORIS, None)  # Boris has used the bot before
    assert "Привет" in join(telegram, BORIS, f"ref_{code}")
    assert not Referral.objects.exists()
    assert not [t for t in bot_texts(telegram, ALICE) if JOINED in t]


def test_a_user_cannot_refer_themselves(bot, telegram):
    code = code_of(telegram, ALICE)
    assert WELCOME in join(telegram, ALICE, f"ref_{code}")
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    "payload",
    ["ref_nosuchcd", "ref_abc", "ref_" + "a" * 60, "ref_abcd-234", "ref_abcd0234", "ref__"],
)
def test_unknown_and_malformed_codes_get_the_welcome(bot, telegram, payload):
    code_of(telegram, ALICE)
    friend = new_user(telegram, 700002)
    assert WELCOME in join(telegram, friend, payload)
    assert not Referral.objects.exists()


def test_an_over_long_payload_gets_the_welcome(bot, telegram):
    code = code_of(telegram, ALICE)
    friend = new_user(telegram, 700003)
    telegram.push_private_message(friend, f"/start ref_{code}{'a' * 70}")  # typed by hand
    assert WELCOME in answer(telegram, friend)["payload"]["text"]
    assert not Referral.objects.exists()


def test_the_first_of_two_links_wins(bot, telegram):
    alice_code, carmen_code = code_of(telegram, ALICE), code_of(telegram, CARMEN)
    friend = new_user(telegram, 700004)
    join(telegram, friend, f"ref_{alice_code}")
    join(telegram, friend, f"ref_{carmen_code}")
    assert Referral.objects.get().referrer_id == ALICE
    reply_containing(telegram, ALICE, JOINED)  # the notice of the one referral
    assert not [t for t in bot_texts(telegram, CARMEN) if JOINED in t]


def test_a_welcome_bonus_greets_the_new_friend_when_configured(bot, telegram, bot_settings):
    bot_settings.REFERRAL_WELCOME_BONUS = 2
    code = code_of(telegram, ALICE)
    friend = new_user(telegram, 700005)
    assert WELCOME in join(telegram, friend, f"ref_{code}")
    gift = answer(telegram, friend)["payload"]["text"]
    assert "+2 downloads without ads" in gift
    assert referral_bonus_total(user_id=friend) == 2


# --- Caps, revocation, blocked referrers ----------------------------------------------


def test_bonuses_stop_at_the_cap(bot, telegram, bot_settings):
    bot_settings.REFERRAL_MAX_PER_DAY = 1
    code = code_of(telegram, ALICE)
    seed_cached_video(telegram, CLIP_KEY, "best")
    for friend in (700006, 700007):
        new_user(telegram, friend)
        join(telegram, friend, f"ref_{code}")
        download_once(telegram, friend)
    wait_until(lambda: not Referral.objects.filter(activated_at__isnull=True).exists())
    assert sorted(Referral.objects.values_list("outcome", flat=True)) == [
        BonusOutcome.CAPPED_DAY, BonusOutcome.PAID,
    ]  # fmt: skip
    assert referral_bonus_total(user_id=ALICE) == 5
    page = referral_page(telegram, ALICE)
    assert "Friends invited: 2" in page["text"] and "downloaded a video: 2" in page["text"]
    assert eventually(lambda: len([t for t in bot_texts(telegram, ALICE) if CREDITED in t]) == 1)


def test_a_revocation_lowers_the_quota(bot, telegram):
    code = code_of(telegram, ALICE)
    friend = new_user(telegram, 700008)
    join(telegram, friend, f"ref_{code}")
    seed_cached_video(telegram, CLIP_KEY, "best")
    download_once(telegram, friend)
    grant = wait_until(lambda: ReferralBonus.objects.filter(reason=BonusReason.REFERRAL).first())
    assert "left: 15" in stats_left(telegram, ALICE)
    referral_bonus_revoke(bonus_id=grant.pk, note="fake account", by="owner")
    assert "left: 10" in stats_left(telegram, ALICE)


def test_a_first_download_in_a_group_activates_too(bot, telegram):
    code = code_of(telegram, ALICE)
    friend = new_user(telegram, 700010)
    join(telegram, friend, f"ref_{code}")
    seed_cached_video(telegram, CLIP_KEY, "best")
    telegram.add_bot_to_group(ALICE, admin=True)  # an admin bot sees every message
    telegram.push_group_message(friend, f"look {CLIP}")
    telegram.wait_for_call("sendVideo", to(SEED_GROUP_ID), timeout=60)
    assert CREDITED in reply_containing(telegram, ALICE, CREDITED)
    assert referral_bonus_total(user_id=ALICE) == 5


def test_a_referrer_who_blocked_the_bot_is_skipped_quietly(bot, telegram):
    code = code_of(telegram, ALICE)
    telegram.block_bot(ALICE)
    friend = new_user(telegram, 700009)
    assert WELCOME in join(telegram, friend, f"ref_{code}")
    # A fresh download (a job on the downloads queue), not held up by the referrer.
    telegram.push_private_message(friend, CLIP)
    assert telegram.wait_for_call("sendVideo", to(friend), timeout=120)["ok"]
    assert wait_until(lambda: referral_bonus_total(user_id=ALICE) == 5)
    assert Referral.objects.get().outcome == BonusOutcome.PAID
    assert wait_until(lambda: BotUser.objects.get(pk=ALICE).is_blocked)
    assert not [c for c in telegram.calls("sendMessage") if to(ALICE)(c) and c["ok"]][1:]


# --- An activation job that was never queued ------------------------------------------


def drain_events() -> None:
    """What the analytics worker does: the published events stored."""
    worker = Worker(consumer="test", block_ms=50)
    for _ in range(50):
        if not worker.step().read:
            return


def test_a_first_download_whose_job_could_not_be_queued_is_caught_up_once(
    bot, telegram, monkeypatch
):
    code = code_of(telegram, ALICE)
    friend = new_user(telegram, 700011, "Dasha")
    join(telegram, friend, f"ref_{code}")
    reply_containing(telegram, ALICE, JOINED)
    refused = []
    enqueue = Queue.enqueue

    def enqueue_timing_out(queue, function, *args, **kwargs):
        if function is referral_jobs.referral_activation_run:  # Redis slow just then
            refused.append(args)
            raise RedisTimeoutError("Timeout reading from socket")
        return enqueue(queue, function, *args, **kwargs)

    monkeypatch.setattr(Queue, "enqueue", enqueue_timing_out)
    seed_cached_video(telegram, CLIP_KEY, "best")
    download_once(telegram, friend)
    assert wait_until(lambda: refused) == [(friend,)]
    assert Referral.objects.get(referred_user_id=friend).outcome == BonusOutcome.PENDING
    assert referral_jobs.referral_activations_catch_up() == 0  # the download not stored yet

    drain_events()
    assert BotUser.objects.get(pk=friend).total_downloads == 1
    assert referral_jobs.referral_activations_catch_up() == 1
    assert "Dasha" in reply_containing(telegram, ALICE, CREDITED)
    assert Referral.objects.get(referred_user_id=friend).outcome == BonusOutcome.PAID
    assert referral_bonus_total(user_id=ALICE) == 5

    # Again, and the lost job turning up after all: nothing more is paid or said.
    assert referral_jobs.referral_activations_catch_up() == 0
    referral_jobs.referral_activation_run(friend)
    assert ReferralBonus.objects.filter(reason=BonusReason.REFERRAL).count() == 1
    assert referral_bonus_total(user_id=ALICE) == 5
    assert len([t for t in bot_texts(telegram, ALICE) if CREDITED in t]) == 1


# --- /stats in every language -----------------------------------------------------------

STATS_LEFT = {
    ALICE: "Downloads without ads left: 15 (everyone gets 10, invited friends added 5).",
    BORIS: "Загрузок без рекламы осталось: 15 (всем даётся 10, приглашённые друзья добавили 5).",
    OLENA: "Завантажень без реклами залишилося: 15 (усім дається 10, запрошені друзі додали 5).",
    CARMEN: "Descargas sin anuncios restantes: 15 (todos reciben 10, tus amigos invitados "
    "sumaron 5).",
}


@pytest.mark.parametrize("user_id", [ALICE, BORIS, OLENA, CARMEN])
def test_stats_count_the_referral_bonus_in_every_language(bot, telegram, user_id):
    code_of(telegram, user_id)  # known users with a code
    ReferralBonus.objects.create(
        user_id=user_id, amount=5, reason=BonusReason.WELCOME, created_at="2026-01-01T00:00Z"
    )
    telegram.push_private_message(user_id, "/stats")
    assert STATS_LEFT[user_id] in answer(telegram, user_id)["payload"]["text"]


# --- Many at once -----------------------------------------------------------------------


def test_twenty_friends_through_one_link_at_once(bot, telegram, bot_settings):
    # Each friend's joining and each bonus is a message to the one referrer, which
    # Telegram (and its double) lets through at about one a second: twenty friends keep
    # the test at half a minute and still far past the daily cap.
    friends_count = 20
    bot_settings.REFERRAL_MAX_PER_DAY, bot_settings.REFERRAL_MAX_TOTAL = 7, 100
    code = code_of(telegram, ALICE)
    friends = [new_user(telegram, 710000 + n) for n in range(friends_count)]
    for friend in friends:
        telegram.push_start(friend, f"ref_{code}")
    assert wait_until(lambda: Referral.objects.count() == friends_count, timeout=120)
    seed_cached_video(telegram, CLIP_KEY, "best")
    for friend in friends:
        telegram.push_private_message(friend, CLIP)
    assert wait_until(
        lambda: not Referral.objects.filter(activated_at__isnull=True).exists(), timeout=180
    )
    assert Referral.objects.filter(referrer_id=ALICE).count() == friends_count
    assert ReferralBonus.objects.filter(user_id=ALICE).count() == 7
    assert referral_bonus_total(user_id=ALICE) == 35
    assert Referral.objects.filter(outcome=BonusOutcome.CAPPED_DAY).count() == friends_count - 7
