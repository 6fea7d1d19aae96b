"""The Telegram interface: nothing but talking to Telegram.

Lives here: the application (``application.py``: every handler is registered there,
and the delivery policies are wired there), the handlers by surface (``handlers/``:
private links, groups, inline mode, deep links, account commands, errors), keyboards and
texts of the interface itself, the Bot API transport (``telegram_request.py``,
``telegram_bot.py``), the shared rate limiter (``ratelimit.py``), the bot runner and
``runbot``; and ``GroupChat``, the groups the bot is in.

Imports: ``downloads`` (the way of one link: handlers call ``downloads.flow``), ``ads``,
``referrals``, ``abtests``, ``users``, ``analytics`` and ``config``. Nothing imports
``botapp`` except ``sandbox`` and the tests.
"""
