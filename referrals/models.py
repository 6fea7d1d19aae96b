"""Referrals: each user's code, who brought whom, and the ledger of bonuses.

History is kept: a referral or a bonus row outlives nothing it points to only by
accident, so every reference to a user is ``PROTECT``.
"""

from __future__ import annotations

import re
import secrets

from django.db import models
from django.db.models import F, Q

# The one place this app names the users model.
USER_MODEL = "users.BotUser"

# Lower-case letters and digits without the look-alikes 0/o, 1/l/i: a code read aloud
# or copied by hand survives. 8 of 31 letters: 8.5e11 codes, drawn from the OS random
# source, so a code says nothing about its owner and cannot be guessed from an id.
REFERRAL_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
REFERRAL_CODE_LENGTH = 8
_CODE = re.compile(rf"[{REFERRAL_CODE_ALPHABET}]{{{REFERRAL_CODE_LENGTH}}}")


def referral_code_generate() -> str:
    """The one generator of referral codes (the unique constraint catches collisions)."""
    return "".join(secrets.choice(REFERRAL_CODE_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def referral_code_normalize(code: str) -> str | None:
    """The stored form of a code as typed in a link (case does not matter), or None
    when it cannot be a code at all."""
    code = (code or "").strip().lower()
    return code if _CODE.fullmatch(code) else None


class Referrer(models.Model):
    """A user's referral code (made the first time they need it) and whether they may
    still earn bonuses."""

    user = models.OneToOneField(
        USER_MODEL, on_delete=models.PROTECT, primary_key=True, related_name="referrer"
    )
    code = models.CharField(max_length=16, unique=True, help_text="Lower case; links ignore case")
    created_at = models.DateTimeField(auto_now_add=True)
    earning_blocked = models.BooleanField(
        default=False, help_text="Referrals are still recorded, but earn no bonus"
    )
    earning_blocked_reason = models.TextField(blank=True)
    earning_blocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "referrers"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.code} ({self.user_id})"


class BonusOutcome(models.TextChoices):
    PENDING = "pending", "waiting for the first download"
    PAID = "paid", "bonus paid"
    CAPPED_DAY = "capped_day", "daily cap reached"
    CAPPED_TOTAL = "capped_total", "total cap reached"
    BLOCKED = "blocked", "referrer blocked from earning"


class Referral(models.Model):
    """Who brought whom. A user can be referred once, and never by themselves. The
    referral is activated by the referred user's first download."""

    # History: deleting a user must not silently take who-brought-whom with it (the
    # admin refuses and lists these rows instead).
    referrer = models.ForeignKey(
        USER_MODEL, on_delete=models.PROTECT, related_name="referrals_made"
    )
    referred_user = models.OneToOneField(
        USER_MODEL, on_delete=models.PROTECT, related_name="referral"
    )
    created_at = models.DateTimeField(db_index=True)
    activated_at = models.DateTimeField(null=True, blank=True, db_index=True)
    outcome = models.CharField(
        max_length=16, choices=BonusOutcome.choices, default=BonusOutcome.PENDING
    )

    class Meta:
        db_table = "referrals"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(referrer=F("referred_user")), name="referrals_not_self"
            ),
        ]
        indexes = [models.Index(fields=["referrer", "created_at"], name="referrals_referrer")]

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.referred_user_id}"

    @property
    def is_activated(self) -> bool:
        return self.activated_at is not None


class BonusReason(models.TextChoices):
    REFERRAL = "referral", "a referred friend's first download"
    WELCOME = "welcome", "welcome bonus for joining through a link"
    REVOCATION = "revocation", "revoked"


class ReferralBonus(models.Model):
    """One line of the ledger: ad-free downloads granted (positive) or revoked
    (negative, pointing at the grant it cancels). A user's bonus is the sum."""

    user = models.ForeignKey(USER_MODEL, on_delete=models.PROTECT, related_name="referral_bonuses")
    amount = models.IntegerField(help_text="Ad-free downloads; negative for a revocation")
    reason = models.CharField(max_length=16, choices=BonusReason.choices)
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="bonuses"
    )
    revokes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="revocation"
    )
    note = models.TextField(blank=True, help_text="Why (required for a revocation)")
    created_by = models.CharField(max_length=150, blank=True, help_text="Staff member, if any")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "referral_bonuses"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "referral bonuses"
        constraints = [
            # Exactly once: one referrer bonus and one welcome bonus per referral.
            models.UniqueConstraint(
                fields=["referral", "reason"],
                condition=Q(reason__in=["referral", "welcome"]),
                name="referral_bonuses_once",
            ),
            models.CheckConstraint(
                condition=(Q(reason="revocation", amount__lt=0, revokes__isnull=False))
                | (~Q(reason="revocation") & Q(amount__gt=0, revokes__isnull=True)),
                name="referral_bonuses_sign",
            ),
        ]
        indexes = [models.Index(fields=["user", "reason", "created_at"], name="bonuses_user")]

    def __str__(self) -> str:
        return f"{self.amount:+d} to {self.user_id} ({self.reason})"


# --- the dashboard's rollups (kept by the rollup job, ``referrals.dashboard``) ---------


class ReferralsHourly(models.Model):
    """Per UTC hour: referrals created, referrals activated and the bonus ledger's net
    sum, so the dashboard cuts local days without reading the referrals tables."""

    hour = models.DateTimeField(unique=True)
    invited = models.IntegerField(default=0)
    activated = models.IntegerField(default=0)
    bonus = models.BigIntegerField(default=0)

    class Meta:
        db_table = "dash_referrals_hourly"

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00"


class ReferrerTotal(models.Model):
    """Referrals made by each referrer who made at least ``REFERRER_TOTAL_MIN``: the
    candidates of a long period's top referrers (one who brought k friends in the period
    brought at least k in all)."""

    referrer_id = models.BigIntegerField(unique=True)
    invited = models.IntegerField()

    class Meta:
        db_table = "dash_referrer_totals"
        indexes = [
            models.Index(fields=["-invited", "referrer_id"], name="dash_referrer_totals_top")
        ]

    def __str__(self) -> str:
        return f"{self.referrer_id}: {self.invited}"
