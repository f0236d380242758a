"""The depthwise conv's own backward equals PyTorch's (values and gradients), and is used only where it applies."""

import pytest
import torch
import torch.nn.functional as F

from e3dlib import depthwise
from e3dlib.depthwise import DepthwiseConv3d, _DepthwiseBackward

CL = torch.channels_last_3d


@pytest.mark.parametrize("c, t, h, kernel", [(8, 8, 5, (3, 3, 3)), (16, 8, 10, (1, 5, 5)), (8, 4, 3, (5, 1, 1)),
                                             (4, 2, 4, (5, 3, 3)), (6, 13, 7, (3, 1, 1)), (8, 8, 20, (5, 1, 1))])
@pytest.mark.parametrize("stride", [(1, 1, 1), (1, 2, 2), (2, 3, 2)])
@pytest.mark.parametrize("taps", [True, False])
def test_gradients_equal_pytorchs(c, t, h, kernel, stride, taps, monkeypatch):
    """Odd and even map sizes, so strided convs that never reach the last row/column are covered; the weight
    gradient from `weight_grad` and from oneDNN (whichever this CPU would use)."""
    monkeypatch.setattr(depthwise, "TAP_WEIGHT_GRAD", taps)
    torch.manual_seed(0)
    pad = tuple(k // 2 for k in kernel)
    x = torch.randn(3, c, t, h, h).to(memory_format=CL).requires_grad_()
    w = torch.randn(c, 1, *kernel).requires_grad_()
    ref = F.conv3d(x, w, stride=stride, padding=pad, groups=c)
    gy = torch.randn_like(ref)
    want = torch.autograd.grad(ref, (x, w), gy)
    out = _DepthwiseBackward.apply(x, w, pad, stride)
    got = torch.autograd.grad(out, (x, w), gy)
    assert torch.equal(out, ref)  # the forward is PyTorch's own
    for g, r in zip(got, want, strict=True):
        assert g.shape == r.shape and torch.allclose(g, r, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride, pad", [((1, 1, 1), (1, 1, 1)), ((1, 2, 2), (1, 1, 1)), ((2, 2, 3), (0, 1, 2))])
def test_gradcheck_in_double(stride, pad):
    x = torch.randn(2, 3, 5, 5, 4, dtype=torch.double, requires_grad=True)
    w = torch.randn(3, 1, 3, 3, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: _DepthwiseBackward.apply(a, b, pad, stride), (x, w))


def test_input_grad_is_the_transposed_conv():
    """The one formula the backward rests on, against PyTorch's transposed conv."""
    from e3dlib.depthwise import input_grad

    torch.manual_seed(0)
    for size, stride, pad in [((8, 7, 6), (1, 2, 2), (1, 1, 1)), ((5, 9, 9), (2, 3, 3), (1, 0, 2))]:
        w = torch.randn(4, 1, 3, 3, 5)
        out = [(n + 2 * p - k) // s + 1 for n, p, k, s in zip(size, pad, w.shape[2:], stride, strict=True)]
        gy = torch.randn(2, 4, *out).to(memory_format=CL)
        extra = [n + 2 * p - ((o - 1) * s + k)
                 for n, p, o, s, k in zip(size, pad, out, stride, w.shape[2:], strict=True)]
        want = F.conv_transpose3d(gy, w, stride=stride, padding=pad, output_padding=extra, groups=4)
        got = input_grad(gy, w, size, stride, pad)
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("size, kernel, stride, pad", [
    ((8, 5, 6), (3, 3, 3), (1, 1, 1), (1, 1, 1)), ((8, 7, 7), (3, 3, 3), (1, 2, 2), (1, 1, 1)),
    ((5, 9, 8), (3, 5, 1), (2, 3, 1), (0, 2, 0)), ((4, 2, 2), (5, 3, 3), (1, 1, 1), (4, 2, 2)),
    ((8, 6, 6), (5, 1, 1), (1, 1, 1), (2, 0, 0)), ((3, 4, 5), (3, 3, 3), (1, 1, 1), (0, 0, 0))])
def test_weight_grad_is_pytorchs(size, kernel, stride, pad):
    """The per-tap weight gradient against PyTorch's, also where some taps meet only padding (pad = k - 1 on a
    map smaller than the kernel) and where the conv is unpadded."""
    torch.manual_seed(0)
    x = torch.randn(2, 4, *size).to(memory_format=CL)
    w = torch.randn(4, 1, *kernel)
    gy = torch.randn_like(F.conv3d(x, w, stride=stride, padding=pad, groups=4))
    want = torch.ops.aten.convolution_backward(gy, x, w, None, stride, pad, (1, 1, 1), False, (0, 0, 0), 4,
                                               (False, True, False))[1]
    got = depthwise.weight_grad(gy, x, kernel, stride, pad)
    assert got.shape == want.shape and torch.allclose(got, want, rtol=1e-4, atol=1e-4)


def test_module_is_a_conv3d_and_falls_back_where_the_fast_path_does_not_apply():
    m = DepthwiseConv3d(8, (3, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1))
    ref = torch.nn.Conv3d(8, 8, (3, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1), groups=8, bias=False)
    ref.load_state_dict(m.state_dict())  # the same parameters and state dict
    assert isinstance(m, torch.nn.Conv3d) and list(m.state_dict()) == ["weight"]
    plain = torch.contiguous_format
    for shape, fmt, stride in [((2, 8, 4, 20, 20), CL, (1, 1, 1)), ((2, 8, 4, 6, 6), plain, (1, 1, 1)),
                               ((2, 8, 4, 6, 6), CL, (1, 2, 2)), ((2, 8, 4, 6, 6), CL, (1, 1, 1))]:
        m.stride = ref.stride = stride
        x = torch.randn(shape).to(memory_format=fmt)
        assert torch.equal(m(x), ref(x))
    for stride in ((1, 1, 1), (1, 2, 2)):  # channels-last, with gradients: the fast backward, strided or not
        m.stride = stride
        fast = m(torch.randn(2, 8, 4, 20, 20).to(memory_format=CL).requires_grad_())
        assert fast.grad_fn.name().endswith("_DepthwiseBackwardBackward")
    slow = m(torch.randn(2, 8, 4, 20, 20).requires_grad_())
    assert "Convolution" in slow.grad_fn.name()  # not channels-last: PyTorch's backward
    m.stride, m.padding = (1, 1, 1), (3, 1, 1)
    wide = m(torch.randn(2, 8, 4, 20, 20).to(memory_format=CL).requires_grad_())
    assert "Convolution" in wide.grad_fn.name()  # padding >= kernel: no mirrored padding, PyTorch's backward
    m.padding = (1, 1, 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # bf16 output gradients against fp32 weights: PyTorch's
        mixed = m(torch.randn(2, 8, 4, 20, 20).to(memory_format=CL).requires_grad_())
        assert "Convolution" in mixed.grad_fn.name()
    mixed.float().sum().backward()
    with torch.no_grad():
        assert m(torch.randn(2, 8, 4, 6, 6).to(memory_format=CL)).grad_fn is None  # inference: plain conv


def test_a_whole_training_step_matches_pytorchs_conv():
    """E3D-S and X3D-S (x0.35 at 8x40^2, the studies' nets): the same loss and gradients with the fast backward as
    with every depthwise conv as a plain nn.Conv3d."""
    from e3dlib import PRESETS
    from e3dlib.model import build_model
    from e3dlib.presets import scale_width

    for name in ("e3d-s", "x3d-s"):
        torch.manual_seed(0)
        fast = build_model(scale_width(PRESETS[name].with_input(8, 40), 0.35), num_classes=10).to(memory_format=CL)
        plain = build_model(fast.spec).to(memory_format=CL)
        plain.load_state_dict(fast.state_dict())
        for mod in plain.modules():
            if isinstance(mod, DepthwiseConv3d):
                mod.forward = torch.nn.Conv3d.forward.__get__(mod)
        x, y = torch.randn(4, 3, 8, 40, 40).to(memory_format=CL), torch.tensor([0, 3, 5, 9])
        grads = []
        for m in (fast, plain):
            m.train()
            torch.manual_seed(1)  # dropout
            loss = F.cross_entropy(m(x), y)
            grads.append((loss.item(), torch.autograd.grad(loss, list(m.parameters()))))
        assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-6)
        for a, b in zip(grads[0][1], grads[1][1], strict=True):
            assert torch.allclose(a, b, rtol=1e-3, atol=1e-5)
