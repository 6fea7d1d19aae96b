from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config.views import healthz

admin.site.site_header = "Video bot back office"
admin.site.site_title = "Video bot"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("ads/", include("ads.urls")),
    path("dashboard/", include("analytics.dashboard.urls")),
]
