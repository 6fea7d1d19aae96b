"""The ads' delivery policy: past the free quota, a private-chat delivery is followed by
one labelled ad message and an inline one carries a labelled button; groups never."""

from __future__ import annotations

import functools

from asgiref.sync import sync_to_async

from downloads.policy import DeliveryContext, DeliveryPlan, FollowUp, UrlButton

from .services import (
    ad_decide,
    ad_decide_from_redis,
    ad_inline_button_text,
    ad_refused,
    ad_shown,
)

# Usually one short Redis call decides a delivery right here on the event loop; when
# PostgreSQL must answer first (or Redis is down) the decision takes one thread hop.
_ad_decide = sync_to_async(ad_decide)


async def ad_policy(ctx: DeliveryContext) -> DeliveryPlan | None:
    """Every delivery counts against the quota (groups too); only past it does a
    delivery in the private chat or inline carry an ad."""
    slot = {
        "user_id": ctx.user_id,
        "language": ctx.language,
        "surface": ctx.chat_type,
        "media_key": ctx.media_key,
    }
    decision = ad_decide_from_redis(**slot) or await _ad_decide(**slot)
    ad = decision.ad
    if ad is None:
        return None
    if ctx.chat_type == "inline":  # the impression was published with the decision
        return DeliveryPlan(media_buttons=[UrlButton(text=ad_inline_button_text(ad), url=ad.url)])
    follow_up = FollowUp(
        text=ad.text,
        buttons=[UrlButton(text=ad.button_text, url=ad.url)],
        on_sent=functools.partial(ad_shown, ad),
        on_failed=functools.partial(ad_refused, ad),
    )
    return DeliveryPlan(follow_ups=[follow_up])
