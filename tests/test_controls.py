"""The spatial control is blind to the order of frames; the temporal twin matches its FLOPs."""

import pytest
import torch

from e3dlib import PRESETS
from e3dlib.controls import is_temporal, reversal_asymmetry, temporal_control, temporal_twin
from e3dlib.cost import macs
from e3dlib.families import sample_architectures
from e3dlib.model import build_model
from e3dlib.presets import scale_width


def _random_weights(model: torch.nn.Module) -> torch.nn.Module:
    """Every parameter and BN statistic drawn at random, so that no zero-initialised branch hides a kernel."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g, dtype=b.dtype) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g, dtype=b.dtype) * 0.1)
    return model.eval()


@pytest.mark.parametrize("name", ["x3d-s", "e3d-s"])
def test_control_logits_ignore_time_reversal_and_the_net_does_not(name):
    spec = scale_width(PRESETS[name].with_input(6, 32), 0.25)
    x = torch.randn(2, 3, 6, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ctrl = temporal_control(spec)
    assert not is_temporal(ctrl) and is_temporal(spec)
    m = _random_weights(build_model(ctrl, num_classes=10).double())
    with torch.no_grad():
        a, b = m(x), m(x.flip(2))
    assert a.std() > 1e-3 and torch.allclose(a, b, rtol=0, atol=1e-10)
    net = _random_weights(build_model(spec, num_classes=10).double())  # the test can fail: the net sees time
    with torch.no_grad():
        assert (net(x) - net(x.flip(2))).abs().max() > 1e-4


def test_twin_keeps_the_kernels_at_the_control_flops():
    for spec in [scale_width(PRESETS["x3d-s"].with_input(8, 40), 0.35),
                 *sample_architectures(4, (0.005e9, 0.02e9), 8, 40, seed=1, num_classes=10)]:
        ctrl, twin = temporal_control(spec), temporal_twin(spec)
        assert [s.kt for s in twin.stages] == [s.kt for s in spec.stages]
        assert (twin.stem.kt, twin.stem.temporal_kernel) == (spec.stem.kt, spec.stem.temporal_kernel)
        assert [s.depth for s in ctrl.stages] == [s.depth for s in spec.stages]
        assert abs(macs(twin) / macs(ctrl) - 1) < 0.15
        assert abs(macs(twin) / macs(ctrl) - 1) <= abs(macs(spec) / macs(ctrl) - 1) + 1e-12



def test_reversal_asymmetry_is_zero_exactly_when_every_temporal_kernel_is_switched_off():
    x = torch.randn(4, 3, 6, 32, 32, generator=torch.Generator().manual_seed(2))
    e3d = scale_width(PRESETS["e3d-s"].with_input(6, 32), 0.25)  # temporal kernels only inside residual branches
    x3d = scale_width(PRESETS["x3d-s"].with_input(6, 32), 0.25)  # plus a temporal conv in the stem
    torch.manual_seed(0)
    assert reversal_asymmetry(build_model(e3d, num_classes=10).train(), x) < 1e-6  # 0 up to float rounding
    assert reversal_asymmetry(build_model(e3d, num_classes=10, branch_gamma=0.1).train(), x) > 1e-3
    assert reversal_asymmetry(build_model(x3d, num_classes=10).train(), x) > 1e-3
    assert reversal_asymmetry(build_model(temporal_control(x3d), num_classes=10, branch_gamma=0.1).train(), x) < 1e-6


def test_check_controls_reads_intervals_and_pair_level():
    from e3dlib.controls import check_controls

    ok = check_controls([0.11, 0.12, 0.13], [0.70, 0.75, 0.80])
    assert ok.control_ok and ok.beats and ok.holds and ok.ceiling == pytest.approx(0.53)  # one of each pair + 3
    assert ok.control[0] == pytest.approx(0.12) and ok.temporal[1] < 0.75 < ok.temporal[2]
    leaky = check_controls([0.60, 0.62, 0.61], [0.70, 0.75, 0.80])
    assert not leaky.control_ok and not leaky.holds  # above what a blind net can reach: frame order leaks
    overlap = check_controls([0.10, 0.20, 0.15], [0.12, 0.30, 0.20])
    assert overlap.control_ok and not overlap.beats  # intervals overlap: not clearly above
    single = check_controls([0.1], [0.5])
    assert check_controls([0.3], [0.5], paired_fraction=0.5).ceiling == pytest.approx(0.78)
    assert single.beats and single.control[1] != single.control[1]  # one run: means compared, NaN interval
