"""abtests.stats against SciPy, the always-valid guarantee by simulation, SRM."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats as sp

from abtests import stats
from abtests.stats import Sample, compare, srm_p_value

FIVE_DECIMALS = 5e-6


def _random_sample(rng: random.Random) -> Sample:
    n = rng.choice([2, 3, 5, 10, 30, 100, 1000, 50_000, 2_000_000, rng.randint(2, 5000)])
    return Sample(n=n, mean=rng.uniform(0.05, 20), std=rng.uniform(0.01, 15))


def _scipy_reference(control: Sample, treatment: Sample, *, relative: bool, alpha: float):
    var_c = control.std**2 / control.n
    var_t = treatment.std**2 / treatment.n
    df = (var_c + var_t) ** 2 / (var_c**2 / (control.n - 1) + var_t**2 / (treatment.n - 1))
    if relative:
        effect = (treatment.mean - control.mean) / control.mean
        se = math.sqrt(var_t / control.mean**2 + treatment.mean**2 * var_c / control.mean**4)
        p_value = 2 * sp.t.sf(abs(effect) / se, df)
    else:
        effect = treatment.mean - control.mean
        result = sp.ttest_ind_from_stats(
            treatment.mean, treatment.std, treatment.n, control.mean, control.std, control.n,
            equal_var=False,
        )  # fmt: skip
        se = effect / result.statistic
        p_value = result.pvalue
    half = sp.t.ppf(1 - alpha / 2, df) * se
    return effect, effect - half, effect + half, p_value, sp.norm.cdf(effect / se)


@pytest.mark.parametrize("relative", [False, True])
def test_it_matches_scipy_to_five_decimals_on_random_inputs(relative):
    rng = random.Random(14 + relative)
    for _ in range(400):
        control, treatment = _random_sample(rng), _random_sample(rng)
        alpha = rng.choice([0.05, 0.01, 0.1, 0.2])
        result = compare(control, treatment, relative=relative, alpha=alpha)
        expected = _scipy_reference(control, treatment, relative=relative, alpha=alpha)
        got = (result.effect, result.ci_low, result.ci_high, result.p_value, result.chance_to_win)
        for name, value, reference in zip(
            ("effect", "ci_low", "ci_high", "p_value", "chance"), got, expected, strict=True
        ):
            assert value == pytest.approx(reference, rel=1e-9, abs=FIVE_DECIMALS), (
                name, control, treatment, alpha,
            )  # fmt: skip


def test_it_matches_scipy_for_close_means_where_p_values_are_large():
    rng = random.Random(7)
    for _ in range(200):
        n_c, n_t = rng.randint(2, 400), rng.randint(2, 400)
        control = Sample(n=n_c, mean=1.0, std=rng.uniform(0.5, 3))
        treatment = Sample(n=n_t, mean=1.0 + rng.uniform(-0.3, 0.3), std=rng.uniform(0.5, 3))
        result = compare(control, treatment, relative=False)
        reference = sp.ttest_ind_from_stats(
            treatment.mean, treatment.std, n_t, control.mean, control.std, n_c, equal_var=False
        )
        assert result.p_value == pytest.approx(reference.pvalue, abs=FIVE_DECIMALS)


def test_its_distributions_match_scipy():
    rng = random.Random(3)
    for _ in range(300):
        df = rng.choice([1, 1.5, 2.7, 5, 30, 1000, 10**6, rng.uniform(1, 200)])
        t = rng.uniform(-8, 8)
        assert stats.t_sf(t, df) == pytest.approx(sp.t.sf(t, df), abs=FIVE_DECIMALS)
        q = rng.uniform(0.5001, 0.9999)
        assert stats.t_ppf(q, df) == pytest.approx(sp.t.ppf(q, df), rel=1e-8, abs=FIVE_DECIMALS)
        k = rng.randint(1, 12)
        x = rng.uniform(0, 40)
        assert stats.chi2_sf(x, k) == pytest.approx(sp.chi2.sf(x, k), abs=FIVE_DECIMALS)


def test_its_srm_p_value_matches_scipy_chisquare():
    rng = random.Random(5)
    for _ in range(200):
        k = rng.randint(2, 5)
        weights = [rng.randint(1, 100) for _ in range(k)]
        observed = [rng.randint(0, 5000) for _ in range(k)]
        if sum(observed) == 0:
            continue
        expected = [sum(observed) * w / sum(weights) for w in weights]
        reference = sp.chisquare(observed, expected).pvalue
        assert srm_p_value(observed, weights) == pytest.approx(reference, abs=FIVE_DECIMALS)


def test_it_flags_a_skewed_split_and_not_a_fair_one():
    assert srm_p_value([5000, 5000], [50, 50]) > 0.5
    assert srm_p_value([5000, 4600], [50, 50]) < 0.001
    assert srm_p_value([2000, 8000], [20, 80]) > 0.5
    assert srm_p_value([0, 0], [50, 50]) == 1.0
    assert srm_p_value([10, 3], [100, 0]) == 0.0


@pytest.mark.parametrize(
    ("control", "treatment", "relative"),
    [
        (Sample(1, 1.0, 0.0), Sample(100, 1.0, 1.0), True),
        (Sample(0, 0.0, 0.0), Sample(0, 0.0, 0.0), False),
        (Sample(100, 0.5, 0.0), Sample(100, 0.5, 0.0), False),
        (Sample(100, 0.0, 1.0), Sample(100, 0.3, 1.0), True),
        (Sample(100, math.nan, 1.0), Sample(100, 0.3, 1.0), False),
    ],
)
def test_it_says_not_enough_data_for_degenerate_input(control, treatment, relative):
    for tuning in (None, 5000):
        result = compare(control, treatment, relative=relative, sequential_tuning=tuning)
        assert not result.enough_data
        assert result.reason.startswith(stats.NOT_ENOUGH_DATA)
        assert result.effect is None and result.p_value is None and result.ci_low is None
        assert not result.significant


def test_its_sequential_interval_and_p_value_agree_and_are_wider():
    rng = random.Random(11)
    for _ in range(200):
        control, treatment = _random_sample(rng), _random_sample(rng)
        fixed = compare(control, treatment, relative=False)
        seq = compare(control, treatment, relative=False, sequential_tuning=5000)
        assert seq.effect == fixed.effect
        assert seq.ci_high - seq.ci_low >= fixed.ci_high - fixed.ci_low
        assert seq.p_value >= fixed.p_value - 1e-12
        # The always-valid p-value is below alpha exactly when the sequence excludes 0.
        if abs(seq.p_value - 0.05) > 1e-9:
            assert (seq.p_value < 0.05) == seq.significant


def test_its_sequential_mixing_parameter_is_eq_161():
    alpha, tuning = 0.05, 5000
    expected = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)
    assert stats.sequential_rho(alpha=alpha, tuning=tuning) == pytest.approx(expected)


def test_it_keeps_the_false_positive_rate_under_alpha_when_peeking_sequentially():
    """2,000 A/A experiments (10% conversion in both arms), each looked at 20 times as
    data arrives, stopped at the first significant look."""
    rng = np.random.default_rng(2103)
    experiments, looks, per_look, alpha = 2000, 20, 100, 0.05
    conversions = rng.binomial(per_look, 0.10, size=(experiments, 2, looks)).cumsum(axis=2)
    users = per_look * np.arange(1, looks + 1)
    fixed_hits = sequential_hits = 0
    for experiment in conversions:
        fixed_found = sequential_found = False
        for look in range(looks):
            n = int(users[look])
            samples = []
            for arm in (0, 1):
                p = experiment[arm, look] / n
                samples.append(Sample(n=n, mean=p, std=math.sqrt(p * (1 - p))))
            if not fixed_found:
                fixed_found = compare(*samples, relative=False, alpha=alpha).significant
            if not sequential_found:
                sequential_found = compare(
                    *samples, relative=False, alpha=alpha, sequential_tuning=5000
                ).significant
            if fixed_found and sequential_found:
                break
        fixed_hits += fixed_found
        sequential_hits += sequential_found
    assert sequential_hits / experiments < alpha
    assert fixed_hits / experiments > alpha * 2  # peeking inflates it several-fold
