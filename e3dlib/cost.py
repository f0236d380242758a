"""Analytic cost of an architecture: FLOPs (two conventions), parameters, layers. Pure Python, no torch.

Conventions (`convention=`):

* ``"macs"`` -- multiply-adds of every conv and linear layer of `build_model(spec)` (SE and shortcut convs,
  FC head and classifier included; BN, activations, pooling and additions excluded). This is the convention
  of the X3D paper and fvcore: X3D-S = 1.96 G at 13x160^2. `torch.utils.flop_counter` reports exactly twice
  this number (it counts a multiply and an add); `tests/test_cost.py` checks that.
* ``"tinynas"`` -- the official E3D code's count (TinyNAS `Cnn3DNet.get_flops`), which defines the paper's
  budgets (E3D-S/M/L = 1.9/4.7/18.4 G): backbone only (stem .. conv5, no FC head, no SE), the same
  conv terms plus 2 per BN output and 1 per ReLU output, an average-pool term for strided identity
  shortcuts, no projection shortcuts (TinyNAS drops the residual when widths differ), and a *fractional*
  spatial size (size / 2^k, not the conv's rounded-up output). Notebook 05 uses it for search budgets,
  notebooks 01-04 and 06 report ``"macs"`` unless they say otherwise.
"""

from __future__ import annotations

from typing import NamedTuple

from .layers import ConvLayer, Geometry, conv_layers, head_layers, stage_geometry, stage_layers, stem_layers
from .spec import ArchSpec

CONVENTIONS = ("macs", "tinynas")


class Cost(NamedTuple):
    """The cost of one block (the stem, a stage, or the head): FLOPs in both conventions, parameters (BN
    included) and layers as the official code counts them (stem 1 (+1 temporal), 3 per block, conv5 1)."""

    tinynas: float
    macs: int
    params: int
    layers: int


def flops(spec: ArchSpec, convention: str = "macs") -> float:
    """FLOPs of one clip (batch 1) in the named convention."""
    if convention == "macs":
        return float(macs(spec))
    if convention == "tinynas":
        return tinynas_flops(spec)
    raise ValueError(f"unknown FLOPs convention {convention!r}; choose one of {CONVENTIONS}")


# --- layer level: one conv or linear layer of the built model -------------------------------------------------


def layer_macs(L: ConvLayer) -> int:
    """Multiply-adds of a layer (all `L.count` repeats): output elements x fan-in."""
    return L.count * L.cout * L.t * L.ho * L.wo * (L.cin // L.groups) * L.kt * L.kh * L.kw


def layer_params(L: ConvLayer, bn: bool = True) -> int:
    """Weights, bias and (with `bn`) BN's affine parameters of a layer, all `L.count` repeats."""
    per = L.cout * (L.cin // L.groups) * L.kt * L.kh * L.kw + (L.cout if L.bias else 0)
    return L.count * (per + (2 * L.cout if bn and L.bn else 0))


# --- block level: the stem, a stage, the head (what the search caches) ---------------------------------------


def _cost(layers: list[ConvLayer], tinynas: float, n_layers: int) -> Cost:
    return Cost(tinynas, sum(layer_macs(L) for L in layers), sum(layer_params(L) for L in layers), n_layers)


def stem_cost(spec: ArchSpec, g: Geometry, c: int) -> Cost:
    """The stem with `c` output channels. TinyNAS's Conv3DKXBNRELU: conv + 2 per BN output + 1 per ReLU output,
    per output pixel; X3D's temporal conv (not in TinyNAS) is counted like its depthwise Conv3DKXBN + ReLU."""
    s, T = spec.stem, spec.frames
    tinynas = (spec.in_channels * c * s.kt * s.k ** 2 + 3 * c) / s.stride ** 2 * g.res ** 2 * T
    if s.temporal_kernel:
        tinynas += (c * s.temporal_kernel + 3 * c) * (g.res / s.stride) ** 2 * T
    return _cost(stem_layers(spec, g, c), tinynas, 1 + (1 if s.temporal_kernel else 0))


def stage_cost(spec: ArchSpec, g: Geometry, c: int, o: int, b: int, kt: int, k: int, d: int) -> Cost:
    """A stage of `d` blocks from `c` to `o` channels, bottleneck `b`, depthwise kernel kt x k x k (`spec` gives
    only the network-wide fields). TinyNAS terms per block: expand, depthwise and project convs with their BN
    (2 per output) and ReLU (1 per output), at a fractional input size; the strided first block divides by
    stride^2 what it computes after the stride; an identity shortcut with stride 2 adds an average pool."""
    T, s2, kk = spec.frames, g.stride ** 2, kt * k * k
    first = (c * b + 2 * b) + (b * kk + 2 * b) / s2 + (b * o + 2 * o) / s2 + b + b / s2 + o / s2
    if c == o and g.stride == 2:
        first += c  # AvgPool3d on the identity shortcut
    rest = (o * b + 2 * b) + (b * kk + 2 * b) + (b * o + 2 * o) + 2 * b + o
    tinynas = (first + (d - 1) * rest / s2) * g.res ** 2 * T
    return _cost(stage_layers(spec, g, c, o, b, kt, k, d), tinynas, 3 * d)


def head_cost(spec: ArchSpec, g: Geometry, c: int, h: int) -> Cost:
    """conv5 from `c` to `h` channels, FC and classifier. TinyNAS counts conv5 (+ BN, ReLU) only."""
    tinynas = (c * h + 3 * h) * g.res ** 2 * spec.frames
    return _cost(head_layers(spec, g, c, h), tinynas, 1)


def block_costs(spec: ArchSpec) -> list[Cost]:
    """`Cost` of every block of `spec`: [stem, stage 1, ..., stage n, head]."""
    geo = stage_geometry(spec)
    c = spec.stem.out_channels
    out = [stem_cost(spec, geo[0], c)]
    for st, g in zip(spec.stages, geo[1:-1], strict=True):
        out.append(stage_cost(spec, g, c, st.out_channels, st.bottleneck, st.kt, st.k, st.depth))
        c = st.out_channels
    return out + [head_cost(spec, geo[-1], c, spec.head.conv_channels)]


# --- network level -----------------------------------------------------------------------------------------------


def macs(spec: ArchSpec) -> int:
    """Multiply-adds of all conv and linear layers of the built model."""
    return sum(layer_macs(L) for L in conv_layers(spec))


def params(spec: ArchSpec, bn: bool = True) -> int:
    """Trainable parameters of the built model; `bn=False` leaves out BN's affine parameters (the published
    X3D counts appear to do so: X3D-S 3.76M)."""
    return sum(layer_params(L, bn) for L in conv_layers(spec))


def tinynas_flops(spec: ArchSpec) -> float:
    """FLOPs as the official TinyNAS code counts them (see module docstring): the blocks' terms, summed in order."""
    total = 0.0
    for cost in block_costs(spec):
        total += cost.tinynas
    return total
