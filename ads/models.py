"""Ad campaigns and their creatives, the impressions and clicks they earned, and the
per-user count of decided deliveries that the free quota falls back to without Redis."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone

from .telegram_html import TelegramHtmlError, utf16_length, visible_text

# Users are referred to in this one place (USER_MODEL).
USER_MODEL = "users.BotUser"

MESSAGE_MAX_LENGTH = 1024  # visible characters of an ad, label and marking included
BUTTON_TEXT_MAX_LENGTH = 40
BUTTON_URL_MAX_LENGTH = 2048
MARKING_MAX_LENGTH = 64

https_only = URLValidator(schemes=["https"], message="Enter an https:// URL.")
at_least_one = MinValueValidator(1)


def message_validate(message: str) -> None:
    """Telegram's HTML subset, some visible text, and room for the label."""
    try:
        visible = visible_text(message)
    except TelegramHtmlError as error:
        raise ValidationError(f"Not Telegram HTML: {error}.") from None
    if not visible.strip():
        raise ValidationError("The ad has no visible text.")
    if utf16_length(visible) > MESSAGE_MAX_LENGTH:
        raise ValidationError(
            f"The ad is {utf16_length(visible)} characters long as shown; "
            f"at most {MESSAGE_MAX_LENGTH}."
        )


def button_text_validate(text: str) -> None:
    if "\n" in text or not text.strip():
        raise ValidationError("A button's text is one line, not empty.")


def languages_validate(value: str) -> None:
    known = {code for code, _name in settings.LANGUAGES}
    unknown = sorted({c.strip() for c in value.split(",") if c.strip()} - known)
    if unknown:
        raise ValidationError(
            f"Unknown languages: {', '.join(unknown)} (known: {', '.join(sorted(known))})."
        )


class AdCampaign(models.Model):
    """What an advertiser pays to show: a text with one button, shown by weight among the
    campaigns that are running for the user's language and still under their caps."""

    name = models.CharField(max_length=128, help_text="For the back office only")
    advertiser = models.CharField(max_length=128, blank=True)
    message = models.TextField(
        validators=[message_validate],
        help_text="Telegram HTML: b, i, u, s, a, code, pre, blockquote, tg-spoiler; at most "
        f"{MESSAGE_MAX_LENGTH} characters as shown. Creatives, when there are any, replace it.",
    )
    button_text = models.CharField(
        max_length=BUTTON_TEXT_MAX_LENGTH, validators=[button_text_validate]
    )
    button_url = models.CharField(
        max_length=BUTTON_URL_MAX_LENGTH,
        validators=[https_only],
        help_text="https only; users reach it through the bot's click redirect",
    )
    is_active = models.BooleanField(default=True)
    weight = models.PositiveIntegerField(
        default=1, validators=[at_least_one], help_text="Share of rotation, > 0"
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    languages = models.CharField(
        max_length=64,
        blank=True,
        validators=[languages_validate],
        help_text="Comma-separated UI languages (en, ru, uk, es); empty shows it to everyone",
    )
    daily_impression_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[at_least_one],
        help_text="Impressions per UTC day; empty for no cap",
    )
    total_impression_cap = models.PositiveIntegerField(
        null=True, blank=True, validators=[at_least_one]
    )
    user_daily_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[at_least_one],
        help_text="Frequency cap: impressions per user per UTC day",
    )
    ad_marking = models.CharField(
        max_length=MARKING_MAX_LENGTH,
        blank=True,
        help_text="Marking token shown with the ad where advertising law asks for one",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "ad_campaigns"
        ordering = ["-is_active", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight__gt=0), name="ad_campaign_weight_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The campaign must end after it starts."})

    @property
    def language_list(self) -> list[str]:
        return [code.strip() for code in self.languages.split(",") if code.strip()]

    def is_running(self, at: dt.datetime | None = None) -> bool:
        at = at or timezone.now()
        return (
            self.is_active
            and (self.starts_at is None or self.starts_at <= at)
            and (self.ends_at is None or at < self.ends_at)
        )


class AdCreative(models.Model):
    """One text of a campaign; an experiment may pick among them per variant."""

    campaign = models.ForeignKey(AdCampaign, on_delete=models.CASCADE, related_name="creatives")
    name = models.CharField(max_length=64, help_text="Experiments refer to it by this name")
    message = models.TextField(validators=[message_validate])
    button_text = models.CharField(
        max_length=BUTTON_TEXT_MAX_LENGTH,
        blank=True,
        validators=[button_text_validate],
        help_text="Empty: the campaign's",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "ad_creatives"
        ordering = ["campaign_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="ad_creative_campaign_name"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.name}"


class AdImpression(models.Model):
    """An ad that reached a user; written by the event worker from ``AdShown``.
    ``impression_id`` is the event's UUID, so a redelivered event is stored once."""

    impression_id = models.UUIDField(primary_key=True)
    campaign = models.ForeignKey(
        AdCampaign, on_delete=models.DO_NOTHING, db_constraint=False, related_name="impressions"
    )
    creative_id = models.BigIntegerField(null=True, blank=True)
    user = models.ForeignKey(
        USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    surface = models.CharField(max_length=16)
    language = models.CharField(max_length=8, blank=True)
    media_key = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "ad_impressions"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["campaign", "created_at"], name="ad_impr_campaign_created"),
            models.Index(fields=["user", "created_at"], name="ad_impr_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} -> {self.user_id}"


class AdClick(models.Model):
    """The first press of an impression's button (later presses redirect, unlogged)."""

    impression_id = models.UUIDField(unique=True)
    event_id = models.UUIDField(unique=True)
    campaign = models.ForeignKey(
        AdCampaign, on_delete=models.DO_NOTHING, db_constraint=False, related_name="clicks"
    )
    user = models.ForeignKey(
        USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        db_table = "ad_clicks"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["campaign", "created_at"], name="ad_click_campaign_created")
        ]

    def __str__(self) -> str:
        return f"click on {self.impression_id}"


class AdNoFillRecord(models.Model):
    """A delivery that was due an ad when no campaign was eligible (from ``AdNoFill``)."""

    event_id = models.UUIDField(unique=True)
    user_id = models.BigIntegerField()
    surface = models.CharField(max_length=16)
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "ad_no_fills"
        ordering = ["-created_at"]
        verbose_name = "no fill"

    def __str__(self) -> str:
        return f"no fill for {self.user_id}"


class QuotaCount(models.Model):
    """Deliveries decided for a user while Redis was unreachable: the PostgreSQL side of
    the quota decision, taken under this row's lock."""

    user_id = models.BigIntegerField(primary_key=True)
    decided = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "ad_quota_counts"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.decided}"


# --- The paid tier: Telegram Stars ------------------------------------------------------


class PremiumKind(models.TextChoices):
    ONE_TIME = "one_time", "30 days"
    SUBSCRIPTION = "subscription", "monthly subscription"


class PremiumInvoice(models.Model):
    """An invoice the bot issued: what its payload promises, checked at pre-checkout.

    ``payload`` travels through Telegram and comes back in the pre-checkout query and in
    the payment; only an invoice found here, for the same user, price and currency, may
    be paid.
    """

    user = models.ForeignKey(
        USER_MODEL, on_delete=models.CASCADE, db_constraint=False, related_name="invoices"
    )
    kind = models.CharField(max_length=16, choices=PremiumKind.choices)
    payload = models.CharField(max_length=128, unique=True)
    stars = models.PositiveIntegerField(help_text="Price in Telegram Stars (XTR)")
    days = models.PositiveSmallIntegerField(help_text="Days without ads one payment buys")
    link = models.URLField(blank=True, help_text="createInvoiceLink result (subscriptions)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payment_invoices"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user_id}: {self.stars} XTR"


class PaymentStatus(models.TextChoices):
    PAID = "paid", "paid"
    REFUNDED = "refunded", "refunded"


class Payment(models.Model):
    """One successful Stars payment (first or renewal). A payment Telegram reports twice
    is stored once: ``telegram_payment_charge_id`` is unique."""

    user = models.ForeignKey(
        USER_MODEL, on_delete=models.PROTECT, db_constraint=False, related_name="payments"
    )
    invoice = models.ForeignKey(
        PremiumInvoice, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    kind = models.CharField(max_length=16, choices=PremiumKind.choices)
    telegram_payment_charge_id = models.CharField(max_length=255, unique=True)
    provider_payment_charge_id = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, default="XTR")
    stars = models.PositiveIntegerField()
    days = models.PositiveSmallIntegerField(help_text="Days without ads this payment bought")
    is_recurring = models.BooleanField(default=False, help_text="A subscription renewal")
    subscription_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PAID
    )
    paid_at = models.DateTimeField(db_index=True)
    paid_until = models.DateTimeField(help_text="The user's paid-until after this payment")
    refunded_at = models.DateTimeField(null=True, blank=True)
    refunded_by = models.CharField(max_length=150, blank=True, help_text="Admin, or Telegram")

    class Meta:
        db_table = "payments"
        ordering = ["-paid_at"]
        indexes = [models.Index(fields=["user", "paid_at"], name="payments_user_paid")]

    def __str__(self) -> str:
        return f"{self.stars} XTR from {self.user_id} ({self.status})"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "renews monthly"
    CANCELED = "canceled", "canceled: ends at period end"


class StarSubscription(models.Model):
    """A monthly Stars subscription, named by the charge id of its first payment (what
    editUserStarSubscription takes)."""

    user = models.ForeignKey(
        USER_MODEL, on_delete=models.CASCADE, db_constraint=False, related_name="subscriptions"
    )
    invoice = models.OneToOneField(PremiumInvoice, on_delete=models.PROTECT)
    telegram_payment_charge_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    expires_at = models.DateTimeField(help_text="End of the period paid so far")
    started_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "star_subscriptions"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"subscription of {self.user_id} ({self.status})"


class PaymentEventKind(models.TextChoices):
    COMPLETED = "completed", "payment completed"
    REFUNDED = "refunded", "payment refunded"


class PaymentEvent(models.Model):
    """Revenue history from the event stream (PaymentCompleted / PaymentRefunded), one
    row per event: what the dashboard sums by day. Written by the event worker only."""

    event_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=16, choices=PaymentEventKind.choices)
    user = models.ForeignKey(
        USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    telegram_payment_charge_id = models.CharField(max_length=255)
    stars = models.IntegerField(help_text="Positive for a payment, negative for a refund")
    premium_kind = models.CharField(max_length=16, choices=PremiumKind.choices)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "payment_events"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="payment_events_created")]

    def __str__(self) -> str:
        return f"{self.kind} {self.stars} XTR ({self.user_id})"
