"""Forward-inference (Monte-Carlo) estimate of the plain network's output log-variance.

The counterpart of the analytic scores in `e3dlib.scores`: build the plain network of App. C (conv layers
only -- no BN, activation, residual or SE; zero bias; N(0, 1) weights), feed N(0, 1) input and measure
log Var of the final feature map. HomoEntr is its expectation when every element sees a full, i.i.d.
receptive field; zero padding at the borders and strides make the two drift apart (notebook 02).

To keep float32 from overflowing (Var grows like the product of fan-ins, e^300 for E3D-S), each layer's
output is divided by its sample standard deviation and the log-variances are summed: the network is linear,
so the sum equals log Var of the unnormalised output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .layers import PLAIN_ROLES, ConvLayer, conv_layers, expand_layers
from .spec import ArchSpec


def plain_layers(spec: ArchSpec) -> list[ConvLayer]:
    """The conv layers of the plain network, one per physical layer, in forward order."""
    return [L for L in expand_layers(conv_layers(spec)) if L.role in PLAIN_ROLES]


def plain_stack(channels: int | Sequence[int], kernels: Sequence[tuple[int, int, int]],
                in_channels: int | None = None, strides: Sequence[int] | None = None) -> list[ConvLayer]:
    """A custom plain stack (e.g. the paper's Fig. 4 net: kernels 1^3, 3^3, 1^3, all widths C)."""
    chans = [channels] * len(kernels) if isinstance(channels, int) else list(channels)
    strides = list(strides or [1] * len(kernels))
    cin = chans[0] if in_channels is None else in_channels
    out = []
    for i, ((kt, kh, kw), c, s) in enumerate(zip(kernels, chans, strides, strict=True)):
        out.append(ConvLayer(f"conv{i}", "plain", 1, cin, c, 1, kt, kh, kw, s, 0, 0, 0, 0, 0, False, False))
        cin = c
    return out


def analytic_log_variance(layers: Sequence[ConvLayer], per_layer: bool = False) -> float | np.ndarray:
    """sum_l log(Kt Kh Kw C_{l-1}): log Var of the output for unit-variance weights and input (Eq. 5);
    with `per_layer=True` the cumulative value after every layer."""
    terms = [math.log(L.kt * L.kh * L.kw * (L.cin // L.groups)) for L in layers]
    return np.cumsum(terms) if per_layer else float(sum(terms))


@torch.no_grad()
def forward_log_variance(layers: Sequence[ConvLayer], input_shape: tuple[int, int, int], *, repeats: int = 1,
                         batch: int = 1, seed: int = 0, device: str = "cpu", per_layer: bool = False,
                         dtype: torch.dtype = torch.float32) -> np.ndarray:
    """Monte-Carlo log Var of the plain network's output, weights and input re-drawn for every repeat.

    Returns shape (repeats,), or (repeats, len(layers)) cumulative per-layer values with `per_layer=True`.
    `input_shape` is (T, H, W); the input has `layers[0].cin` channels and `batch` clips.
    """
    gen = torch.Generator(device=device).manual_seed(seed)
    out = np.zeros((repeats, len(layers)))
    T, H, W = input_shape
    for r in range(repeats):
        x = torch.randn(batch, layers[0].cin, T, H, W, generator=gen, device=device, dtype=dtype)
        total = 0.0
        for i, L in enumerate(layers):
            w = torch.randn(L.cout, L.cin // L.groups, L.kt, L.kh, L.kw, generator=gen, device=device, dtype=dtype)
            x = F.conv3d(x, w, stride=(1, L.stride, L.stride), padding=(L.kt // 2, L.kh // 2, L.kw // 2),
                         groups=L.groups)
            v = float(x.var(unbiased=False))
            total += math.log(v)
            x = x / math.sqrt(v)
            out[r, i] = total
    return out if per_layer else out[:, -1]


def forward_entropy(spec: ArchSpec, *, repeats: int = 1, batch: int = 1, frames: int | None = None,
                    size: int | None = None, seed: int = 0, device: str = "cpu") -> np.ndarray:
    """Monte-Carlo counterpart of `homo_entr(spec)` (shape (repeats,)), optionally at another input size."""
    spec = spec.with_input(frames, size)
    return forward_log_variance(plain_layers(spec), (spec.frames, spec.size, spec.size), repeats=repeats,
                                batch=batch, seed=seed, device=device)


@torch.no_grad()
def padded_log_variance(layers: Sequence[ConvLayer], input_shape: tuple[int, int, int],
                        per_layer: bool = False) -> np.ndarray | float:
    """Expected log Var of the plain network's output *with* zero padding, computed exactly.

    With fresh N(0, 1) weights per layer the variance of an output element is C_{l-1}/g times the sum of the
    input variances under the kernel's in-bounds taps; propagating the per-position variance map (a conv with
    a ones kernel) gives E[x_L^2] averaged over positions. Without padding effects it equals
    `analytic_log_variance`; the difference is how much the borders cost (notebook 02).
    """
    T, H, W = input_shape
    v = torch.ones(1, 1, T, H, W, dtype=torch.float64)
    total, out = 0.0, []
    for L in layers:
        ones = torch.ones(1, 1, L.kt, L.kh, L.kw, dtype=torch.float64)
        v = F.conv3d(v, ones, stride=(1, L.stride, L.stride), padding=(L.kt // 2, L.kh // 2, L.kw // 2))
        v = v * (L.cin // L.groups)
        m = float(v.mean())
        total += math.log(m)
        v = v / m
        out.append(total)
    return np.array(out) if per_layer else total


def time_analytic_vs_forward(layers: Sequence[ConvLayer], input_shape: tuple[int, int, int], evaluations: int,
                             seed: int = 0) -> dict[str, float]:
    """Seconds for `evaluations` analytic scores vs `evaluations` forward estimates (paper Fig. 4b)."""
    import time

    t = time.perf_counter()
    for _ in range(evaluations):
        analytic_log_variance(layers)
    analytic = time.perf_counter() - t
    t = time.perf_counter()
    forward_log_variance(layers, input_shape, repeats=evaluations, seed=seed)
    forward = time.perf_counter() - t
    return {"analytic_s": analytic, "forward_s": forward, "speedup": forward / analytic}
