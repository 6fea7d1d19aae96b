"""What the running experiments change in the bot's own screens (``abtests`` decides
the variant; this module maps it onto the welcome text and the quality buttons and
reports the exposure once the user has seen it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from abtests import kinds
from abtests.models import ExperimentKind
from abtests.selectors import VariantChoice
from abtests.services import avariant_for, exposure_record
from botapp import texts

WELCOME_TEXTS = {
    "default": texts.WELCOME,
    "short": texts.WELCOME_SHORT,
    "steps": texts.WELCOME_STEPS,
}
NAMED_QUALITIES = {
    "360p": texts.QUALITY_NAMED_360P,
    "480p": texts.QUALITY_NAMED_480P,
    "720p": texts.QUALITY_NAMED_720P,
    "1080p": texts.QUALITY_NAMED_1080P,
}


async def free_downloads(user_id: int) -> tuple[int, VariantChoice | None]:
    """The user's free downloads (a free-limit experiment may change the base)."""
    choice = await avariant_for(user_id=user_id, kind=ExperimentKind.FREE_LIMIT)
    if choice is None or "free_downloads" not in choice.config:
        return settings.FREE_DOWNLOADS, None
    return int(choice.config["free_downloads"]), choice


def free_downloads_shown(user_id: int, choice: VariantChoice | None) -> None:
    exposure_record(user_id=user_id, choice=choice, surface=kinds.SURFACE_QUOTA)


async def ui_variant(user_id: int) -> VariantChoice | None:
    return await avariant_for(user_id=user_id, kind=ExperimentKind.UI)


def welcome_text(choice: VariantChoice | None) -> Any:
    variant = choice.config.get("welcome", "default") if choice else "default"
    return WELCOME_TEXTS.get(variant, texts.WELCOME)


def quality_style(choice: VariantChoice | None) -> dict[str, str]:
    """Keyword arguments of ``keyboards.quality_keyboard`` for the user's variant."""
    config = choice.config if choice else {}
    return {
        "order": config.get("quality_order", "ascending"),
        "labels": config.get("quality_labels", "plain"),
    }


def welcome_shown(user_id: int, choice: VariantChoice | None) -> None:
    exposure_record(user_id=user_id, choice=choice, surface=kinds.SURFACE_WELCOME)


def quality_buttons_shown(user_id: int, choice: VariantChoice | None) -> None:
    for surface in (kinds.SURFACE_QUALITY_ORDER, kinds.SURFACE_QUALITY_LABELS):
        if exposure_record(user_id=user_id, choice=choice, surface=surface):
            return
