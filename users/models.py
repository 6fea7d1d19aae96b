from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from analytics.vocabulary import SendAs


class TimezoneSource(models.TextChoices):
    LOCATION = "location", "shared location"


class BotUser(models.Model):
    """A Telegram user who has talked to the bot."""

    user_id = models.BigIntegerField(primary_key=True, help_text="Telegram user id")
    username = models.CharField(max_length=64, blank=True)
    first_name = models.CharField(max_length=128, blank=True)
    language_code = models.CharField(max_length=16, blank=True, help_text="As Telegram reports it")
    language = models.CharField(
        max_length=8, blank=True, help_text="Chosen with /language; overrides language_code"
    )
    first_seen_at = models.DateTimeField(db_index=True)
    last_seen_at = models.DateTimeField(db_index=True)
    total_downloads = models.PositiveIntegerField(default=0)
    # Premium (no ads) lasts until this moment; ``is_paid`` is derived from it, so it
    # can never outlive the period. Written only by ads.payment_services.
    paid_until = models.DateTimeField(null=True, blank=True, db_index=True)
    is_blocked = models.BooleanField(default=False, help_text="The user blocked the bot")
    referred_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_users",
    )
    default_quality = models.CharField(max_length=16, blank=True)
    send_as = models.CharField(max_length=8, choices=SendAs.choices, default=SendAs.VIDEO)
    # Only the zone is kept, never the coordinates it was found from.
    timezone = models.CharField(max_length=64, blank=True, help_text="IANA time zone")
    timezone_source = models.CharField(max_length=16, choices=TimezoneSource.choices, blank=True)

    # True only on the instance ``user_get_or_create`` has just created: this update is
    # the user's first contact with the bot (a referral link counts only then).
    first_contact = False

    class Meta:
        db_table = "users"
        verbose_name = "bot user"
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        if self.username:
            return f"@{self.username}"
        return f"{self.first_name or 'user'} ({self.user_id})"

    @property
    def is_paid(self) -> bool:
        """True exactly while a paid period is running."""
        return self.paid_until is not None and self.paid_until > timezone.now()

    @property
    def ui_language(self) -> str:
        """The language the bot speaks to this user."""
        supported = {code for code, _name in settings.LANGUAGES}
        for candidate in (self.language, (self.language_code or "").split("-")[0].lower()):
            if candidate in supported:
                return candidate
        return "en"

    @property
    def wants_file(self) -> bool:
        """Videos go out as documents (original file, no Telegram recompression)."""
        return self.send_as == SendAs.FILE
