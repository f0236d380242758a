"""A depthwise 3D convolution whose backward pass is faster on the CPU than PyTorch's own.

Training the studies' nets is dominated by the backward of their depthwise convs (torch 2.13, 2 cores, 8x40^2
crops: about two thirds of a training step). For a stride-1 depthwise conv, the input gradient is itself a depthwise
conv with the flipped kernel (fast in oneDNN), and the weight gradient is the sum over temporal taps of depthwise
conv2d weight gradients. `DepthwiseConv3d` uses that backward where it measured faster (stride 1, feature maps of at
most `FAST_MAX_SIDE` pixels a side, channels-last-3d input, gradients enabled) and PyTorch's everywhere else; its
parameters and state dict are `nn.Conv3d`'s. `benchmarks/train_speed.py --depthwise` measures the gain.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FAST_MAX_SIDE = 10  # on 20^2 maps the per-tap weight gradient is no faster than PyTorch's backward


class _DepthwiseBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, padding: tuple[int, int, int]) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.padding = padding
        return F.conv3d(x, w, padding=padding, groups=w.shape[0])

    @staticmethod
    def backward(ctx, gy: torch.Tensor):
        x, w = ctx.saved_tensors
        pad = ctx.padding
        c, _, kt, kh, kw = w.shape
        gx = gw = None
        if ctx.needs_input_grad[0]:
            flipped = tuple(k - 1 - p for k, p in zip((kt, kh, kw), pad, strict=True))
            gx = F.conv3d(gy, w.flip(2, 3, 4), padding=flipped, groups=c)
        if ctx.needs_input_grad[1]:
            gw = torch.stack([_tap_weight_grad(x, gy, w, a, pad) for a in range(kt)], 2)
        return gx, gw, None


def _tap_weight_grad(x: torch.Tensor, gy: torch.Tensor, w: torch.Tensor, a: int,
                     pad: tuple[int, int, int]) -> torch.Tensor:
    """d loss / d w[:, :, a]: the depthwise conv2d weight gradient over the frames that temporal tap `a` pairs
    (output frame t reads input frame t + a - pad_t)."""
    c, t_in, t_out = w.shape[0], x.shape[2], gy.shape[2]
    lo, hi = max(0, pad[0] - a), min(t_out, t_in + pad[0] - a)
    if hi <= lo:  # the tap only ever sees padding
        return torch.zeros_like(w[:, :, a])
    cl, shift = torch.channels_last, a - pad[0]
    xs = x[:, :, lo + shift:hi + shift].transpose(1, 2).reshape(-1, c, *x.shape[3:]).contiguous(memory_format=cl)
    gs = gy[:, :, lo:hi].transpose(1, 2).reshape(-1, c, *gy.shape[3:]).contiguous(memory_format=cl)
    return torch.ops.aten.convolution_backward(gs, xs, w[:, :, a], None, (1, 1), pad[1:], (1, 1), False, (0, 0), c,
                                               (False, True, False))[1]


class DepthwiseConv3d(nn.Conv3d):
    """`nn.Conv3d(channels, channels, kernel, stride, padding, groups=channels, bias=False)` with the faster
    backward where it applies (see the module docstring); the same parameters, state dict and forward values."""

    def __init__(self, channels: int, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1),
                 padding: tuple[int, int, int] = (0, 0, 0)) -> None:
        super().__init__(channels, channels, kernel, stride=stride, padding=padding, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, C, T, H', W'), as `nn.Conv3d`."""
        if (self.stride == (1, 1, 1) and x.shape[-1] <= FAST_MAX_SIDE and x.shape[-2] <= FAST_MAX_SIDE
                and torch.is_grad_enabled() and x.device.type == "cpu"
                and x.is_contiguous(memory_format=torch.channels_last_3d) and not torch.jit.is_tracing()):
            return _DepthwiseBackward.apply(x, self.weight, self.padding)
        return super().forward(x)
