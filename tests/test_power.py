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
