import numpy as np
import pytest

from e3dlib import PRESETS, homo_entr
from e3dlib.forward import analytic_log_variance, forward_entropy, forward_log_variance, plain_layers, plain_stack


def test_pointwise_stack_matches_analytic_value():
    # 1x1x1 convs have no padding: every output element has the full fan-in, so E[log Var] ~ analytic
    layers = plain_stack(64, [(1, 1, 1)] * 3, in_channels=16)
    mc = forward_log_variance(layers, (4, 8, 8), repeats=20, batch=2, seed=0)
    assert mc.mean() == pytest.approx(analytic_log_variance(layers), abs=0.05)
    assert analytic_log_variance(layers) == pytest.approx(np.log(16) + 2 * np.log(64))


def test_zero_padding_lowers_the_forward_estimate():
    layers = plain_stack(32, [(1, 1, 1), (3, 3, 3), (1, 1, 1)])
    small = forward_log_variance(layers, (5, 5, 5), repeats=10, seed=1).mean()
    large = forward_log_variance(layers, (5, 40, 40), repeats=10, seed=1).mean()
    analytic = analytic_log_variance(layers)
    assert small < large < analytic + 0.05
    assert analytic - small > 0.2  # 5^3 maps: 98 of 125 outputs touch the border


def test_forward_is_seeded_and_per_layer_is_cumulative():
    spec = PRESETS["e3d-initial"]
    a = forward_entropy(spec, repeats=2, frames=4, size=32, seed=3)
    b = forward_entropy(spec, repeats=2, frames=4, size=32, seed=3)
    np.testing.assert_array_equal(a, b)
    layers = plain_layers(spec.with_input(4, 32))
    per = forward_log_variance(layers, (4, 32, 32), repeats=1, seed=3, per_layer=True)
    assert per.shape == (1, len(layers)) and per[0, -1] == pytest.approx(a[0])
    assert analytic_log_variance(layers) == pytest.approx(homo_entr(spec))


def test_analytic_per_layer_is_cumulative():
    layers = plain_stack([8, 16], [(1, 1, 1), (3, 3, 3)], in_channels=4)
    per = analytic_log_variance(layers, per_layer=True)
    np.testing.assert_allclose(per, [np.log(4), np.log(4) + np.log(27 * 8)])
    assert per[-1] == pytest.approx(analytic_log_variance(layers))
