from __future__ import annotations

from django.urls import path

from .views import ad_click

app_name = "ads"
urlpatterns = [path("click/<str:token>", ad_click, name="click")]
