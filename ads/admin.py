from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from import_export import resources

from ads import payment_admin
from config.admin_mixins import HistoryAdmin, ImportExportAdmin

from .models import AdCampaign, AdClick, AdCreative, AdImpression, AdNoFillRecord
from .preview import ad_preview_html
from .selectors import campaigns_forget
from .services import campaigns_set_active

assert payment_admin  # registers the paid tier's admin


class AdCampaignResource(resources.ModelResource):
    class Meta:
        model = AdCampaign
        fields = (
            "id", "name", "advertiser", "message", "button_text", "button_url", "is_active",
            "weight", "starts_at", "ends_at", "languages", "daily_impression_cap",
            "total_impression_cap", "user_daily_cap", "ad_marking",
        )  # fmt: skip
        # Imported rows pass the same validation as the form (https, Telegram HTML, ...).
        clean_model_instances = True


class AdCreativeInline(admin.StackedInline):
    model = AdCreative
    extra = 0
    fields = ("name", "message", "button_text", "is_active", "preview")
    readonly_fields = ("preview",)

    @admin.display(description="As Telegram shows it")
    def preview(self, obj: AdCreative):
        if obj is None or not obj.pk:
            return "Saved creatives are previewed here."
        return ad_preview_html(
            message=obj.message,
            button_text=obj.button_text or obj.campaign.button_text,
            advertiser=obj.campaign.advertiser,
            marking=obj.campaign.ad_marking,
        )


def _count(model) -> Subquery:
    rows = (
        model.objects.filter(campaign_id=OuterRef("pk"))
        .order_by()
        .values("campaign_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@admin.register(AdCampaign)
class AdCampaignAdmin(ImportExportAdmin):
    resource_classes = [AdCampaignResource]
    list_display = (
        "name", "advertiser", "is_active", "running", "weight", "languages", "starts_at",
        "ends_at", "impressions", "clicks", "ctr",
    )  # fmt: skip
    list_filter = ("is_active", "advertiser")
    search_fields = ("name", "advertiser")
    actions = ["pause", "resume"]
    inlines = [AdCreativeInline]
    readonly_fields = ("preview", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "advertiser", "is_active", "weight")}),
        ("Ad", {"fields": ("message", "button_text", "button_url", "ad_marking", "preview")}),
        ("Targeting and caps", {"fields": (
            "starts_at", "ends_at", "languages", "daily_impression_cap", "total_impression_cap",
            "user_daily_cap",
        )}),
        (None, {"fields": ("created_at", "updated_at")}),
    )  # fmt: skip

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(impression_count=_count(AdImpression), click_count=_count(AdClick))
        )

    @admin.display(boolean=True, description="running now")
    def running(self, obj: AdCampaign) -> bool:
        return obj.is_running()

    @admin.display(description="impressions", ordering="impression_count")
    def impressions(self, obj: AdCampaign) -> int:
        return obj.impression_count

    @admin.display(description="clicks", ordering="click_count")
    def clicks(self, obj: AdCampaign) -> int:
        return obj.click_count

    @admin.display(description="CTR")
    def ctr(self, obj: AdCampaign) -> str:
        if not obj.impression_count:
            return "-"
        return f"{100 * obj.click_count / obj.impression_count:.2f}%"

    @admin.display(description="As Telegram shows it")
    def preview(self, obj: AdCampaign):
        if obj is None or not obj.pk:
            return "Save the campaign to see its preview."
        return ad_preview_html(
            message=obj.message,
            button_text=obj.button_text,
            advertiser=obj.advertiser,
            marking=obj.ad_marking,
        )

    @admin.action(description="Pause selected campaigns")
    def pause(self, request, queryset) -> None:
        changed = campaigns_set_active(
            campaign_ids=list(queryset.values_list("pk", flat=True)), active=False
        )
        self.message_user(request, f"Paused {changed} campaign(s).", messages.SUCCESS)

    @admin.action(description="Resume selected campaigns")
    def resume(self, request, queryset) -> None:
        changed = campaigns_set_active(
            campaign_ids=list(queryset.values_list("pk", flat=True)), active=True
        )
        self.message_user(request, f"Resumed {changed} campaign(s).", messages.SUCCESS)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        campaigns_forget()


@admin.register(AdImpression)
class AdImpressionAdmin(HistoryAdmin):
    list_display = ("created_at", "campaign", "user_id", "surface", "language", "media_key")
    list_filter = ("surface", "language", "campaign")
    date_hierarchy = "created_at"


@admin.register(AdClick)
class AdClickAdmin(HistoryAdmin):
    list_display = ("created_at", "campaign", "user_id", "impression_id")
    list_filter = ("campaign",)
    date_hierarchy = "created_at"


@admin.register(AdNoFillRecord)
class AdNoFillAdmin(HistoryAdmin):
    list_display = ("created_at", "user_id", "surface", "language")
    list_filter = ("surface", "language")
    date_hierarchy = "created_at"
