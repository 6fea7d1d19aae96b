"""Back office for the paid tier: payments (read-only history, export, refunds),
invoices and subscriptions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from config.admin_mixins import HistoryAdmin

from .models import Payment, PaymentEvent, PaymentStatus, PremiumInvoice, StarSubscription
from .payment_services import PaymentRefundError, payment_refund
from .payment_telegram import star_payment_refund, star_subscription_cancel


def refund_one(request: HttpRequest, charge_id: str) -> bool:
    """Refund through Telegram and report the outcome to the admin; True on success."""
    try:
        payment = payment_refund(
            charge_id=charge_id,
            admin=request.user.get_username(),
            refund=star_payment_refund,
            cancel_subscription=star_subscription_cancel,
        )
    except PaymentRefundError as error:
        messages.error(request, str(error))
        return False
    messages.success(
        request,
        f"Refunded {payment.stars} Stars to user {payment.user_id} (charge "
        f"{payment.telegram_payment_charge_id}); the {payment.days} days it bought were revoked.",
    )
    return True


class RefundForm(forms.Form):
    telegram_payment_charge_id = forms.CharField(
        label="Telegram payment charge id",
        max_length=255,
        help_text="From the user's receipt or the payments list.",
    )


@admin.register(Payment)
class PaymentAdmin(HistoryAdmin):
    # Extends import-export's export list and adds the refund form to its tools.
    import_export_change_list_template = "admin/ads/payment/change_list.html"
    list_display = (
        "paid_at",
        "user_id",
        "kind",
        "stars",
        "days",
        "is_recurring",
        "status",
        "paid_until",
        "telegram_payment_charge_id",
        "refunded_at",
    )
    list_filter = ("status", "kind", "is_recurring", "paid_at")
    search_fields = ("=user__user_id", "=telegram_payment_charge_id", "user__username")
    date_hierarchy = "paid_at"
    actions = ["refund_selected"]

    @admin.action(description="Refund selected payments (returns the Stars, revokes the days)")
    def refund_selected(self, request: HttpRequest, queryset) -> None:
        for payment in queryset.filter(status=PaymentStatus.PAID):
            refund_one(request, payment.telegram_payment_charge_id)
        skipped = queryset.exclude(status=PaymentStatus.PAID).count()
        if skipped:
            messages.warning(request, f"{skipped} payment(s) skipped: already refunded.")

    def get_actions(self, request: HttpRequest) -> dict:
        # HistoryAdmin forbids changes, which would hide the action; refunding is its
        # own permission: staff who may view payments and are superusers.
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("refund_selected", None)
        return actions

    def get_urls(self) -> list:
        refund = self.admin_site.admin_view(self.refund_view)
        return [path("refund/", refund, name="ads_payment_refund"), *super().get_urls()]

    def refund_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_superuser:
            messages.error(request, "Only superusers can refund payments.")
            return HttpResponseRedirect(reverse("admin:ads_payment_changelist"))
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            charge_id = form.cleaned_data["telegram_payment_charge_id"]
            if refund_one(request, charge_id):
                return HttpResponseRedirect(reverse("admin:ads_payment_changelist"))
        context = self.admin_site.each_context(request) | {
            "title": "Refund a Stars payment",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/ads/payment/refund.html", context)


@admin.register(PremiumInvoice)
class PremiumInvoiceAdmin(HistoryAdmin):
    list_display = ("created_at", "user_id", "kind", "stars", "days", "payload")
    list_filter = ("kind", "created_at")
    search_fields = ("=user__user_id", "=payload")
    date_hierarchy = "created_at"


@admin.register(StarSubscription)
class StarSubscriptionAdmin(HistoryAdmin):
    list_display = ("started_at", "user_id", "status", "expires_at", "canceled_at")
    list_filter = ("status", "started_at")
    search_fields = ("=user__user_id", "=telegram_payment_charge_id")
    date_hierarchy = "started_at"


@admin.register(PaymentEvent)
class PaymentEventAdmin(HistoryAdmin):
    list_display = ("created_at", "kind", "user_id", "stars", "premium_kind")
    list_filter = ("kind", "premium_kind", "created_at")
    search_fields = ("=user__user_id", "=telegram_payment_charge_id", "=event_id")
    date_hierarchy = "created_at"
