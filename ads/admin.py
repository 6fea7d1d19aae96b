from __future__ import annotations

from ads import payment_admin

assert payment_admin  # registers the paid tier's admin
