"""The click token: names an impression, signed and expiring, so the redirect can only
ever send someone to the URL of a campaign the bot itself showed them."""

from __future__ import annotations

import dataclasses
import uuid

from django.conf import settings
from django.core import signing

_SALT = "ads.click"


@dataclasses.dataclass(frozen=True)
class ClickClaim:
    impression_id: uuid.UUID
    campaign_id: int
    user_id: int


def click_token_make(claim: ClickClaim) -> str:
    value = f"{claim.impression_id.hex}.{claim.campaign_id}.{claim.user_id}"
    return signing.TimestampSigner(salt=_SALT).sign(value)


def click_token_read(token: str) -> ClickClaim | None:
    """The claim of a genuine, unexpired token; None for anything else."""
    max_age = settings.ADS_CLICK_TOKEN_MAX_AGE_DAYS * 86400
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=max_age)
        impression, campaign, user = value.split(".")
        return ClickClaim(uuid.UUID(hex=impression), int(campaign), int(user))
    except (signing.BadSignature, ValueError):
        return None


def click_url(claim: ClickClaim) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/ads/click/{click_token_make(claim)}"
