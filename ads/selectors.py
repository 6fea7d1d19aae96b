"""Reads: a user's quota, the campaigns that may be shown, a campaign's creative."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
import zlib

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from redis.exceptions import RedisError

from abtests.models import ExperimentKind
from abtests.selectors import VariantChoice
from abtests.services import ad_creative_of, free_downloads_for, variant_for
from analytics.counters import user_total_key
from config.refresh import refresh_soon
from referrals.models import ReferralBonus
from referrals.selectors import referral_bonus_total
from users.models import BotUser

from .fast_redis import ads_redis, redis_failed, redis_usable
from .models import AdCampaign, AdCreative, AdImpression, QuotaCount

# --- The free quota -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Quota:
    base: int
    bonus: int
    used: int
    left: int  # ad-free deliveries left: max(base + bonus - used, 0)
    paid: bool
    paid_until: dt.datetime | None = None


def quota_base_choice(user_id: int) -> tuple[int, VariantChoice | None]:
    """Ad-free deliveries everyone gets, or what the user's arm of a running free-limit
    experiment gives, with that arm (to count the user once it made a difference)."""
    return free_downloads_for(user_id=user_id, default=settings.FREE_DOWNLOADS)


def quota_base(user_id: int) -> int:
    """Ad-free deliveries everyone gets (a free-limit experiment may change it per user)."""
    return quota_base_choice(user_id)[0]


def quota_bonus(user_id: int) -> int:
    """Ad-free deliveries earned on top of the base (referral bonuses)."""
    return referral_bonus_total(user_id=user_id)


def decided_key(user_id: int) -> str:
    return f"ads:user:{user_id}:decided"


def paid_key(user_id: int) -> str:
    return f"ads:user:{user_id}:paid_until"


@dataclasses.dataclass(frozen=True)
class PaidStatus:
    paid: bool
    paid_until: dt.datetime | None = None


_PAID_UNTIL_SQL = "SELECT {column} FROM {table} WHERE {pk} = %s".format(  # noqa: S608
    column=BotUser._meta.get_field("paid_until").column,
    table=BotUser._meta.db_table,
    pk=BotUser._meta.pk.column,
)


def user_paid_status(user_id: int) -> PaidStatus:
    """Whether the user is in a paid (ad-free) period: ``paid_until`` still ahead. Read
    for every delivery, so in plain SQL: the ORM's query building cost six times the
    query itself."""
    with connection.cursor() as cursor:
        cursor.execute(_PAID_UNTIL_SQL, [user_id])
        row = cursor.fetchone()
    paid_until = _aware(row[0]) if row else None
    return PaidStatus(
        paid=paid_until is not None and paid_until > timezone.now(), paid_until=paid_until
    )


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """SQLite (the embedded default) hands a raw query's timestamp back as naive UTC text."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


@dataclasses.dataclass(frozen=True)
class QuotaState:
    """What PostgreSQL knows of a user's quota, read in one query for the slow path of a
    delivery's decision (the fast one finds copies of it in Redis)."""

    paid_until: dt.datetime | None
    counted: int  # the highest of the counted downloads and the decided deliveries
    bonus: int  # referral bonuses: grants minus revocations

    @property
    def paid(self) -> bool:
        return self.paid_until is not None and self.paid_until > timezone.now()


_QUOTA_STATE_SQL = """
SELECT u.{paid_until}, u.{total},
       (SELECT q.{decided} FROM {quota} q WHERE q.{quota_user} = %(user)s),
       (SELECT sum(b.{amount}) FROM {bonuses} b WHERE b.{bonus_user} = %(user)s)
FROM (SELECT 1) AS one LEFT JOIN {users} u ON u.{user_pk} = %(user)s
""".format(  # noqa: S608 (names from the models, the value a parameter)
    paid_until=BotUser._meta.get_field("paid_until").column,
    total=BotUser._meta.get_field("total_downloads").column,
    users=BotUser._meta.db_table,
    user_pk=BotUser._meta.pk.column,
    decided=QuotaCount._meta.get_field("decided").column,
    quota=QuotaCount._meta.db_table,
    quota_user=QuotaCount._meta.pk.column,
    amount=ReferralBonus._meta.get_field("amount").column,
    bonuses=ReferralBonus._meta.db_table,
    bonus_user=ReferralBonus._meta.get_field("user").column,
)


def quota_state(user_id: int) -> QuotaState:
    """Paid-until, the count and the bonus in one round trip (``user_paid_status``,
    ``quota_used``'s PostgreSQL part and ``referral_bonus_total`` together)."""
    with connection.cursor() as cursor:
        cursor.execute(_QUOTA_STATE_SQL, {"user": user_id})
        paid_until, total, decided, bonus = cursor.fetchone()
    return QuotaState(
        paid_until=_aware(paid_until),
        counted=max(total or 0, decided or 0),
        bonus=max(int(bonus or 0), 0),
    )


def quota_used(user_id: int) -> int:
    """Deliveries counted for the user: the highest of what Redis has decided or counted
    and what PostgreSQL holds (the truth, but behind by the events not yet ingested)."""
    counts = [
        BotUser.objects.filter(pk=user_id).values_list("total_downloads", flat=True).first() or 0,
        QuotaCount.objects.filter(pk=user_id).values_list("decided", flat=True).first() or 0,
    ]
    if redis_usable():
        try:
            values = ads_redis().mget([decided_key(user_id), user_total_key(user_id)])
            counts += [int(value) for value in values if value is not None]
        except RedisError as error:
            redis_failed(error)
    return max(counts)


def quota_for(user_id: int) -> Quota:
    base, bonus = quota_base(user_id), quota_bonus(user_id)
    used = quota_used(user_id)
    status = user_paid_status(user_id)
    return Quota(
        base=base,
        bonus=bonus,
        used=used,
        left=max(base + bonus - used, 0),
        paid=status.paid,
        paid_until=status.paid_until,
    )


# --- Campaigns --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Creative:
    creative_id: int | None
    message: str
    button_text: str
    name: str = ""  # what an ad-text experiment refers to it by


@dataclasses.dataclass(frozen=True)
class RunningCampaign:
    """A campaign as the rotation sees it, with its impressions PostgreSQL knew of when
    the snapshot was taken (a floor for the Redis counters, which may have been lost)."""

    campaign_id: int
    name: str
    advertiser: str
    weight: int
    languages: frozenset[str]
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    daily_cap: int | None
    total_cap: int | None
    user_daily_cap: int | None
    marking: str
    button_url: str
    default: Creative
    creatives: tuple[Creative, ...]
    shown_total: int = 0
    shown_today: int = 0

    def runs_at(self, at: dt.datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )

    def speaks(self, language: str) -> bool:
        return not self.languages or language in self.languages


SNAPSHOT_SECONDS = 5.0
# How old a snapshot the event loop may still use while its reload runs in the background.
SNAPSHOT_STALE_SECONDS = 60.0
_snapshot: tuple[float, list[RunningCampaign]] | None = None
_generation = 0  # moved by each drop, so a reload begun before it is not kept
_snapshot_lock = threading.Lock()


def utc_today(at: dt.datetime | None = None) -> dt.date:
    return (at or timezone.now()).astimezone(dt.UTC).date()


def campaigns_load(*, at: dt.datetime | None = None) -> list[RunningCampaign]:
    """Active campaigns not yet ended, with their creatives and impression counts."""
    at = at or timezone.now()
    day_start = dt.datetime.combine(utc_today(at), dt.time(), tzinfo=dt.UTC)
    campaigns = list(
        AdCampaign.objects.filter(is_active=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .order_by("pk")
    )
    ids = [campaign.pk for campaign in campaigns]
    counts = {
        row["campaign_id"]: row
        for row in AdImpression.objects.filter(campaign_id__in=ids)
        .values("campaign_id")
        .annotate(total=Count("pk"), today=Count("pk", filter=Q(created_at__gte=day_start)))
    }
    creatives: dict[int, list[Creative]] = {}
    for creative in AdCreative.objects.filter(campaign_id__in=ids, is_active=True):
        creatives.setdefault(creative.campaign_id, []).append(
            Creative(creative.pk, creative.message, creative.button_text, creative.name)
        )
    return [_running(campaign, creatives.get(campaign.pk, []), counts.get(campaign.pk, {}))
            for campaign in campaigns]  # fmt: skip


def _running(campaign: AdCampaign, creatives: list[Creative], counts: dict) -> RunningCampaign:
    default = Creative(None, campaign.message, campaign.button_text)
    return RunningCampaign(
        campaign_id=campaign.pk,
        name=campaign.name,
        advertiser=campaign.advertiser,
        weight=campaign.weight,
        languages=frozenset(campaign.language_list),
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        daily_cap=campaign.daily_impression_cap,
        total_cap=campaign.total_impression_cap,
        user_daily_cap=campaign.user_daily_cap,
        marking=campaign.ad_marking,
        button_url=campaign.button_url,
        default=default,
        creatives=tuple(
            dataclasses.replace(c, button_text=c.button_text or campaign.button_text)
            for c in creatives
        ),
        shown_total=counts.get("total", 0),
        shown_today=counts.get("today", 0),
    )


def campaigns_running() -> list[RunningCampaign]:
    """The snapshot of ``campaigns_load``, at most a few seconds old: the rotation runs
    for every delivery past the quota, and campaigns change rarely."""
    global _snapshot
    snapshot = _snapshot
    if snapshot is None or time.monotonic() - snapshot[0] > SNAPSHOT_SECONDS:
        with _snapshot_lock:
            snapshot = _snapshot
            if snapshot is None or time.monotonic() - snapshot[0] > SNAPSHOT_SECONDS:
                generation, loaded_at = _generation, time.monotonic()
                snapshot = (loaded_at, campaigns_load())
                if generation == _generation:  # else dropped meanwhile: not stored
                    _snapshot = snapshot
    return snapshot[1]


def campaigns_snapshot() -> list[RunningCampaign] | None:
    """The snapshot for the event loop, without I/O: fresh, or while a reload runs in the
    background (``config.refresh``) the one before it, up to ``SNAPSHOT_STALE_SECONDS``
    old; None when there is none that recent (the caller loads it in a thread)."""
    snapshot = _snapshot
    if snapshot is None:
        return None
    age = time.monotonic() - snapshot[0]
    if age > SNAPSHOT_SECONDS:
        if age > SNAPSHOT_STALE_SECONDS:
            return None
        refresh_soon("ad campaigns", campaigns_running)
    return snapshot[1]


def campaigns_forget() -> None:
    """Drop the snapshot (after an admin change, in this process)."""
    global _snapshot, _generation
    _generation += 1
    _snapshot = None


def creative_pick(
    campaign: RunningCampaign, user_id: int, *, arm: VariantChoice | None
) -> tuple[Creative, VariantChoice | None]:
    """The creative a user in ad-text arm ``arm`` (or None) sees, and the arm when its
    experiment covers the campaign (to count the user once the ad is shown): the arm's
    creative, or for a control arm (and without an experiment) one of the campaign's
    creatives, the same one each time for a user, or the campaign's own text."""
    name, covering = ad_creative_of(
        arm, campaign_name=campaign.name, creative_names=[c.name for c in campaign.creatives]
    )
    if name is not None:
        return next(c for c in campaign.creatives if c.name == name), covering
    if not campaign.creatives:
        return campaign.default, covering
    index = zlib.crc32(f"{campaign.campaign_id}:{user_id}".encode()) % len(campaign.creatives)
    return campaign.creatives[index], covering


def creative_choose(campaign: RunningCampaign, user_id: int) -> Creative:
    """The text a user sees (synchronous code: looks the user's ad-text arm up)."""
    arm = variant_for(user_id=user_id, kind=ExperimentKind.AD_TEXT)
    return creative_pick(campaign, user_id, arm=arm)[0]


def user_shown_today(user_id: int, campaign_ids: list[int], at: dt.datetime) -> dict[int, int]:
    day_start = dt.datetime.combine(utc_today(at), dt.time(), tzinfo=dt.UTC)
    rows = (
        AdImpression.objects.filter(
            user_id=user_id, campaign_id__in=campaign_ids, created_at__gte=day_start
        )
        .values("campaign_id")
        .annotate(n=Count("pk"))
    )
    return {row["campaign_id"]: row["n"] for row in rows}


def impression_known(impression_id) -> bool:
    if AdImpression.objects.filter(pk=impression_id).exists():
        return True
    if not redis_usable():
        return False
    try:
        return bool(ads_redis().exists(pending_impression_key(str(impression_id))))
    except RedisError as error:
        redis_failed(error)
        return False


def pending_impression_key(impression_id: str) -> str:
    """An impression chosen and not yet ingested (the click may beat the event worker)."""
    return f"ads:impression:{impression_id}"


def campaign_click_target(campaign_id: int) -> str | None:
    """The campaign's https URL (checked again: only ever an https redirect)."""
    url = AdCampaign.objects.filter(pk=campaign_id).values_list("button_url", flat=True).first()
    return url if url and url.startswith("https://") else None
