"""Analytics: what happened, as events, and the history tables built from them.

Lives here: the event contract (``events.py``: typed, versioned events; and
``vocabulary.py``: the words every app uses, Platform, DownloadSource, ChatKind, SendAs,
MediaKind, ErrorCategory, Format, ClickType), the publisher (one XADD or a local spool),
the stream worker and its writer registry (``writers.py``: each app registers the
writer of its own tables, ``users`` and ``referrals`` included), counters, monthly
partitions, and its own tables only (videos, downloads, click and funnel events).

Imports: ``config`` only. Every app may import ``analytics.events``,
``analytics.vocabulary`` and ``analytics.publisher``; analytics imports no other app
(its models name users as ``"users.BotUser"``).
"""
