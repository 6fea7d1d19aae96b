"""An ad as Telegram would show it, for the back office: the labelled message bubble with
its one button. The message is Telegram HTML that passed validation, which is also valid
HTML; spoilers and custom emoji are styled the way clients draw them."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .telegram_html import TelegramHtmlError, visible_text
from .texts import AD_LABEL, render


def ad_preview_html(
    *, message: str, button_text: str, advertiser: str, marking: str, language: str = "en"
) -> SafeString:
    try:
        visible_text(message)
    except TelegramHtmlError as error:
        body = f'<span class="ad-error">{escape(str(error))}</span><br>{escape(message)}'
    else:
        # Validated: only Telegram's tags, https/tg links; new lines are literal there.
        body = message.replace("\n", "<br>")
    label = " · ".join(p for p in (render(language, AD_LABEL), advertiser, marking) if p)
    return render_to_string(
        "admin/ads/preview.html",
        {"label": label, "body": mark_safe(body), "button_text": button_text},  # noqa: S308
    )
