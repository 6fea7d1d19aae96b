"""Writes: the quota decision, the ad chosen for a delivery, its impression and click,
and the back office's campaign actions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import uuid
from html import escape

from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from analytics.counters import user_total_key
from analytics.events import AdClicked, AdNoFill, AdShown
from analytics.publisher import publish
from botapp.models import BotUser

from . import texts
from .fast_redis import ads_redis, redis_failed, redis_usable
from .models import AdCampaign, QuotaCount
from .rotation import system_rng, under_cap, weighted_choice
from .selectors import (
    RunningCampaign,
    campaigns_forget,
    campaigns_running,
    creative_choose,
    decided_key,
    pending_impression_key,
    quota_base,
    quota_bonus,
    user_paid_status,
    user_shown_today,
    utc_today,
)
from .tokens import ClickClaim, click_url

log = logging.getLogger(__name__)

# --- The quota decision ---------------------------------------------------------------

# A user's count of decided deliveries lives in Redis while they are active; idle, it
# expires and is seeded again from the counted downloads, which by then include every
# delivery it decided (and forget any it decided that never reached the user).
DECIDED_TTL = 3600

# KEYS: decided, downloads_total; ARGV: seed from PostgreSQL ('' if not read), ttl.
# Returns the delivery's position (1 = the user's first), or -1 when neither key
# exists and the caller must read PostgreSQL and call again with a seed.
_DECIDE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  local seed = redis.call('GET', KEYS[2])
  if ARGV[1] ~= '' and (not seed or tonumber(ARGV[1]) > tonumber(seed)) then seed = ARGV[1] end
  if not seed then return -1 end
  redis.call('SET', KEYS[1], seed, 'NX')
end
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return n
"""
_decide_script = None


@dataclasses.dataclass(frozen=True)
class QuotaDecision:
    position: int  # this delivery is the user's position-th
    limit: int  # ad-free deliveries: base + bonus
    paid: bool

    @property
    def ad_free(self) -> bool:
        return self.paid or self.position <= self.limit


def quota_decide(*, user_id: int) -> QuotaDecision:
    """Count one delivery for the user, atomically, and say whether it is ad-free."""
    limit = quota_base(user_id) + quota_bonus(user_id)
    paid = user_paid_status(user_id).paid
    position = None
    if redis_usable():
        try:
            position = _redis_decide(user_id)
        except RedisError as error:
            redis_failed(error)
    if position is None:
        position = _postgres_decide(user_id)
    return QuotaDecision(position=position, limit=limit, paid=paid)


def _redis_decide(user_id: int) -> int:
    global _decide_script
    client = ads_redis()
    if _decide_script is None or _decide_script.registered_client is not client:
        _decide_script = client.register_script(_DECIDE)
    keys = [decided_key(user_id), user_total_key(user_id)]
    position = _decide_script(keys=keys, args=["", DECIDED_TTL])
    if position == -1:
        position = _decide_script(keys=keys, args=[_postgres_count(user_id), DECIDED_TTL])
    return int(position)


def _postgres_count(user_id: int) -> int:
    total = BotUser.objects.filter(pk=user_id).values_list("total_downloads", flat=True).first()
    decided = QuotaCount.objects.filter(pk=user_id).values_list("decided", flat=True).first()
    return max(total or 0, decided or 0)


@transaction.atomic
def _postgres_decide(user_id: int) -> int:
    """The decision without Redis: the user's quota row, locked, counts the delivery."""
    QuotaCount.objects.bulk_create([QuotaCount(user_id=user_id)], ignore_conflicts=True)
    row = QuotaCount.objects.select_for_update().get(pk=user_id)
    total = BotUser.objects.filter(pk=user_id).values_list("total_downloads", flat=True).first()
    row.decided = max(row.decided, total or 0) + 1
    row.save(update_fields=["decided", "updated_at"])
    return row.decided


# --- Choosing an ad -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChosenAd:
    impression_id: uuid.UUID
    user_id: int
    campaign_id: int
    creative_id: int | None
    surface: str
    language: str
    media_key: str
    text: str  # the ad message, labelled, Telegram HTML
    button_text: str
    url: str  # the click redirect


@dataclasses.dataclass(frozen=True)
class AdDecision:
    quota: QuotaDecision
    ad: ChosenAd | None = None
    no_fill: bool = False


AD_SURFACES = frozenset({"private", "inline"})


def ad_decide(
    *,
    user_id: int,
    language: str,
    surface: str,
    media_key: str = "",
    rng: random.Random | None = None,
    at: dt.datetime | None = None,
) -> AdDecision:
    """Count the delivery against the quota and, past it, choose the ad it carries. A
    delivery due an ad with no campaign eligible goes without one and is counted as a
    no fill."""
    quota = quota_decide(user_id=user_id)
    if quota.ad_free or surface not in AD_SURFACES:
        return AdDecision(quota=quota)
    at = at or timezone.now()
    impression_id = uuid.uuid4()
    campaign = campaign_reserve(
        user_id=user_id,
        language=language,
        rng=rng or system_rng,
        at=at,
        impression_id=impression_id,
    )
    if campaign is None:
        publish(AdNoFill(user_id=user_id, surface=surface, language=language))
        return AdDecision(quota=quota, no_fill=True)
    ad = _ad(impression_id, campaign, user_id, language, surface, media_key)
    if surface == "inline":
        # An inline result goes out with its button at once (Telegram, not the bot, sends
        # the picked result), so the impression counts when the result is served.
        ad_shown(ad)
    return AdDecision(quota=quota, ad=ad)


def _ad(
    impression_id: uuid.UUID,
    campaign: RunningCampaign,
    user_id: int,
    language: str,
    surface: str,
    media_key: str,
) -> ChosenAd:
    creative = creative_choose(campaign, user_id)
    return ChosenAd(
        impression_id=impression_id,
        user_id=user_id,
        campaign_id=campaign.campaign_id,
        creative_id=creative.creative_id,
        surface=surface,
        language=language,
        media_key=media_key,
        text=ad_text(campaign, creative.message, language),
        button_text=creative.button_text,
        url=click_url(ClickClaim(impression_id, campaign.campaign_id, user_id)),
    )


def ad_header(*, language: str, advertiser: str, marking: str) -> str:
    parts = [texts.render(language, texts.AD_LABEL), advertiser, marking]
    return "<i>" + escape(" · ".join(part for part in parts if part), quote=False) + "</i>"


def ad_text(campaign: RunningCampaign, message: str, language: str) -> str:
    header = ad_header(language=language, advertiser=campaign.advertiser, marking=campaign.marking)
    return f"{header}\n\n{message}"


def ad_inline_button_text(ad: ChosenAd) -> str:
    return texts.render(ad.language, texts.AD_INLINE_BUTTON, button=ad.button_text)


# Redis keys of a campaign's impression counters (reserved when an ad is chosen).
def _total_key(campaign_id: int) -> str:
    return f"ads:campaign:{campaign_id}:shown"


def _day_key(campaign_id: int, day: dt.date) -> str:
    return f"ads:campaign:{campaign_id}:shown:{day:%Y%m%d}"


def _user_day_key(campaign_id: int, user_id: int, day: dt.date) -> str:
    return f"ads:campaign:{campaign_id}:user:{user_id}:{day:%Y%m%d}"


DAY_KEY_TTL = 2 * 86400
PENDING_IMPRESSION_TTL = 86400


def campaign_reserve(
    *,
    user_id: int,
    language: str,
    rng: random.Random,
    at: dt.datetime,
    impression_id: uuid.UUID | None = None,
) -> RunningCampaign | None:
    """Weighted choice among the campaigns running for the language and under their
    caps; the chosen one's counters are taken at once, so concurrent deliveries cannot
    overshoot a cap (one that lost the race is put back and the choice made again)."""
    candidates = [c for c in campaigns_running() if c.runs_at(at) and c.speaks(language)]
    if not candidates:
        return None
    day = utc_today(at)
    if not redis_usable():
        return _choose_by_postgres(candidates, user_id, rng, at)
    try:
        return _choose_by_redis(candidates, user_id, rng, day, impression_id)
    except RedisError as error:
        redis_failed(error)
        return _choose_by_postgres(candidates, user_id, rng, at)


def _counts(campaign: RunningCampaign, total: int, today: int, user_today: int) -> bool:
    return (
        under_cap(max(total, campaign.shown_total), campaign.total_cap)
        and under_cap(max(today, campaign.shown_today), campaign.daily_cap)
        and under_cap(user_today, campaign.user_daily_cap)
    )


def _choose_by_redis(
    candidates: list[RunningCampaign],
    user_id: int,
    rng: random.Random,
    day: dt.date,
    impression_id: uuid.UUID | None,
) -> RunningCampaign | None:
    client = ads_redis()
    keys = [
        key
        for c in candidates
        for key in (_total_key(c.campaign_id), _day_key(c.campaign_id, day),
                    _user_day_key(c.campaign_id, user_id, day))
    ]  # fmt: skip
    values = [int(v or 0) for v in client.mget(keys)]
    eligible = [c for i, c in enumerate(candidates) if _counts(c, *values[3 * i : 3 * i + 3])]
    while eligible:
        chosen = weighted_choice(eligible, [c.weight for c in eligible], rng=rng)
        if _reserve(client, chosen, user_id, day, impression_id):
            return chosen
        eligible.remove(chosen)
    return None


def _reserve(
    client, campaign: RunningCampaign, user_id: int, day: dt.date, impression_id: uuid.UUID | None
) -> bool:
    """Take the campaign's counters; in the same round trip, tell the click redirect about
    the impression (its click may beat the event worker's storing it)."""
    keys = (
        _total_key(campaign.campaign_id),
        _day_key(campaign.campaign_id, day),
        _user_day_key(campaign.campaign_id, user_id, day),
    )
    pipe = client.pipeline(transaction=True)
    for key in keys:
        pipe.incr(key)
    pipe.expire(keys[1], DAY_KEY_TTL)
    pipe.expire(keys[2], DAY_KEY_TTL)
    if impression_id is not None:
        pending = pending_impression_key(str(impression_id))
        pipe.set(pending, campaign.campaign_id, ex=PENDING_IMPRESSION_TTL)
    total, today, user_today, *_ = pipe.execute()
    if _counts(campaign, total - 1, today - 1, user_today - 1):
        return True
    pipe = client.pipeline(transaction=True)
    for key in keys:
        pipe.decr(key)
    if impression_id is not None:
        pipe.delete(pending)
    pipe.execute()
    return False


def _choose_by_postgres(
    candidates: list[RunningCampaign], user_id: int, rng: random.Random, at: dt.datetime
) -> RunningCampaign | None:
    """Without Redis the caps are read from the impressions PostgreSQL holds."""
    shown = user_shown_today(user_id, [c.campaign_id for c in candidates], at)
    eligible = [c for c in candidates if _counts(c, 0, 0, shown.get(c.campaign_id, 0))]
    if not eligible:
        return None
    return weighted_choice(eligible, [c.weight for c in eligible], rng=rng)


# --- Impressions and clicks -----------------------------------------------------------


def ad_shown(ad: ChosenAd) -> None:
    """Telegram accepted the ad: record the impression (idempotent on its id)."""
    publish(
        AdShown(
            event_id=ad.impression_id,
            user_id=ad.user_id,
            campaign_id=ad.campaign_id,
            creative_id=ad.creative_id,
            surface=ad.surface,
            language=ad.language,
            media_key=ad.media_key,
        )
    )


def ad_refused(ad: ChosenAd, error: BaseException) -> None:
    """Telegram refused the ad (the video went out anyway): logged, and its link forgotten."""
    log.warning(
        "Telegram refused the ad of campaign %s for user %s: %s", ad.campaign_id, ad.user_id, error
    )
    if redis_usable():
        try:
            ads_redis().delete(pending_impression_key(str(ad.impression_id)))
        except RedisError as error:
            redis_failed(error)


# The click event's id follows from the impression, so the same click published twice
# is one event, and the table's unique impression keeps later clicks out.
_CLICK_NAMESPACE = uuid.UUID("5d0c3f0e-8a43-4f0b-9d43-6a2f3c1b7e21")


def ad_click_record(*, claim: ClickClaim) -> None:
    publish(
        AdClicked(
            event_id=uuid.uuid5(_CLICK_NAMESPACE, claim.impression_id.hex),
            impression_id=claim.impression_id,
            user_id=claim.user_id,
            campaign_id=claim.campaign_id,
        )
    )


# --- The back office ------------------------------------------------------------------


def campaigns_set_active(*, campaign_ids: list[int], active: bool) -> int:
    """Pause or resume; compare-and-set, returns how many changed."""
    changed = AdCampaign.objects.filter(pk__in=campaign_ids, is_active=not active).update(
        is_active=active, updated_at=timezone.now()
    )
    campaigns_forget()
    return changed


DEMO_CAMPAIGN = "Sandbox demo"


def demo_campaign_seed() -> AdCampaign:
    """One running campaign, so the sandbox shows ads once the free downloads are used."""
    campaign, _created = AdCampaign.objects.get_or_create(
        name=DEMO_CAMPAIGN,
        defaults={
            "advertiser": "Videobot",
            "message": "<b>Like this bot?</b> Tell your friends: each one you invite gives "
            "you more downloads without ads.",
            "button_text": "Learn more",
            "button_url": "https://example.com/videobot",
            "ad_marking": "demo",
        },
    )
    campaigns_forget()
    return campaign
