from __future__ import annotations

from django.db import models

# --- The paid tier: Telegram Stars ------------------------------------------------------
# Users are referred to in this one place (USER_MODEL).

USER_MODEL = "users.BotUser"


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
