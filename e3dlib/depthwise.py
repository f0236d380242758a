"""A depthwise 3D convolution whose backward pass is faster on the CPU than PyTorch's own.

Training the studies' nets is dominated by the backward of their depthwise convs (torch 2.13, 2 cores, 8x40^2
crops: about two thirds of a training step), and most of that is the input gradient, which PyTorch's CPU backward
computes far more slowly than a forward conv. For a stride-1 depthwise conv the input gradient *is* a depthwise
conv, with the kernel flipped in every dimension and the padding mirrored; `DepthwiseConv3d` computes it that way
(oneDNN's fast forward) and leaves the weight gradient to PyTorch (a weight-only backward). It does so for stride 1,
channels-last-3d input on the CPU with gradients enabled, and is a plain `nn.Conv3d` everywhere else (strided convs,
inference, tracing, CUDA); its parameters and state dict are `nn.Conv3d`'s. `benchmarks/train_speed.py
--depthwise` measures the gain per training step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _DepthwiseBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, padding: tuple[int, int, int]) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.padding = padding
        return F.conv3d(x, w, padding=padding, groups=w.shape[0])

    @staticmethod
    def backward(ctx, gy: torch.Tensor):
        x, w = ctx.saved_tensors
        pad, c = ctx.padding, w.shape[0]
        gx = gw = None
        if ctx.needs_input_grad[0]:
            mirrored = tuple(k - 1 - p for k, p in zip(w.shape[2:], pad, strict=True))
            gx = F.conv3d(gy, w.flip(2, 3, 4), padding=mirrored, groups=c)
        if ctx.needs_input_grad[1]:
            gw = torch.ops.aten.convolution_backward(gy, x, w, None, (1, 1, 1), pad, (1, 1, 1), False, (0, 0, 0), c,
                                                     (False, True, False))[1]
        return gx, gw, None


class DepthwiseConv3d(nn.Conv3d):
    """`nn.Conv3d(channels, channels, kernel, stride, padding, groups=channels, bias=False)` with the faster
    backward where it applies (see the module docstring); the same parameters, state dict and forward values."""

    def __init__(self, channels: int, kernel: tuple[int, int, int], stride: tuple[int, int, int] = (1, 1, 1),
                 padding: tuple[int, int, int] = (0, 0, 0)) -> None:
        super().__init__(channels, channels, kernel, stride=stride, padding=padding, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, C, T, H', W'), as `nn.Conv3d`."""
        if (self.stride == (1, 1, 1) and torch.is_grad_enabled() and x.device.type == "cpu"
                and x.is_contiguous(memory_format=torch.channels_last_3d) and not torch.jit.is_tracing()):
            return _DepthwiseBackward.apply(x, self.weight, self.padding)
        return super().forward(x)
