from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from config.admin_mixins import ImportExportAdmin, ProtectedHistoryMixin
from users.models import BotUser


class PaidFilter(admin.SimpleListFilter):
    """Paid means a paid period is running now (``paid_until`` in the future)."""

    title = "paid"
    parameter_name = "paid"

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(paid_until__gt=now)
        if self.value() == "no":
            return queryset.exclude(paid_until__gt=now)
        return queryset


@admin.register(BotUser)
class BotUserAdmin(ProtectedHistoryMixin, ImportExportAdmin):
    list_display = (
        "user_id",
        "username",
        "first_name",
        "language_code",
        "total_downloads",
        "paid",
        "paid_until",
        "is_blocked",
        "first_seen_at",
        "last_seen_at",
    )
    list_filter = (PaidFilter, "is_blocked", "language_code", "first_seen_at")
    search_fields = ("user_id", "username", "first_name")
    readonly_fields = ("user_id", "first_seen_at", "last_seen_at", "total_downloads")
    raw_id_fields = ("referred_by",)
    date_hierarchy = "first_seen_at"

    @admin.display(boolean=True, description="paid", ordering="paid_until")
    def paid(self, user: BotUser) -> bool:
        return user.is_paid
