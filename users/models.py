from __future__ import annotations

import secrets
from collections.abc import Iterator

from django.conf import settings
from django.db import models
from django.utils import timezone

from analytics.vocabulary import SendAs

# The one generator of referral codes: the model's default and the event writer's
# batches (users.writers) both draw from it; ``referrals`` reads the codes. 10
# characters of a 31-letter alphabet (no 0/o, 1/l/i): collisions are negligible, and
# the unique constraint catches the rest.
REFERRAL_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
REFERRAL_CODE_LENGTH = 10
# Random bytes map onto the alphabet by their value modulo its size; bytes at or above
# the largest multiple of the size are dropped, so every letter stays equally likely.
_CODE_BYTES_KEPT = 256 - 256 % len(REFERRAL_CODE_ALPHABET)
_CODE_TABLE = bytes(
    ord(REFERRAL_CODE_ALPHABET[byte % len(REFERRAL_CODE_ALPHABET)]) for byte in range(256)
)
_CODE_DROPPED = bytes(range(_CODE_BYTES_KEPT, 256))


def referral_codes(count: int) -> Iterator[str]:
    """``count`` fresh codes from one call to the OS random source: a batch of the
    event writer upserts a thousand users and only the new ones keep theirs, so a code
    per row the slow way cost more than the upsert itself."""
    length = REFERRAL_CODE_LENGTH
    letters = b""
    while len(letters) < count * length:
        raw = secrets.token_bytes(count * length + 64)
        letters += raw.translate(_CODE_TABLE, _CODE_DROPPED)
    text = letters.decode("ascii")
    return (text[i : i + length] for i in range(0, count * length, length))


def referral_code_generate() -> str:
    """One fresh referral code (the default of ``BotUser.referral_code``)."""
    return next(referral_codes(1))


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
    referral_code = models.CharField(max_length=32, unique=True, default=referral_code_generate)
    referred_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referred_users",
    )
    default_quality = models.CharField(max_length=16, blank=True)
    send_as = models.CharField(max_length=8, choices=SendAs.choices, default=SendAs.VIDEO)

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
