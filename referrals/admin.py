"""Back office of the referral program: referrals, referrers with their summary and
farming flags, and the bonus ledger, with revocation and blocking from earning."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse

from config.admin_mixins import HistoryAdmin, ImportExportAdmin
from referrals.models import BonusReason, Referral, ReferralBonus, Referrer
from referrals.selectors import referrer_flag_reason, referrers_flagged, referrers_summary
from referrals.services import (
    NotRevocable,
    referral_bonus_revoke,
    referrer_earning_block,
    referrer_earning_unblock,
)


def _reason_form(modeladmin, request, queryset, *, action: str, question: str, confirm: str):
    """An intermediate page asking why; None once the reason was given."""
    reason = request.POST.get("reason", "").strip()
    if "confirm" in request.POST and reason:
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": confirm,
        "question": question,
        "confirm": confirm,
        "rows": list(queryset),
        "ids": [row.pk for row in queryset],
        "action": action,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/referrals/reason_form.html", context)


class ReadOnlyHistory(ImportExportAdmin, HistoryAdmin):
    """History rows: listed, exported and imported (a migration between installs),
    never edited by hand."""


@admin.register(Referral)
class ReferralAdmin(ReadOnlyHistory):
    list_display = ("created_at", "referrer", "referred_user", "activated_at", "outcome")
    list_filter = ("outcome", "created_at", "activated_at")
    search_fields = ("=referrer__user_id", "=referred_user__user_id", "referrer__username")
    raw_id_fields = ("referrer", "referred_user")
    date_hierarchy = "created_at"


class FlaggedFilter(admin.SimpleListFilter):
    title = "looks like farming"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", "flagged")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=referrers_flagged().values("pk"))
        return queryset


@admin.register(Referrer)
class ReferrerAdmin(ImportExportAdmin):
    """One row per user with a code: the per-referrer summary."""

    list_display = (
        "user",
        "code",
        "invited",
        "activated",
        "bonus",
        "capped",
        "earning_blocked",
        "flag",
    )
    list_filter = (FlaggedFilter, "earning_blocked")
    search_fields = ("=user__user_id", "code", "user__username")
    readonly_fields = ("user", "code", "created_at", "earning_blocked_at")
    actions = ["block_earning", "unblock_earning"]

    def get_queryset(self, request):
        bonus = (
            ReferralBonus.objects.filter(user_id=OuterRef("user_id"))
            .exclude(reason=BonusReason.WELCOME)
            .values("user_id")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return referrers_summary().annotate(
            bonus=Coalesce(Subquery(bonus, output_field=IntegerField()), 0)
        )

    def has_add_permission(self, request) -> bool:
        return False  # a code is made when its user first needs it

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(ordering="invited")
    def invited(self, referrer: Referrer) -> int:
        return referrer.invited

    @admin.display(ordering="activated")
    def activated(self, referrer: Referrer) -> int:
        return referrer.activated

    @admin.display(ordering="bonus", description="bonus earned")
    def bonus(self, referrer: Referrer) -> int:
        return referrer.bonus

    @admin.display(ordering="capped", description="referrals over the caps")
    def capped(self, referrer: Referrer) -> int:
        return referrer.capped

    @admin.display(description="flag")
    def flag(self, referrer: Referrer) -> str:
        return referrer_flag_reason(referrer)

    @admin.action(description="Block the selected referrers from earning")
    def block_earning(self, request, queryset):
        form = _reason_form(
            self,
            request,
            queryset,
            action="block_earning",
            question="These referrers will earn no more bonuses. Why?",
            confirm="Block from earning",
        )
        if form is not None:
            return form
        reason = f"{request.POST['reason'].strip()} ({request.user.get_username()})"
        blocked = sum(referrer_earning_block(user_id=r.pk, reason=reason) for r in queryset)
        self.message_user(request, f"{blocked} referrer(s) blocked from earning.")
        return None

    @admin.action(description="Let the selected referrers earn again")
    def unblock_earning(self, request, queryset):
        unblocked = sum(referrer_earning_unblock(user_id=r.pk) for r in queryset)
        self.message_user(request, f"{unblocked} referrer(s) may earn again.")


@admin.register(ReferralBonus)
class ReferralBonusAdmin(ReadOnlyHistory):
    """The ledger. Rows are only ever added: a revocation is a negative row."""

    list_display = (
        "created_at",
        "user",
        "amount",
        "reason",
        "referral",
        "revokes",
        "note",
        "created_by",
    )
    list_filter = ("reason", "created_at")
    search_fields = ("=user__user_id", "user__username", "note")
    raw_id_fields = ("user", "referral", "revokes")
    date_hierarchy = "created_at"
    actions = ["revoke"]

    @admin.action(description="Revoke the selected bonuses")
    def revoke(self, request, queryset):
        form = _reason_form(
            self,
            request,
            queryset,
            action="revoke",
            question="A negative row will cancel each of these bonuses. Why?",
            confirm="Revoke",
        )
        if form is not None:
            return form
        revoked = 0
        for bonus in queryset:
            try:
                referral_bonus_revoke(
                    bonus_id=bonus.pk,
                    note=request.POST["reason"],
                    by=request.user.get_username(),
                )
                revoked += 1
            except NotRevocable as error:
                self.message_user(request, f"{bonus}: {error}", messages.WARNING)
        self.message_user(request, f"{revoked} bonus(es) revoked.")
        return None
