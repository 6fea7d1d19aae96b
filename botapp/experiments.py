"""What the running experiments change in the bot's own screens (``abtests`` decides
the variant): the welcome text and the free downloads shown by /stats. The quality
buttons are the way of one link's (``downloads.experiments``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from abtests import kinds
from abtests.models import ExperimentKind
from abtests.selectors import VariantChoice
from abtests.services import avariant_for, exposure_record
from botapp import texts
from downloads.experiments import ui_variant

__all__ = ["free_downloads", "free_downloads_shown", "ui_variant", "welcome_shown", "welcome_text"]

WELCOME_TEXTS = {
    "default": texts.WELCOME,
    "short": texts.WELCOME_SHORT,
    "steps": texts.WELCOME_STEPS,
}


async def free_downloads(user_id: int) -> tuple[int, VariantChoice | None]:
    """The user's free downloads (a free-limit experiment may change the base)."""
    choice = await avariant_for(user_id=user_id, kind=ExperimentKind.FREE_LIMIT)
    if choice is None or "free_downloads" not in choice.config:
        return settings.FREE_DOWNLOADS, None
    return int(choice.config["free_downloads"]), choice


def free_downloads_shown(user_id: int, choice: VariantChoice | None) -> None:
    exposure_record(user_id=user_id, choice=choice, surface=kinds.SURFACE_QUOTA)


def welcome_text(choice: VariantChoice | None) -> Any:
    variant = choice.config.get("welcome", "default") if choice else "default"
    return WELCOME_TEXTS.get(variant, texts.WELCOME)


def welcome_shown(user_id: int, choice: VariantChoice | None) -> None:
    exposure_record(user_id=user_id, choice=choice, surface=kinds.SURFACE_WELCOME)
