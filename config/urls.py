from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config.views import healthz

admin.site.site_header = "Video bot back office"
admin.site.site_title = "Video bot"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/rq/", include("django_rq.urls")),  # django-rq's views are staff-only
    path("admin/", admin.site.urls),
]
