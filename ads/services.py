"""Writes: the quota decision, the ad chosen for a delivery, its impression and click,
and the back office's campaign actions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import uuid
from html import escape

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from abtests import kinds
from abtests.models import ExperimentKind
from abtests.selectors import VariantChoice
from abtests.services import (
    exposure_record,
    free_downloads_of,
    quota_exposure_record,
    variant_for,
    variant_known,
)
from analytics.counters import user_total_key
from analytics.events import AdClicked, AdNoFill, AdShown
from analytics.publisher import publish
from referrals.selectors import BONUS_CACHE_SECONDS, bonus_key
from users.models import BotUser

from . import texts
from .fast_redis import ads_redis, redis_failed, redis_usable
from .models import AdCampaign, QuotaCount
from .rotation import system_rng, under_cap, weighted_pick
from .selectors import (
    QuotaState,
    RunningCampaign,
    campaigns_forget,
    campaigns_running,
    campaigns_snapshot,
    creative_pick,
    decided_key,
    paid_key,
    pending_impression_key,
    quota_state,
    user_shown_today,
    utc_today,
)
from .tokens import ClickClaim, click_url

log = logging.getLogger(__name__)

# --- The decision: quota, and past it the ad --------------------------------------------

# A user's count of decided deliveries lives in Redis while they are active; idle, it
# expires and is seeded again from the counted downloads, which by then include every
# delivery it decided (and forget any it decided that never reached the user).
DECIDED_TTL = 3600
DAY_KEY_TTL = 2 * 86400
PENDING_IMPRESSION_TTL = 86400

# A user's paid status and referral bonus are kept in Redis (the payment and referral
# services drop a copy when they change it; the TTL bounds what a lost drop could cost),
# so a delivery is usually decided by Redis alone, on the event loop, without a thread
# hop or a PostgreSQL query.
PAID_TTL = 300

# One round trip decides a delivery: the quota and, past it, the campaign (the same
# weighted choice as ``rotation.weighted_choice``, with the caller's random number), whose
# counters it takes at once, so neither the quota nor a cap can be overshot.
# KEYS: decided, downloads_total, pending impression, paid until, referral bonus, then
# per candidate its total, day and user-day counters. ARGV: decided seed ('' unless read
# from PostgreSQL), decided ttl, base limit ('' when no ad can be due), random number in
# [0, 1), day ttl, pending ttl, paid-until seed (epoch seconds, 0 for none; '' unless
# read from PostgreSQL), paid ttl, now (epoch seconds), bonus seed ('' unless read from
# PostgreSQL), bonus ttl, then per candidate: weight, total cap, daily cap, user daily
# cap (-1: none), total and today impressions PostgreSQL knows (floors for counters
# Redis may have lost).
# Returns {position, outcome, paid, bonus}: position -1, -2 or -3 when the decided
# count, the paid status or the bonus must first be read from PostgreSQL (nothing was
# changed); outcome 0 = no ad due, -1 = no fill, else the chosen candidate's index.
_DECIDE = """
local paid = redis.call('GET', KEYS[4])
if not paid then
  if ARGV[7] == '' then return {-2, 0, 0, 0} end
  paid = ARGV[7]
  redis.call('SET', KEYS[4], paid, 'EX', ARGV[8])
end
paid = (tonumber(paid) > tonumber(ARGV[9])) and 1 or 0
local bonus = redis.call('GET', KEYS[5])
if not bonus then
  if ARGV[10] == '' then return {-3, 0, paid, 0} end
  bonus = ARGV[10]
  redis.call('SET', KEYS[5], bonus, 'EX', ARGV[11])
end
bonus = tonumber(bonus)
if redis.call('EXISTS', KEYS[1]) == 0 then
  local seed = redis.call('GET', KEYS[2])
  if ARGV[1] ~= '' and (not seed or tonumber(ARGV[1]) > tonumber(seed)) then seed = ARGV[1] end
  if not seed then return {-1, 0, paid, bonus} end
  redis.call('SET', KEYS[1], seed, 'NX')
end
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
if paid == 1 or ARGV[3] == '' or n <= tonumber(ARGV[3]) + bonus then return {n, 0, paid, bonus} end
local function under(count, cap) return cap < 0 or count < cap end
local eligible, weights, sum = {}, {}, 0
for i = 1, (#KEYS - 5) / 3 do
  local k, a = 5 + (i - 1) * 3, 11 + (i - 1) * 6
  local total = math.max(tonumber(redis.call('GET', KEYS[k + 1]) or '0'), tonumber(ARGV[a + 5]))
  local today = math.max(tonumber(redis.call('GET', KEYS[k + 2]) or '0'), tonumber(ARGV[a + 6]))
  local user = tonumber(redis.call('GET', KEYS[k + 3]) or '0')
  if under(total, tonumber(ARGV[a + 2])) and under(today, tonumber(ARGV[a + 3]))
     and under(user, tonumber(ARGV[a + 4])) then
    sum = sum + tonumber(ARGV[a + 1])
    eligible[#eligible + 1] = i
    weights[#weights + 1] = sum
  end
end
if #eligible == 0 then return {n, -1, paid, bonus} end
local point, chosen = tonumber(ARGV[4]) * sum, eligible[#eligible]
for j = 1, #eligible do
  if point < weights[j] then chosen = eligible[j] break end
end
local k = 5 + (chosen - 1) * 3
redis.call('INCR', KEYS[k + 1])
redis.call('INCR', KEYS[k + 2])
redis.call('EXPIRE', KEYS[k + 2], ARGV[5])
redis.call('INCR', KEYS[k + 3])
redis.call('EXPIRE', KEYS[k + 3], ARGV[5])
redis.call('SET', KEYS[3], chosen, 'EX', ARGV[6])
return {n, chosen, paid, bonus}
"""
_decide_script = None
NO_AD_DUE, NO_FILL = 0, -1
NEEDS_COUNT, NEEDS_PAID, NEEDS_BONUS = -1, -2, -3


@dataclasses.dataclass(frozen=True)
class QuotaDecision:
    position: int  # this delivery is the user's position-th
    limit: int  # ad-free deliveries: base + bonus
    paid: bool

    @property
    def ad_free(self) -> bool:
        return self.paid or self.position <= self.limit


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
    experiment: VariantChoice | None = None  # the ad-text arm that chose the creative


@dataclasses.dataclass(frozen=True)
class AdDecision:
    quota: QuotaDecision
    ad: ChosenAd | None = None
    no_fill: bool = False


AD_SURFACES = frozenset({"private", "inline"})


@dataclasses.dataclass(frozen=True)
class _Slot:
    """One delivery to decide: who, where, and the campaigns it could carry."""

    user_id: int
    language: str
    surface: str
    media_key: str
    at: dt.datetime
    candidates: list[RunningCampaign]
    point: float
    impression_id: uuid.UUID
    arms: Arms


@dataclasses.dataclass(frozen=True)
class Arms:
    """The user's arms of the running experiments a delivery decision depends on."""

    free_limit: VariantChoice | None = None  # the quota's base
    ad_text: VariantChoice | None = None  # the creative

    @property
    def base(self) -> int:
        return free_downloads_of(self.free_limit, default=settings.FREE_DOWNLOADS)


def arms_lookup(user_id: int) -> Arms:
    """The user's arms (synchronous code: may read PostgreSQL and Redis)."""
    return Arms(
        free_limit=variant_for(user_id=user_id, kind=ExperimentKind.FREE_LIMIT),
        ad_text=variant_for(user_id=user_id, kind=ExperimentKind.AD_TEXT),
    )


def arms_known(user_id: int) -> Arms | None:
    """The user's arms if this process knows them without I/O, else None."""
    known_limit, free_limit = variant_known(user_id=user_id, kind=ExperimentKind.FREE_LIMIT)
    known_text, ad_text = variant_known(user_id=user_id, kind=ExperimentKind.AD_TEXT)
    if not (known_limit and known_text):
        return None
    return Arms(free_limit=free_limit, ad_text=ad_text)


def _slot(
    user_id: int,
    language: str,
    surface: str,
    media_key: str,
    rng: random.Random | None,
    at: dt.datetime | None,
    campaigns: list[RunningCampaign],
    arms: Arms,
) -> _Slot:
    at = at or timezone.now()
    may_carry = surface in AD_SURFACES
    return _Slot(
        user_id=user_id,
        language=language,
        surface=surface,
        media_key=media_key,
        at=at,
        candidates=[c for c in campaigns if c.runs_at(at) and c.speaks(language)]
        if may_carry
        else [],
        point=(rng or system_rng).random(),
        impression_id=uuid.uuid4(),
        arms=arms,
    )


def quota_decide(*, user_id: int) -> QuotaDecision:
    """Count one delivery for the user, atomically, and say whether it is ad-free."""
    return ad_decide(user_id=user_id, language="", surface="").quota


def ad_decide(
    *,
    user_id: int,
    language: str,
    surface: str,
    media_key: str = "",
    rng: random.Random | None = None,
    at: dt.datetime | None = None,
) -> AdDecision:
    """Count the delivery against the quota (every surface) and, past it, choose the ad it
    carries (private chat and inline only; never for a paid user). A delivery due an ad
    with no campaign eligible goes without one and is counted as a no fill. Reads
    PostgreSQL once (synchronous code only; ``ad_decide_from_redis`` is the event loop's)
    and seeds the Redis copies the fast path reads."""
    slot = _slot(
        user_id, language, surface, media_key, rng, at, campaigns_running(), arms_lookup(user_id)
    )
    state = quota_state(user_id)
    outcome = None
    if redis_usable():
        try:
            outcome = _redis_decide(slot, seeds=state)
        except RedisError as error:
            redis_failed(error)
    if outcome is None:
        outcome = _postgres_decide(slot, state)
    return _decided(slot, *outcome)


# Seeds the copies the event loop's decision reads, counting nothing: the decided count
# (the highest of PostgreSQL's and the counted downloads in Redis), the paid status and
# the bonus, each only where missing. KEYS: decided, downloads_total, paid until, bonus.
# ARGV: count seed, decided ttl, paid-until seed, paid ttl, bonus seed, bonus ttl.
_SEED = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  local seed = redis.call('GET', KEYS[2])
  if not seed or tonumber(ARGV[1]) > tonumber(seed) then seed = ARGV[1] end
  redis.call('SET', KEYS[1], seed, 'EX', ARGV[2])
end
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4], 'NX')
redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6], 'NX')
return 1
"""
_seed_script = None


def quota_warm(user: BotUser) -> None:
    """Load what a delivery's decision reads, in the thread hop that read the user's row
    (a user new to this process): the campaigns, the user's experiment arms, and in Redis
    their count, paid status and bonus. Their first delivery is then decided on the event
    loop like any other, instead of taking a thread hop of its own."""
    global _seed_script
    if campaigns_snapshot() is None:  # a due one is reloaded in the background meanwhile
        campaigns_running()
    arms_lookup(user.user_id)
    if not redis_usable():
        return
    count_seed, paid_seed, bonus_seed = _seeds(quota_state(user.user_id))
    client = ads_redis()
    if _seed_script is None or _seed_script.registered_client is not client:
        _seed_script = client.register_script(_SEED)
    keys = [decided_key(user.user_id), user_total_key(user.user_id), paid_key(user.user_id),
            bonus_key(user.user_id)]  # fmt: skip
    try:
        _seed_script(
            keys=keys,
            args=[count_seed, DECIDED_TTL, paid_seed, PAID_TTL, bonus_seed, BONUS_CACHE_SECONDS],
        )
    except RedisError as error:
        redis_failed(error)


def _seeds(state: QuotaState) -> tuple[int, float, int]:
    """(count, paid-until in epoch seconds or 0, bonus) as the scripts take them."""
    paid_seed = state.paid_until.timestamp() if state.paid_until else 0
    return state.counted, paid_seed, state.bonus


def ad_decide_from_redis(
    *, user_id: int, language: str, surface: str, media_key: str = ""
) -> AdDecision | None:
    """``ad_decide`` in one short Redis call, for the event loop: None when PostgreSQL
    must answer first (a user not seen for an hour, the paid status or bonus not cached,
    no recent campaigns' snapshot, Redis down)."""
    campaigns = campaigns_snapshot()
    arms = arms_known(user_id)  # an experiment new to this process or a new user: the hop
    if arms is None or campaigns is None or not redis_usable():
        return None
    slot = _slot(user_id, language, surface, media_key, None, None, campaigns, arms)
    try:
        outcome = _redis_decide(slot)
    except RedisError as error:
        redis_failed(error)
        return None
    if outcome[0] < 0:
        return None
    return _decided(slot, *outcome)


def _decided(slot: _Slot, position: int, chosen: int, paid: int | bool, bonus: int) -> AdDecision:
    quota = QuotaDecision(position=position, limit=slot.arms.base + bonus, paid=bool(paid))
    if not paid and slot.surface in AD_SURFACES:  # only there can the base change what is seen
        quota_exposure_record(
            user_id=slot.user_id, choice=slot.arms.free_limit, position=position - bonus
        )
    if chosen == NO_AD_DUE:
        return AdDecision(quota=quota)
    if chosen == NO_FILL:
        publish(AdNoFill(user_id=slot.user_id, surface=slot.surface, language=slot.language))
        return AdDecision(quota=quota, no_fill=True)
    ad = _ad(slot, slot.candidates[chosen - 1])
    if slot.surface == "inline":
        # An inline result goes out with its button at once (Telegram, not the bot, sends
        # the picked result), so the impression counts when the result is served.
        ad_shown(ad)
    return AdDecision(quota=quota, ad=ad)


def _redis_decide(slot: _Slot, *, seeds: QuotaState | None = None) -> tuple[int, int, int, int]:
    """The script's answer; ``seeds`` (read from PostgreSQL) fill the copies Redis lacks."""
    global _decide_script
    client = ads_redis()
    if _decide_script is None or _decide_script.registered_client is not client:
        _decide_script = client.register_script(_DECIDE)
    user_id, day = slot.user_id, utc_today(slot.at)
    keys = [decided_key(user_id), user_total_key(user_id),
            pending_impression_key(str(slot.impression_id)), paid_key(user_id),
            bonus_key(user_id)]  # fmt: skip
    count_seed, paid_seed, bonus_seed = ("", "", "") if seeds is None else _seeds(seeds)
    args: list = [
        count_seed, DECIDED_TTL,
        slot.arms.base if slot.surface in AD_SURFACES else "", repr(slot.point), DAY_KEY_TTL,
        PENDING_IMPRESSION_TTL, paid_seed, PAID_TTL, repr(slot.at.timestamp()),
        bonus_seed, BONUS_CACHE_SECONDS,
    ]  # fmt: skip
    for c in slot.candidates:
        keys += [_total_key(c.campaign_id), _day_key(c.campaign_id, day),
                 _user_day_key(c.campaign_id, user_id, day)]  # fmt: skip
        args += [c.weight, _cap(c.total_cap), _cap(c.daily_cap), _cap(c.user_daily_cap),
                 c.shown_total, c.shown_today]  # fmt: skip
    position, chosen, paid, bonus = _decide_script(keys=keys, args=args)
    return int(position), int(chosen), int(paid), int(bonus)


def paid_status_forget(*, user_id: int) -> None:
    """The user's ``paid_until`` changed: the next delivery reads it from PostgreSQL."""
    if redis_usable():
        try:
            ads_redis().delete(paid_key(user_id))
        except RedisError as error:
            redis_failed(error)


def _cap(cap: int | None) -> int:
    return -1 if cap is None else cap


@transaction.atomic
def _postgres_decide(slot: _Slot, state: QuotaState) -> tuple[int, int, bool, int]:
    """The decision without Redis: the user's quota row, locked, counts the delivery; the
    caps are read from the impressions PostgreSQL holds."""
    user_id, paid, limit = slot.user_id, state.paid, slot.arms.base + state.bonus
    QuotaCount.objects.bulk_create([QuotaCount(user_id=user_id)], ignore_conflicts=True)
    row = QuotaCount.objects.select_for_update().get(pk=user_id)
    total = BotUser.objects.filter(pk=user_id).values_list("total_downloads", flat=True).first()
    row.decided = max(row.decided, total or 0) + 1
    row.save(update_fields=["decided", "updated_at"])
    if paid or slot.surface not in AD_SURFACES or row.decided <= limit:
        return row.decided, NO_AD_DUE, paid, state.bonus
    candidates = slot.candidates
    shown = user_shown_today(user_id, [c.campaign_id for c in candidates], slot.at)
    eligible = [
        i for i, c in enumerate(candidates, 1) if _under_caps(c, shown.get(c.campaign_id, 0))
    ]
    if not eligible:
        return row.decided, NO_FILL, paid, state.bonus
    weights = [candidates[i - 1].weight for i in eligible]
    return row.decided, weighted_pick(eligible, weights, point=slot.point), paid, state.bonus


def _under_caps(campaign: RunningCampaign, user_today: int) -> bool:
    return (
        under_cap(campaign.shown_total, campaign.total_cap)
        and under_cap(campaign.shown_today, campaign.daily_cap)
        and under_cap(user_today, campaign.user_daily_cap)
    )


def _ad(slot: _Slot, campaign: RunningCampaign) -> ChosenAd:
    creative, arm = creative_pick(campaign, slot.user_id, arm=slot.arms.ad_text)
    return ChosenAd(
        impression_id=slot.impression_id,
        user_id=slot.user_id,
        campaign_id=campaign.campaign_id,
        creative_id=creative.creative_id,
        surface=slot.surface,
        language=slot.language,
        media_key=slot.media_key,
        text=ad_text(campaign, creative.message, slot.language),
        button_text=creative.button_text,
        url=click_url(ClickClaim(slot.impression_id, campaign.campaign_id, slot.user_id)),
        experiment=arm,
    )


def ad_header(*, language: str, advertiser: str, marking: str) -> str:
    parts = [texts.render(language, texts.AD_LABEL), advertiser, marking]
    return "<i>" + escape(" · ".join(part for part in parts if part), quote=False) + "</i>"


def ad_text(campaign: RunningCampaign, message: str, language: str) -> str:
    header = ad_header(language=language, advertiser=campaign.advertiser, marking=campaign.marking)
    return f"{header}\n\n{message}"


def ad_inline_button_text(ad: ChosenAd) -> str:
    return texts.render(ad.language, texts.AD_INLINE_BUTTON, button=ad.button_text)


# Redis keys of a campaign's impression counters (taken when an ad is chosen).
def _total_key(campaign_id: int) -> str:
    return f"ads:campaign:{campaign_id}:shown"


def _day_key(campaign_id: int, day: dt.date) -> str:
    return f"ads:campaign:{campaign_id}:shown:{day:%Y%m%d}"


def _user_day_key(campaign_id: int, user_id: int, day: dt.date) -> str:
    return f"ads:campaign:{campaign_id}:user:{user_id}:{day:%Y%m%d}"


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
    exposure_record(user_id=ad.user_id, choice=ad.experiment, surface=kinds.SURFACE_AD)


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
