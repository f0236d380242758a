"""Named architectures as data: X3D-XS/S/M/L (Feichtenhofer 2020, Table 1), E3D-S/M/L (E3D paper Table 9,
identical to the official TinyNAS structure files `E3D_{S,M,L}.txt`) and the search's initial structure
(E3D paper Table 8, the official `E3D_X3DS_FLOPs.py` config).

X3D: width factor 2 (stem 24, stages 24/48/96/192), bottleneck factor 2.25, depth factor 2.2 (XS/S/M) or 5.0
(L) applied to base depths (1, 2, 5, 3), 3x3x3 depthwise kernels, SE 1/16 on every other block, swish after the
depthwise conv, conv5 432 -> FC 2048.

E3D: the searched backbones with a 1x3x3 stem and conv5 of 512 channels; for training the paper adds "SE
block and ReLU" without giving the ratio, so we use X3D's SE placement (1/16, every other block) with ReLU.
"""

from __future__ import annotations

from dataclasses import replace

from .cost import flops
from .spec import ArchSpec, HeadSpec, StageSpec, StemSpec, round_width


def _x3d(name: str, frames: int, size: int, depths: tuple[int, ...]) -> ArchSpec:
    widths = (24, 48, 96, 192)
    stages = tuple(StageSpec(out_channels=c, bottleneck=int(2.25 * c), kt=3, k=3, stride=2, depth=d)
                   for c, d in zip(widths, depths, strict=True))
    return ArchSpec(name=name, frames=frames, size=size,
                    stem=StemSpec(out_channels=24, k=3, kt=1, stride=2, temporal_kernel=5),
                    stages=stages, head=HeadSpec(conv_channels=432, fc_channels=2048),
                    se_ratio=0.0625, se_every=2, act="swish")


def _e3d(name: str, frames: int, size: int, stages: list[tuple[int, int, int, int, int, int]],
         conv5: int = 512) -> ArchSpec:
    """stages: (out, bottleneck, kt, k, stride, depth) per stage, as in the TinyNAS structure files."""
    return ArchSpec(name=name, frames=frames, size=size,
                    stem=StemSpec(out_channels=24, k=3, kt=1, stride=2),
                    stages=tuple(StageSpec(*s) for s in stages),
                    head=HeadSpec(conv_channels=conv5, fc_channels=2048),
                    se_ratio=0.0625, se_every=2, act="relu")


PRESETS: dict[str, ArchSpec] = {
    "x3d-xs": _x3d("x3d-xs", 4, 160, (3, 5, 11, 7)),
    "x3d-s": _x3d("x3d-s", 13, 160, (3, 5, 11, 7)),
    "x3d-m": _x3d("x3d-m", 16, 224, (3, 5, 11, 7)),
    "x3d-l": _x3d("x3d-l", 16, 312, (5, 10, 25, 15)),
    "e3d-s": _e3d("e3d-s", 13, 160, [(24, 32, 1, 5, 2, 3), (48, 96, 3, 3, 2, 6), (120, 176, 3, 3, 2, 6),
                                     (120, 176, 3, 3, 1, 6), (256, 384, 3, 3, 2, 6)]),
    "e3d-m": _e3d("e3d-m", 16, 224, [(24, 32, 1, 5, 2, 3), (64, 96, 3, 3, 2, 6), (120, 176, 3, 3, 2, 6),
                                     (120, 176, 3, 3, 1, 6), (184, 464, 3, 3, 2, 6)]),
    "e3d-l": _e3d("e3d-l", 16, 312, [(24, 32, 1, 5, 2, 3), (48, 120, 3, 3, 2, 13), (120, 176, 3, 3, 2, 13),
                                     (120, 176, 3, 3, 1, 13), (192, 480, 3, 3, 2, 13)]),
    # The search's starting point (paper Table 8): five one-block stages, well below a third of 1.9 GFLOPs.
    "e3d-initial": _e3d("e3d-initial", 13, 160, [(24, 48, 1, 5, 2, 1), (48, 96, 3, 3, 2, 1), (96, 192, 3, 3, 2, 1),
                                                 (96, 192, 3, 3, 1, 1), (192, 384, 3, 3, 2, 1)]),
}

# Budgets of the paper (GFLOPs, TinyNAS counting) and the input each family member is searched/trained at.
E3D_TARGETS = {"e3d-s": (1.9e9, 13, 160), "e3d-m": (4.7e9, 16, 224), "e3d-l": (18.4e9, 16, 312)}


def get_preset(name: str) -> ArchSpec:
    """A preset by (case-insensitive) name; the error lists the valid names."""
    key = name.lower().replace("_", "-")
    if key not in PRESETS:
        raise KeyError(f"unknown architecture {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[key]


def scale_width(spec: ArchSpec, factor: float, divisor: int = 8) -> ArchSpec:
    """Every channel count (stem, stages, bottlenecks, conv5) times `factor`, rounded X3D-style to `divisor`."""
    def r(c: int) -> int:
        return round_width(c * factor, divisor)

    return replace(spec, name=f"{spec.name}x{factor:.3g}",
                   stem=replace(spec.stem, out_channels=r(spec.stem.out_channels)),
                   stages=tuple(replace(s, out_channels=r(s.out_channels), bottleneck=r(s.bottleneck))
                                for s in spec.stages),
                   head=replace(spec.head, conv_channels=r(spec.head.conv_channels)))


def match_flops(spec: ArchSpec, target: float, convention: str = "macs", divisor: int = 8) -> ArchSpec:
    """`spec` width-scaled so that its FLOPs come closest to `target` (bisection on the factor, then the best of
    the rounded neighbours): how notebook 06 puts X3D at the FLOPs of a searched net."""
    lo, hi = 0.05, 8.0
    for _ in range(50):
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if flops(scale_width(spec, mid, divisor), convention) < target else (lo, mid)
    candidates = [scale_width(spec, f, divisor) for f in (lo * 0.97, lo, hi, hi * 1.03)]
    return min(candidates, key=lambda s: abs(flops(s, convention) - target))
