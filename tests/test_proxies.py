import math

import numpy as np
import pytest
import torch
from torch import nn

from e3dlib import PRESETS
from e3dlib.proxies import PROXY_NAMES, grad_norm_score, naswot_score, proxy_score, synflow_score, zen_score

SHAPE = (3, 2, 8, 8)


def linear_net() -> nn.Module:
    return nn.Sequential(nn.Conv3d(3, 8, 3, padding=1, bias=False), nn.Conv3d(8, 4, 1, bias=False))


def test_zen_is_log_linear_in_alpha_for_a_linear_net():
    # f linear: f(x + a e) - f(x) = a f(e), so Zen(a) = log a + const
    z1 = zen_score(linear_net(), SHAPE, alpha=0.01, seed=0)
    z2 = zen_score(linear_net(), SHAPE, alpha=0.02, seed=0)
    assert z2 - z1 == pytest.approx(math.log(2), abs=1e-6)


def test_naswot_matches_the_kernel_formula():
    # a network that is only a ReLU: the codes are the signs of the inputs themselves
    model = nn.Sequential(nn.ReLU())
    score = naswot_score(model, (1, 1, 2, 2), batch=2, seed=3)
    g = torch.Generator().manual_seed(3)
    c = (torch.randn(2, 1, 1, 2, 2, generator=g) > 0).flatten(1).double()
    n_a, d = c.shape[1], float((c[0] != c[1]).sum())
    if d == 0:
        pytest.skip("both draws share a code")
    assert score == pytest.approx(math.log(n_a ** 2 - (n_a - d) ** 2))


def test_synflow_of_a_bias_free_linear_net_is_layers_times_output():
    # R is homogeneous of degree 1 in each layer's weights: sum theta dR/dtheta = R per layer
    model = linear_net()
    with torch.no_grad():
        absnet = linear_net()
        absnet.load_state_dict({k: v.abs() for k, v in model.state_dict().items()})
        R = float(absnet.double()(torch.ones(1, *SHAPE, dtype=torch.float64)).sum())
    assert synflow_score(model, SHAPE) == pytest.approx(math.log(2 * R), rel=1e-9)
    w0 = model.state_dict()["0.weight"].clone()
    synflow_score(model, SHAPE)
    assert torch.equal(model.state_dict()["0.weight"], w0)  # the caller's module is untouched


def test_grad_norm_of_a_zero_linear_classifier():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3, bias=False))
    nn.init.zeros_(model[1].weight)
    score = grad_norm_score(model, (3, 1, 2, 2), batch=4, seed=1)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, 1, 2, 2, generator=g).flatten(1).numpy()
    y = torch.randint(3, (4,), generator=g).numpy()
    grad = (np.full((4, 3), 1 / 3) - np.eye(3)[y]).T @ x / 4  # softmax is uniform at W = 0
    assert score == pytest.approx(np.linalg.norm(grad), rel=1e-5)


@pytest.mark.parametrize("name", PROXY_NAMES)
def test_every_proxy_scores_a_spec_deterministically(name):
    spec = PRESETS["e3d-initial"]
    a = proxy_score(name, spec, frames=2, size=32, seed=0)
    assert math.isfinite(a) and a == proxy_score(name, spec, frames=2, size=32, seed=0)


def test_unknown_proxy():
    with pytest.raises(ValueError, match="unknown proxy"):
        proxy_score("snip", PRESETS["e3d-s"])


def test_proxies_drive_the_search_and_initial_can_be_a_file(tmp_path):
    from e3dlib.presets import scale_width
    from e3dlib.proxies import ProxyScore
    from e3dlib.search import SearchConfig, search

    init = tmp_path / "small.json"
    scale_width(PRESETS["e3d-initial"], 0.5).save(init)
    cfg = SearchConfig(frames=4, size=32, budget_flops=2e7, flops_convention="macs", iterations=6, population=4,
                       score=ProxyScore("synflow", 2, 16), initial=str(init))
    res = search(cfg)
    assert res.best_score == pytest.approx(proxy_score("synflow", res.best, frames=2, size=16))
