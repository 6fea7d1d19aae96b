"""Back office for experiments: create, start, stop, new phase, QA overrides,
import/export as JSON, and the results page (staff only, like the whole admin)."""

from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from config.admin_mixins import HistoryAdmin

from . import kinds, metrics, services
from .models import ABTest, ABTestAssignment, ABTestExposure, ABTestOverride, ABTestVariant


class VariantFormSet(BaseInlineFormSet):
    """Percentages sum to 100 and every config is valid for the experiment's kind."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kind = self.instance.kind
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            try:
                config = kinds.config_validate(kind=kind, config=data.get("variant_config") or {})
            except kinds.ConfigError as error:
                form.add_error("variant_config", str(error))
                continue
            form.instance.variant_config = config
            rows.append((data["variant_name"], data["traffic_percentage"], config))
        if any(self.errors) or not rows:
            return
        problems = services.variants_validate(kind=kind, variants=rows)
        if problems:
            raise ValidationError(problems)


class ABTestVariantInline(admin.TabularInline):
    model = ABTestVariant
    formset = VariantFormSet
    fields = ("position", "variant_name", "traffic_percentage", "variant_config")
    extra = 0
    min_num = 2

    # A running experiment's variants and weights are fixed: stop it (assigned users
    # keep their variant) or start a new phase (everyone is randomised again).
    def has_add_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_active

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_active

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_active


class ABTestOverrideForm(forms.ModelForm):
    class Meta:
        model = ABTestOverride
        fields = ("user_id", "variant", "note")

    def clean(self):
        data = super().clean()
        variant = data.get("variant")
        test_id = self.instance.test_id
        if variant is not None and test_id and variant.test_id != test_id:
            raise ValidationError("the variant belongs to another experiment")
        return data


class ABTestOverrideInline(admin.TabularInline):
    model = ABTestOverride
    form = ABTestOverrideForm
    extra = 0
    verbose_name_plural = "QA overrides (these users always get the variant and are never counted)"

    def get_formset(self, request, obj=None, **kwargs):
        request._abtests_parent = obj  # for the variant choices below
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "variant":
            parent = getattr(request, "_abtests_parent", None)
            kwargs["queryset"] = (
                ABTestVariant.objects.filter(test=parent)
                if parent
                else (ABTestVariant.objects.none())
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A JSON file made by the export action")


@admin.register(ABTest)
class ABTestAdmin(admin.ModelAdmin):
    list_display = (
        "name", "kind", "is_active", "phase", "coverage", "namespace", "start_date", "end_date",
        "results_link",
    )  # fmt: skip
    list_filter = ("kind", "is_active")
    search_fields = ("name", "description")
    inlines = (ABTestVariantInline, ABTestOverrideInline)
    actions = ("start_action", "stop_action", "new_phase_action", "export_json_action")
    fieldsets = (
        (None, {"fields": ("name", "description", "kind", "results_link")}),
        ("State", {"fields": ("is_active", "phase", "start_date", "end_date")}),
        (
            "Bucketing (GrowthBook-compatible)",
            {"fields": ("hash_seed", "coverage", "namespace", "namespace_start", "namespace_end")},
        ),
    )
    change_list_template = "admin/abtests/abtest/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        fixed = ["is_active", "phase", "results_link"]
        if obj is not None and obj.is_active:
            fixed += ["name", "kind", "hash_seed", "coverage", "namespace", "namespace_start",
                      "namespace_end", "start_date"]  # fmt: skip
        return fixed

    @admin.display(description="results")
    def results_link(self, obj: ABTest) -> str:
        if obj is None or obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">results</a>', reverse("admin:abtests_abtest_results", args=[obj.pk])
        )

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        services.snapshot_forget()

    def get_urls(self):
        own = [
            path(
                "<int:pk>/results/",
                self.admin_site.admin_view(self.results_view),
                name="abtests_abtest_results",
            ),
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="abtests_abtest_import",
            ),
        ]
        return own + super().get_urls()

    # --- lifecycle actions -----------------------------------------------------------------

    def _each(self, request, queryset, change, done: str) -> None:
        for test in queryset:
            try:
                change(test=test)
            except services.ExperimentError as error:
                self.message_user(request, f"{test.name}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{test.name}: {done}", messages.SUCCESS)

    @admin.action(description="Start the selected experiments")
    def start_action(self, request, queryset) -> None:
        self._each(request, queryset, services.test_start, "started")

    @admin.action(description="Stop the selected experiments")
    def stop_action(self, request, queryset) -> None:
        self._each(request, queryset, services.test_stop, "stopped")

    @admin.action(description="New phase (re-randomise everyone)")
    def new_phase_action(self, request, queryset) -> None:
        self._each(request, queryset, services.test_new_phase, "new phase started")

    @admin.action(description="Export the selected experiments (JSON)")
    def export_json_action(self, request, queryset) -> HttpResponse:
        response = HttpResponse(
            services.tests_export(queryset.order_by("name")), content_type="application/json"
        )
        response["Content-Disposition"] = 'attachment; filename="experiments.json"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                imported = services.tests_import(form.cleaned_data["file"].read())
            except services.ExperimentError as error:
                form.add_error("file", str(error))
            else:
                names = ", ".join(test.name for test in imported) or "nothing"
                self.message_user(request, f"Imported (stopped): {names}", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:abtests_abtest_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import experiments",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/abtests/abtest/import.html", context)

    # --- results ---------------------------------------------------------------------------

    def results_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        test = get_object_or_404(ABTest, pk=pk)
        sequential = request.GET.get("sequential") == "1"
        results = metrics.results_for(test=test, sequential=sequential)
        if request.GET.get("format") == "csv":
            response = HttpResponse(content_type="text/csv")
            response["Content-Disposition"] = (
                f'attachment; filename="{test.name}-phase{test.phase}-results.csv"'
            )
            writer = csv.writer(response)
            writer.writerow(metrics.CSV_HEADER)
            writer.writerows(metrics.results_rows(results))
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": f"Results: {test.name} (phase {test.phase})",
            "test": test,
            "results": results,
            "srm_threshold": metrics.SRM_THRESHOLD,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/abtests/abtest/results.html", context)


@admin.register(ABTestAssignment)
class ABTestAssignmentAdmin(HistoryAdmin):
    list_display = ("assigned_at", "test", "phase", "user_id", "variant")
    list_filter = ("test", "phase")
    search_fields = ("=user__user_id",)
    list_select_related = ("test", "variant")


@admin.register(ABTestExposure)
class ABTestExposureAdmin(HistoryAdmin):
    list_display = ("exposed_at", "test", "phase", "user_id", "variant_name")
    list_filter = ("test", "phase", "variant_name")
    search_fields = ("=user_id",)
    date_hierarchy = "exposed_at"
