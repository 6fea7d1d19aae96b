"""Ads: the free quota, campaigns shown after a delivery, their impressions and clicks
(a delivery policy, ``policy.py``), and the ad-free paid tier in Telegram Stars
(``payment_*.py``: invoices, the checkout decision, payments, refunds, subscriptions;
``users.BotUser.paid_until`` is the one thing the rest reads).

Plugs into the way of one link as a delivery policy (``downloads.policy``), registered
in ``botapp/application.py``. Imports: ``referrals``, ``abtests``, ``users``,
``analytics``, ``config`` and the seam's contract ``downloads.policy``; never
``downloads``' other modules or ``botapp``.
"""
