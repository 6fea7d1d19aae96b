from __future__ import annotations

from django.urls import path

from . import api, pages

app_name = "dashboard"

urlpatterns = [
    path("", pages.page_view, name="index"),
    path("api/<slug:name>", api.api_view, name="api"),
    path("<slug:slug>/", pages.page_view, name="page"),
]
