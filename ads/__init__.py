"""Ads: campaigns shown after a delivery (to come).

Plugs into the way of one link as a delivery policy (``downloads.policy``), registered
in ``botapp/application.py``. Imports: ``referrals``, ``abtests``, ``users``,
``analytics``, ``config`` and the seam's contract ``downloads.policy``; never
``downloads``' other modules or ``botapp``.
"""
