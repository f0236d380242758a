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

from .spec import ArchSpec, conv_layers

CONVENTIONS = ("macs", "tinynas")


def flops(spec: ArchSpec, convention: str = "macs") -> float:
    """FLOPs of one clip (batch 1) in the named convention."""
    if convention == "macs":
        return float(macs(spec))
    if convention == "tinynas":
        return tinynas_flops(spec)
    raise ValueError(f"unknown FLOPs convention {convention!r}; choose one of {CONVENTIONS}")


def macs(spec: ArchSpec) -> int:
    """Multiply-adds of all conv and linear layers of the built model."""
    return sum(L.count * L.cout * L.t * L.ho * L.wo * (L.cin // L.groups) * L.kt * L.kh * L.kw
               for L in conv_layers(spec))


def params(spec: ArchSpec, bn: bool = True) -> int:
    """Trainable parameters of the built model; `bn=False` leaves out BN's affine parameters (the published
    X3D counts appear to do so: X3D-S 3.76M)."""
    n = 0
    for L in conv_layers(spec):
        per = L.cout * (L.cin // L.groups) * L.kt * L.kh * L.kw
        if L.bias:
            per += L.cout
        if bn and L.bn:
            per += 2 * L.cout
        n += L.count * per
    return n


def tinynas_flops(spec: ArchSpec) -> float:
    """FLOPs as the official TinyNAS code counts them (see module docstring), reproduced term by term."""
    T = spec.frames
    res = float(spec.size)
    s = spec.stem
    c = s.out_channels
    st2 = s.stride ** 2
    # Conv3DKXBNRELU: conv + 2 per BN output + 1 per ReLU output, per output pixel at the input resolution
    total = (spec.in_channels * c * s.kt * s.k ** 2 + 3 * c) / st2 * res ** 2 * T
    res /= s.stride
    if s.temporal_kernel:  # not in TinyNAS; counted like its depthwise Conv3DKXBN + ReLU
        total += (c * s.temporal_kernel + 3 * c) * res ** 2 * T
    for st in spec.stages:
        b, o, s2 = st.bottleneck, st.out_channels, st.stride ** 2
        kk = st.kt * st.k ** 2
        first = (c * b + 2 * b) + (b * kk + 2 * b) / s2 + (b * o + 2 * o) / s2 + b + b / s2 + o / s2
        if c == o and st.stride == 2:
            first += c  # AvgPool3d on the identity shortcut
        rest = (o * b + 2 * b) + (b * kk + 2 * b) + (b * o + 2 * o) + 2 * b + o
        total += (first + (st.depth - 1) * rest / s2) * res ** 2 * T
        res /= st.stride
        c = o
    h = spec.head.conv_channels
    total += (c * h + 3 * h) * res ** 2 * T
    return total
