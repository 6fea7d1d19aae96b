"""Seed step for ``seed_analytics``: the referrals app's side of the seeded referrals.

Every referrer gets a code (the ``referrers`` row, made when the first friend joined);
a referral is activated by the friend's first download, which pays the referrer the
bonus, and a friend who joined through a link gets the welcome bonus when the setting
grants one (one ledger line each, as ``referrals.services`` writes them); a few bonuses
are revoked a day later, so the ledger's net sum differs from its grants.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection

from referrals.models import (
    REFERRAL_CODE_ALPHABET,
    REFERRAL_CODE_LENGTH,
    BonusOutcome,
    BonusReason,
    Referral,
    ReferralBonus,
    Referrer,
)
from sandbox.analytics_seed import SeedContext, seed_step

REVOKED_SHARE = 0.02

_REFERRALS = Referral._meta.db_table
_BONUSES = ReferralBonus._meta.db_table


def referral_code_of(user_id: int) -> str:
    """A distinct code per user id, in the codes' alphabet (31**8 > any seeded id)."""
    base = len(REFERRAL_CODE_ALPHABET)
    digits = []
    for _ in range(REFERRAL_CODE_LENGTH):
        user_id, digit = divmod(user_id, base)
        digits.append(REFERRAL_CODE_ALPHABET[digit])
    return "".join(reversed(digits))


@seed_step
def referrals_seed(context: SeedContext) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT referrer_id, min(created_at) FROM {_REFERRALS} GROUP BY 1 ORDER BY 1"  # noqa: S608
        )
        referrers = cursor.fetchall()
    context.copy(
        Referrer._meta.db_table,
        "user_id, code, created_at, earning_blocked, earning_blocked_reason",
        (f"{user_id}\t{referral_code_of(user_id)}\t{at.isoformat()}\tf\t\n"
         for user_id, at in referrers),
    )  # fmt: skip
    period_end = dt.datetime.combine(context.plan.end + dt.timedelta(days=1), dt.time(), dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_REFERRALS} r SET activated_at = first.at, outcome = %s "  # noqa: S608
            "FROM (SELECT user_id, min(created_at) AS at FROM downloads GROUP BY user_id) first "
            "WHERE first.user_id = r.referred_user_id",
            [BonusOutcome.PAID],
        )
        if settings.REFERRAL_WELCOME_BONUS > 0:
            cursor.execute(
                f"INSERT INTO {_BONUSES} "  # noqa: S608
                "(user_id, amount, reason, referral_id, note, created_by, created_at) "
                f"SELECT referred_user_id, %s, %s, id, '', '', created_at FROM {_REFERRALS}",
                [settings.REFERRAL_WELCOME_BONUS, BonusReason.WELCOME],
            )
        cursor.execute(
            f"INSERT INTO {_BONUSES} "  # noqa: S608
            "(user_id, amount, reason, referral_id, note, created_by, created_at) "
            "SELECT referrer_id, %s, %s, id, '', '', activated_at "
            f"FROM {_REFERRALS} WHERE activated_at IS NOT NULL",
            [settings.REFERRAL_BONUS, BonusReason.REFERRAL],
        )
        # Revocations by a hash of the grant's id: the same seed revokes the same lines.
        cursor.execute(
            f"INSERT INTO {_BONUSES} "  # noqa: S608
            "(user_id, amount, reason, revokes_id, note, created_by, created_at) "
            "SELECT user_id, -amount, %s, id, 'seeded: abuse', 'seed', "
            "created_at + interval '1 day' "
            f"FROM {_BONUSES} WHERE reason = %s "
            "AND abs(hashint8(id)) %% 10000 < %s AND created_at + interval '1 day' < %s",
            [BonusReason.REVOCATION, BonusReason.REFERRAL, int(REVOKED_SHARE * 10000),
             period_end],
        )  # fmt: skip
        cursor.execute(f"ANALYZE {Referrer._meta.db_table}, {_REFERRALS}, {_BONUSES}")
