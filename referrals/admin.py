from __future__ import annotations

from django.contrib import admin

from config.admin_mixins import HistoryAdmin
from referrals.models import Referral


@admin.register(Referral)
class ReferralAdmin(HistoryAdmin):
    list_display = ("created_at", "referrer", "referred_user")
    list_filter = ("created_at",)
    search_fields = ("=referrer__user_id", "=referred_user__user_id", "referrer__username")
    raw_id_fields = ("referrer", "referred_user")
    date_hierarchy = "created_at"
