"""Noise floors and sample sizes: textbook values of the two-sample t-test."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from e3dlib.power import binomial_sd, detectable_difference, mean_ci, seeds_for


def test_binomial_sd_of_a_validation_set():
    assert binomial_sd(0.5, 100) == pytest.approx(0.05) and binomial_sd(0.5, 1000) == pytest.approx(0.0158, abs=1e-4)
    assert binomial_sd(0.0, 10) == 0.0
    with pytest.raises(ValueError):
        binomial_sd(0.5, 0)


def test_seeds_for_matches_the_textbook_t_test():
    assert seeds_for(1.0, 1.0) == 17 and seeds_for(0.5, 1.0) == 64  # Cohen's d = 1 and 0.5, 80 % power
    assert seeds_for(0.8, 1.0, power=0.9) == 34
    with pytest.raises(ValueError):
        seeds_for(0.0, 1.0)


@given(st.integers(2, 60), st.floats(0.01, 10))
def test_detectable_difference_inverts_seeds_for(n, sd):
    d = detectable_difference(n, sd)
    assert seeds_for(d * 1.001, sd) <= n
    assert n == 2 or seeds_for(d * 0.98, sd) >= n - 1


def test_mean_ci_is_the_student_t_interval():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0 and hi - m == pytest.approx(4.302653 / math.sqrt(3))  # t(0.975, 2) * sd / sqrt(n)
    assert np.isnan(mean_ci([1.0])[1])


def test_welch_ci_matches_scipy_and_covers_the_difference():
    from scipy import stats

    from e3dlib.power import welch_ci

    a, b = np.array([0.71, 0.78, 0.82, 0.69, 0.75]), np.array([0.61, 0.66, 0.70, 0.58])
    r = welch_ci(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert r["t"] == pytest.approx(ref.statistic) and r["p"] == pytest.approx(ref.pvalue)
    assert r["lo"] < r["diff"] < r["hi"] and r["diff"] == pytest.approx(a.mean() - b.mean())
    ci = ref.confidence_interval(0.95)
    assert (r["lo"], r["hi"]) == pytest.approx((ci.low, ci.high))
    assert np.isnan(welch_ci(a[:1], b)["lo"]) and np.isnan(welch_ci(np.ones(3), np.ones(3))["p"])


def test_holm_adjusts_step_down_and_keeps_nan():
    from e3dlib.power import holm

    adj = holm([0.01, 0.04, np.nan, 0.03])
    assert adj[0] == pytest.approx(0.03) and adj[3] == pytest.approx(0.06) and adj[1] == pytest.approx(0.06)
    assert np.isnan(adj[2])
    assert list(holm([0.5, 0.9])) == [1.0, 1.0]


def test_kendall_power_matches_the_design_numbers():
    from e3dlib.power import kendall_null_se, kendall_power

    assert kendall_null_se(30) == pytest.approx(0.129, abs=1e-3)
    assert kendall_null_se(60) == pytest.approx(0.0886, abs=1e-3)
    assert kendall_power(0.3, 30) == pytest.approx(0.64, abs=0.01)
    assert kendall_power(0.3, 60) == pytest.approx(0.92, abs=0.01)
    assert kendall_power(0.0, 30) == pytest.approx(0.05, abs=1e-9)


def test_kendall_detectable_is_the_tau_found_with_the_asked_power():
    from e3dlib.power import kendall_detectable, kendall_power

    for n in (10, 30, 60):
        tau = kendall_detectable(n)
        assert kendall_power(tau, n) == pytest.approx(0.8, abs=2e-3)  # the far tail adds < 0.002
        assert kendall_detectable(n, power=0.9) > tau > kendall_detectable(2 * n)
    assert kendall_detectable(30) == pytest.approx(2.8016 * 0.12885, abs=1e-3)  # (1.960 + 0.842) * null SE


def test_welch_ci_constant_groups_are_untestable_not_significant():
    from e3dlib.power import welch_ci

    r = welch_ci([0.5] * 3, [0.1] * 3)  # constant up to rounding: no interval exists
    assert r["diff"] == pytest.approx(0.4) and np.isnan(r["p"]) and np.isnan(r["lo"])


def test_format_p_never_prints_zero():
    from e3dlib.power import format_p

    assert format_p(0.0234) == "p = 0.023" and format_p(1.7e-4, "Holm p") == "Holm p < 0.001"
    assert format_p(0.001) == "p = 0.001" and format_p(float("nan")) == "p n/a"
