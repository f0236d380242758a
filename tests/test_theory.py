import math

import numpy as np
import pytest

from e3dlib import PRESETS, st_entr
from e3dlib.forward import analytic_log_variance, forward_log_variance, padded_log_variance, plain_stack
from e3dlib.scores import departure_ladder
from e3dlib.theory import entropies_at_equal_variance, gaussian_entropy, product_moments, sum_variance


def test_gaussian_has_the_largest_entropy_at_equal_variance():
    ents = entropies_at_equal_variance(2.0)
    assert all(v == pytest.approx(2.0, rel=1e-6) for v, _ in ents.values())
    assert ents["Gaussian"][1] == pytest.approx(gaussian_entropy(2.0), rel=1e-9)
    assert max(ents, key=lambda k: ents[k][1]) == "Gaussian"
    assert ents["Uniform"][1] == pytest.approx(math.log(2 * math.sqrt(3 * 2.0)), rel=1e-9)


def test_product_law_and_bienayme():
    rng = np.random.default_rng(0)
    m = product_moments(1.5, 2.0, -0.5, 0.5, 400_000, rng)
    assert m["mean_mc"] == pytest.approx(m["mean_formula"], abs=0.01)
    assert m["var_mc"] == pytest.approx(m["var_formula"], rel=0.02)
    s = sum_variance([1.0, 2.0, 0.25], 400_000, rng)
    assert s["var_mc"] == pytest.approx(s["var_formula"], rel=0.01)


def test_padded_log_variance_is_exact_expectation():
    pointwise = plain_stack(8, [(1, 1, 1)] * 3, in_channels=4)
    assert padded_log_variance(pointwise, (3, 4, 4)) == pytest.approx(analytic_log_variance(pointwise))
    # one 3x3x3 layer on 1x1x1 input: only the centre tap is in bounds -> Var = C
    one = plain_stack(16, [(3, 3, 3)])
    assert padded_log_variance(one, (1, 1, 1)) == pytest.approx(math.log(16))
    net = plain_stack(32, [(1, 1, 1), (3, 3, 3), (1, 1, 1)])
    mc = forward_log_variance(net, (5, 5, 5), repeats=40, batch=4, seed=0).mean()
    assert padded_log_variance(net, (5, 5, 5)) == pytest.approx(mc, abs=0.05)
    assert padded_log_variance(net, (5, 5, 5)) < analytic_log_variance(net)


def test_departure_ladder_runs_from_paper_to_official():
    rungs = departure_ladder(PRESETS["e3d-s"])
    assert rungs[0][1] == pytest.approx(st_entr(PRESETS["e3d-s"], "paper"))
    assert rungs[1][1] == pytest.approx(rungs[0][1] / 2)
    assert rungs[-1][1] == pytest.approx(st_entr(PRESETS["e3d-s"], "tinynas"))
