"""Ads: the free quota, campaigns shown after a delivery, their impressions and clicks,
and the paid tier (Telegram Stars).

Plugs into the way of one link as a delivery policy (``downloads.policy``), registered
in ``botapp/application.py``. Imports: ``referrals``, ``abtests``, ``users``,
``analytics``, ``config`` and the seam's contract ``downloads.policy``; never
``downloads``' other modules or ``botapp``.
"""
