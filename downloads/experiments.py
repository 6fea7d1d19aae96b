"""What a running UI experiment changes in the way of one link (the quality buttons);
``abtests`` decides the variant, this module applies it and reports the exposure once
the user has seen the buttons."""

from __future__ import annotations

from abtests import kinds
from abtests.models import ExperimentKind
from abtests.selectors import VariantChoice
from abtests.services import avariant_for, exposure_record


async def ui_variant(user_id: int) -> VariantChoice | None:
    return await avariant_for(user_id=user_id, kind=ExperimentKind.UI)


def quality_style(choice: VariantChoice | None) -> dict[str, str]:
    """Keyword arguments of ``keyboards.quality_keyboard`` for the user's variant."""
    config = choice.config if choice else {}
    return {
        "order": config.get("quality_order", "ascending"),
        "labels": config.get("quality_labels", "plain"),
    }


def quality_buttons_shown(user_id: int, choice: VariantChoice | None) -> None:
    for surface in (kinds.SURFACE_QUALITY_ORDER, kinds.SURFACE_QUALITY_LABELS):
        if exposure_record(user_id=user_id, choice=choice, surface=surface):
            return
