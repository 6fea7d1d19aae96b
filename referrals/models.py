from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from users.models import BotUser


class Referral(models.Model):
    """Who brought whom. A user can be referred once, and never by themselves."""

    referrer = models.ForeignKey(BotUser, on_delete=models.CASCADE, related_name="referrals_made")
    referred_user = models.OneToOneField(BotUser, on_delete=models.CASCADE, related_name="referral")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "referrals"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(referrer=F("referred_user")), name="referrals_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.referred_user_id}"
