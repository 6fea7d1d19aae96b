"""Downloads: the way of one link, from a URL in a message to the video in a chat.

Lives here: the platform registry (``platforms.py``); link parsing, pure and without I/O
(``links.py``) and TikTok short-link resolution over the network (``shortlinks.py``);
the network guard every fetch goes through (``netsafety.py``); yt-dlp and ffmpeg
(``media/``); the file_id cache (``cache.py``, model ``CachedMedia``); download requests
(``models.py``, ``services.py``); the bot-side steps of a link (``flow.py``); the rq jobs
(``jobs.py``); and the ONE delivery service (``delivery.py``) with the policy seam that
other apps plug into (``policy.py``). Its texts and keyboards are ``texts.py`` and
``keyboards.py``.

Imports: ``users``, ``analytics`` (events, publisher, vocabulary) and ``config``. Never
``botapp`` (the Telegram interface sits above and calls in; the bot a job talks through
is handed over by ``bots.bot_factory_register``), never ``ads``/``referrals``/``abtests``
(they plug in through ``policy.policy_register``), never ``sandbox``.
"""
