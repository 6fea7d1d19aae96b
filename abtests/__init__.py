"""A/B experiments (to come): variants assigned to users.

Imports: ``users``, ``analytics``, ``config`` and the seam's contract
``downloads.policy``; never ``referrals``, ``ads``, ``downloads`` or ``botapp``.
"""
