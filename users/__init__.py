"""Users: who talks to the bot.

Lives here: ``BotUser`` (table ``users``), its writes (``services.py``), and the writer
that upserts the table from ``UserSeen``/download events (``writers.py``, registered with
the analytics worker). The referral code every user gets is made here
(``referral_code_generate``): ``referrals`` sits above this app and reads it.

Imports: ``analytics`` (the event contract and vocabulary) and ``config`` only. Never
``botapp``, ``downloads``, ``ads``, ``referrals``, ``abtests`` or ``sandbox``.
"""
