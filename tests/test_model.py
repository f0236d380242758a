import torch
from torch import nn

from e3dlib import PRESETS
from e3dlib.layers import final_size
from e3dlib.model import Block, SqueezeExcite, build_model


def test_forward_shape_and_feature_map_size():
    spec = PRESETS["e3d-initial"].with_input(frames=4, size=32)
    model = build_model(spec, num_classes=7).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    assert model(x).shape == (2, 7)
    assert tuple(model.forward_features(x).shape[2:]) == final_size(model.spec)
    assert model.spec.num_classes == 7


def test_overrides_change_the_built_modules():
    spec = PRESETS["x3d-xs"].with_input(frames=2, size=32)
    plain = build_model(spec, se=0.0, act="relu")
    assert not any(isinstance(m, SqueezeExcite) for m in plain.modules())
    assert not any(isinstance(m, nn.SiLU) for m in plain.modules())
    x3d = build_model(spec)
    blocks = [m for m in x3d.modules() if isinstance(m, Block)]
    assert sum(isinstance(b.se, SqueezeExcite) for b in blocks) == 2 + 3 + 6 + 4  # blocks 0, 2, 4, ... per stage
    assert isinstance(blocks[0].act, nn.SiLU)


def test_residual_branch_starts_at_zero():
    model = build_model(PRESETS["e3d-initial"])
    assert all(float(b.project[1].weight.detach().abs().sum()) == 0 for b in model.modules() if isinstance(b, Block))
