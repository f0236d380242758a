"""A depthwise 3D convolution whose backward pass is faster on the CPU than PyTorch's own.

Training the studies' nets is dominated by the backward of their depthwise convs (torch 2.13, 2 cores, 8x40^2
crops: about two thirds of a training step), and most of that is the input gradient, which PyTorch's CPU backward
computes far more slowly than a forward conv. The input gradient of a depthwise conv *is* a stride-1 depthwise
conv of the output gradient -- with zeros inserted between its elements where the conv is strided, and the kernel
flipped in every dimension, the padding mirrored; `DepthwiseConv3d` computes it that way (oneDNN's fast forward;
e.g. 0.34 vs 4.95 ms for a 136-channel 3x3x3 stride-(1,2,2) conv of a 16x8x3^2 batch, 1 thread).

The weight gradient is left to PyTorch (a weight-only backward) where oneDNN has a vectorised depthwise kernel for
it. Without AVX-512 it has none for 3D: oneDNN 3.12 on an AVX2 CPU runs it as one GEMM per channel (ONEDNN_VERBOSE
shows `x64:gemm:jit`, and `jit_dw:avx2` for the 2D case). There `weight_grad` sums, for each kernel tap, the
output gradient times the input that tap meets: on a 2-core AVX2 EPYC, 1.5-4x faster than oneDNN per layer of the
studies' nets, 82 vs 297 ms of weight gradients per step of notebook 06's STEntr net (batch 16, 8x40^2, 1 thread).

It does all this for channels-last-3d input on the CPU with gradients enabled, where the padding is at most the
kernel size - 1, and is a plain `nn.Conv3d` everywhere else (inference, tracing, CUDA, CPU autocast); its parameters
and state dict are `nn.Conv3d`'s. `benchmarks/train_speed.py --depthwise` measures the gain per training step.
"""

from __future__ import annotations

import functools
import itertools

import torch
import torch.nn.functional as F
from torch import nn

Triple = tuple[int, int, int]


def input_grad(gy: torch.Tensor, w: torch.Tensor, size: Triple, stride: Triple, padding: Triple) -> torch.Tensor:
    """The gradient with respect to the input (of spatial `size`) of `F.conv3d(x, w, stride=stride,
    padding=padding, groups=C)` for the output gradient `gy`: a stride-1 depthwise conv, with the flipped kernel,
    of `gy` dilated by the stride (zeros between its elements; trailing zeros for input the conv never reached)."""
    k = w.shape[2:]
    if stride != (1, 1, 1):  # gy's elements spread over the stride-1 conv's output size; every s-th one is gy's
        full = (*gy.shape[:2], *(n + 2 * p - kk + 1 for n, p, kk in zip(size, padding, k, strict=True)))
        spread = torch.empty(full, dtype=gy.dtype, device=gy.device, memory_format=torch.channels_last_3d).zero_()
        spread[:, :, ::stride[0], ::stride[1], ::stride[2]] = gy
        gy = spread
    mirrored = tuple(kk - 1 - p for kk, p in zip(k, padding, strict=True))
    return F.conv3d(gy, w.flip(2, 3, 4), padding=mirrored, groups=w.shape[0])


@functools.lru_cache(maxsize=512)
def _tap_slices(size: Triple, out: Triple, kernel: Triple, stride: Triple,
                padding: Triple) -> tuple[tuple[tuple[slice, ...], tuple[slice, ...]], ...]:
    """For each kernel tap (row-major), the (output, input) slices of the (B, T, H, W, C) views where the tap meets
    the input, not the padding; an empty pair of slices for a tap that meets only padding."""
    def along(n_in: int, n_out: int, tap: int, s: int, p: int) -> tuple[slice, slice]:
        lo = max(0, -((tap - p) // s))  # first output o with o * s + tap - p >= 0
        hi = min(n_out - 1, (n_in - 1 - tap + p) // s)  # last one inside the input
        first = lo * s + tap - p
        return slice(lo, max(lo, hi + 1)), slice(first, first + (hi - lo) * s + 1, s)

    taps = []
    for tap in itertools.product(*map(range, kernel)):
        pairs = [along(*a) for a in zip(size, out, tap, stride, padding, strict=True)]
        taps.append(((slice(None), *(o for o, _ in pairs)), (slice(None), *(i for _, i in pairs))))
    return tuple(taps)  # cached: immutable


def weight_grad(gy: torch.Tensor, x: torch.Tensor, kernel: Triple, stride: Triple, padding: Triple) -> torch.Tensor:
    """The gradient with respect to the (C, 1, *kernel) weight of `F.conv3d(x, w, stride=stride, padding=padding,
    groups=C)` for the output gradient `gy`: for each tap, the sum over batch and positions of gy times the input
    the tap meets, channel by channel (channels-last views: C is the contiguous axis of every product)."""
    x5, g5 = x.permute(0, 2, 3, 4, 1), gy.permute(0, 2, 3, 4, 1)  # (B, T, H, W, C)
    taps = _tap_slices(tuple(x5.shape[1:4]), tuple(g5.shape[1:4]), kernel, stride, padding)
    sums = [(g5[o] * x5[i]).sum((0, 1, 2, 3)) for o, i in taps]  # a tap on padding only: an empty sum, 0
    return torch.stack(sums, 1).view(x.shape[1], 1, *kernel)


# oneDNN's weight gradient for 3D depthwise convs is vectorised only with AVX-512 (module docstring)
TAP_WEIGHT_GRAD = torch.backends.cpu.get_cpu_capability() != "AVX512"


class _DepthwiseBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, padding: Triple, stride: Triple = (1, 1, 1)) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.padding, ctx.stride = padding, stride
        return F.conv3d(x, w, stride=stride, padding=padding, groups=w.shape[0])

    @staticmethod
    def backward(ctx, gy: torch.Tensor):
        x, w = ctx.saved_tensors
        pad, stride, c = ctx.padding, ctx.stride, w.shape[0]
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = input_grad(gy, w, tuple(x.shape[2:]), stride, pad)
        if ctx.needs_input_grad[1]:
            gw = weight_grad(gy, x, tuple(w.shape[2:]), stride, pad) if TAP_WEIGHT_GRAD else \
                torch.ops.aten.convolution_backward(gy, x, w, None, stride, pad, (1, 1, 1), False, (0, 0, 0), c,
                                                    (False, True, False))[1]
        return gx, gw, None, None


class DepthwiseConv3d(nn.Conv3d):
    """`nn.Conv3d(channels, channels, kernel, stride, padding, groups=channels, bias=False)` with the faster
    backward where it applies (see the module docstring); the same parameters, state dict and forward values."""

    def __init__(self, channels: int, kernel: Triple, stride: Triple = (1, 1, 1),
                 padding: Triple = (0, 0, 0)) -> None:
        super().__init__(channels, channels, kernel, stride=stride, padding=padding, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, C, T', H', W'), as `nn.Conv3d`."""
        if (torch.is_grad_enabled() and x.device.type == "cpu" and not torch.jit.is_tracing()
                and not torch.is_autocast_enabled("cpu") and x.is_contiguous(memory_format=torch.channels_last_3d)
                and all(p < k for p, k in zip(self.padding, self.kernel_size, strict=True))):
            return _DepthwiseBackward.apply(x, self.weight, self.padding, self.stride)
        return super().forward(x)
