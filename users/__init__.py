"""Users: who talks to the bot.

Lives here: ``BotUser`` (table ``users``), its writes (``services.py``), and the writer
that upserts the table from ``UserSeen``/download events (``writers.py``, registered with
the analytics worker). Referral codes are the referrals app's (``referrers``), made
when a user first needs one.

Imports: ``analytics`` (the event contract and vocabulary) and ``config`` only. Never
``botapp``, ``downloads``, ``ads``, ``referrals``, ``abtests`` or ``sandbox``.
"""
