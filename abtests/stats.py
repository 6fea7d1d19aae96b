"""Comparing two variants: Welch's t-test, the relative lift by the delta method,
always-valid sequential intervals, and the sample-ratio-mismatch check.

Pure Python (``math`` and ``statistics.NormalDist``): the Student t and chi-square
distributions are computed here from the regularized incomplete beta and gamma
functions, so production needs no SciPy; the tests check every figure against SciPy.

A comparison is of summary statistics, ``Sample(n, mean, std)`` with ``std`` the sample
standard deviation (``n - 1`` in the denominator). A proportion ``p`` passes
``mean=p, std=sqrt(p * (1 - p))`` (the n/(n-1) correction is negligible at any size
worth reading).

Fixed horizon: the interval is ``effect +- t(1 - alpha/2, df) * se`` with Welch's
standard error and the Welch-Satterthwaite degrees of freedom; the p-value is two-sided.
The relative lift ``(mean_t - mean_c) / mean_c`` gets its variance by the delta method,
``var_t / mean_c^2 + mean_t^2 * var_c / mean_c^4`` (each ``var`` the squared standard
error of a mean), and keeps the same degrees of freedom.

Sequential (``sequential_tuning=N``): an owner who looks every day and stops at the
first "significant" result would, with fixed-horizon p-values, see a false winner far
more often than alpha. The asymptotic confidence sequences of Waudby-Smith, Ramdas et
al. (arXiv 2103.06476) stay valid at every look: with ``n`` the total sample size and
``s^2 = n * se^2`` the per-observation variance, the half width is
``sqrt(s^2) * sqrt(2 (n rho^2 + 1) / (n^2 rho^2) * log(sqrt(n rho^2 + 1) / alpha))``,
where the mixing parameter ``rho`` (their eq. 161) makes the sequence tightest at
``n = N``. The always-valid p-value is the smallest alpha whose sequence excludes zero.
GrowthBook uses the same construction with ``N = 5000`` by default. The sequence is an
asymptotic (normal) one, so on a few users it can be narrower than the fixed-horizon t
interval; the sequential result then takes the t interval and its p-value instead.

``chance_to_win`` is ``Phi(effect / se)``: the probability that the true effect is
positive under a normal approximation with a flat prior.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from statistics import NormalDist

DEFAULT_SEQUENTIAL_TUNING = 5000.0

_NORMAL = NormalDist()
_EPS = 1e-15
_TINY = 1e-300


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    n: int
    mean: float
    std: float


@dataclasses.dataclass(frozen=True, slots=True)
class Comparison:
    """The effect of treatment over control. When the data cannot support a comparison
    every figure is ``None`` and ``reason`` says why (``enough_data`` is False)."""

    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    chance_to_win: float | None
    reason: str = ""

    @property
    def enough_data(self) -> bool:
        return not self.reason

    @property
    def significant(self) -> bool:
        """The interval excludes zero (equivalently, p-value below alpha)."""
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0


NOT_ENOUGH_DATA = "not enough data"


def _not_enough(why: str) -> Comparison:
    return Comparison(None, None, None, None, None, reason=f"{NOT_ENOUGH_DATA}: {why}")


def compare(
    control: Sample,
    treatment: Sample,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    sequential_tuning: float | None = None,
) -> Comparison:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    if sequential_tuning is not None and not sequential_tuning > 0:
        raise ValueError("sequential_tuning must be positive")
    for sample in (control, treatment):
        if sample.n < 2:
            return _not_enough("each variant needs at least 2 users")
        if not (math.isfinite(sample.mean) and math.isfinite(sample.std)) or sample.std < 0:
            return _not_enough("a mean or standard deviation is not a finite number")
    var_c = control.std**2 / control.n
    var_t = treatment.std**2 / treatment.n
    if var_c + var_t <= 0:
        return _not_enough("no variation in either variant")
    if relative and control.mean == 0:
        return _not_enough("the control mean is zero, so a relative lift is undefined")
    df = (var_c + var_t) ** 2 / (var_c**2 / (control.n - 1) + var_t**2 / (treatment.n - 1))
    if relative:
        effect = (treatment.mean - control.mean) / control.mean
        variance = var_t / control.mean**2 + treatment.mean**2 * var_c / control.mean**4
    else:
        effect = treatment.mean - control.mean
        variance = var_c + var_t
    se = math.sqrt(variance)
    if not se > 0 or not math.isfinite(se):
        return _not_enough("the standard error is zero")
    chance = _NORMAL.cdf(effect / se)
    half = t_ppf(1 - alpha / 2, df) * se
    p_value = 2 * t_sf(abs(effect) / se, df)
    if sequential_tuning is not None:
        n = control.n + treatment.n
        rho = sequential_rho(alpha=alpha, tuning=sequential_tuning)
        s2 = variance * n
        # The sequence is asymptotic (normal); on a handful of users the t interval is
        # the wider one, and the sequential result is never allowed to be narrower.
        half = max(half, math.sqrt(s2) * _halfwidth_factor(n=n, rho=rho, alpha=alpha))
        p_value = max(p_value, sequential_p_value(effect=effect, s2=s2, n=n, rho=rho))
    return Comparison(
        effect=effect,
        ci_low=effect - half,
        ci_high=effect + half,
        p_value=min(max(p_value, 0.0), 1.0),
        chance_to_win=chance,
    )


def sequential_rho(*, alpha: float, tuning: float) -> float:
    """The mixing parameter that makes the confidence sequence tightest at ``tuning``
    observations (Waudby-Smith et al., eq. 161)."""
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1)) / tuning)


def _halfwidth_factor(*, n: int, rho: float, alpha: float) -> float:
    nr2 = n * rho**2
    return math.sqrt(2 * (nr2 + 1) / (n**2 * rho**2) * math.log(math.sqrt(nr2 + 1) / alpha))


def sequential_p_value(*, effect: float, s2: float, n: int, rho: float) -> float:
    """The smallest alpha for which the sequence at ``n`` excludes zero (with ``rho``
    fixed): solving ``|effect| = halfwidth(alpha)`` for alpha."""
    nr2 = n * rho**2
    exponent = -(effect**2) * n**2 * rho**2 / (2 * s2 * (nr2 + 1))
    return min(1.0, math.sqrt(nr2 + 1) * math.exp(exponent))


def srm_p_value(observed: Sequence[int], weights: Sequence[float]) -> float:
    """Chi-square goodness of fit of the observed counts to the configured weights.
    A tiny p-value (below 0.001) means the split is broken (a bug in assignment or in
    exposure logging), so the results cannot be trusted. Nothing observed: 1.0."""
    if len(observed) != len(weights) or not observed:
        raise ValueError("one weight per observed count is needed")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    total = sum(observed)
    if total == 0:
        return 1.0
    weight_sum = sum(weights)
    stat = 0.0
    cells = 0
    for count, weight in zip(observed, weights, strict=True):
        expected = total * weight / weight_sum
        if expected == 0:
            if count:
                return 0.0  # users in a variant that should get nobody
            continue
        stat += (count - expected) ** 2 / expected
        cells += 1
    if cells < 2:
        return 1.0
    return chi2_sf(stat, cells - 1)


# --- distributions -----------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > _TINY else _TINY)
        c = 1 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > _TINY else _TINY)
        c = 1 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1 - math.exp(log_front) * _betacf(b, a, 1 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(df):
        return 1 - _NORMAL.cdf(t)
    tail = 0.5 * betainc(df / 2, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1 - tail


def t_cdf(t: float, df: float) -> float:
    return t_sf(-t, df)


def _t_pdf(t: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))


def t_ppf(q: float, df: float) -> float:
    """The quantile of Student's t: Newton's method from the Cornish-Fisher expansion
    around the normal quantile (already close for a few dozen degrees of freedom),
    kept inside a bracket that shrinks with every step."""
    if not 0 < q < 1:
        raise ValueError("q must be between 0 and 1")
    if q < 0.5:
        return -t_ppf(1 - q, df)
    if q == 0.5:
        return 0.0
    z = _NORMAL.inv_cdf(q)
    if math.isinf(df):
        return z
    target = 1 - q  # solve t_sf(t) = target for t > 0
    t = z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
    low, high = 0.0, math.inf
    for _ in range(500):
        err = t_sf(t, df) - target
        if err > 0:
            low = t
        else:
            high = t
        candidate = t + err / _t_pdf(t, df)
        if not low < candidate < high:
            candidate = (low + high) / 2 if math.isfinite(high) else 2 * t
        if abs(candidate - t) <= 1e-12 * max(1.0, abs(t)):
            return candidate
        t = candidate
    return t


def _gamma_series(a: float, x: float) -> float:
    term = total = 1 / a
    ap = a
    for _ in range(100_000):
        ap += 1
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_cf(a: float, x: float) -> float:
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = 1 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def gammaincc(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x)."""
    if x <= 0:
        return 1.0
    if x < a + 1:
        return 1 - _gamma_series(a, x)
    return _gamma_cf(a, x)


def chi2_sf(x: float, df: int) -> float:
    return gammaincc(df / 2, x / 2)


def normal_cdf(x: float) -> float:
    return _NORMAL.cdf(x)
