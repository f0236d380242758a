"""Families of architectures for the paper's trained studies (notebooks 03 and 04).

* `kernel_selection_family` -- paper Table 1: X3D-S with its stage 4 (11 blocks) split into 5 + 6 blocks, so that
  it has five stages; "S-N" uses 1x5x5 depthwise kernels in stage N only and 3x3x3 elsewhere, "T-N" the reverse.
* `random_architecture` / `sample_architectures` -- paper Fig. 3: random members of the search space of
  `e3dlib.search` (five stages, kernels {1x3x3, 1x5x5, 3x3x3}, widths in multiples of 8, bottleneck ratios
  1.5...4.0), drawn so that their FLOPs cover a range evenly on a log scale.

Every random draw takes an explicit `numpy.random.Generator` or seed.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .cost import flops
from .presets import PRESETS
from .spec import ArchSpec, HeadSpec, SpecError, StageSpec, StemSpec, round_width

SPATIAL = (1, 5)  # (kt, k) of the "S" kernel 1x5x5
SPATIO_TEMPORAL = (3, 3)  # 3x3x3


def split_stage(spec: ArchSpec, index: int, first_depth: int) -> ArchSpec:
    """`spec` with stage `index` cut into two stages of `first_depth` and `depth - first_depth` blocks (the second
    part keeps the width and has stride 1): the same network, block for block, with one more stage."""
    st = spec.stages[index]
    if not 0 < first_depth < st.depth:
        raise SpecError(f"stage {index} has {st.depth} blocks; cannot split off {first_depth}")
    parts = (replace(st, depth=first_depth), replace(st, depth=st.depth - first_depth, stride=1))
    return replace(spec, stages=spec.stages[:index] + parts + spec.stages[index + 1:])


def with_kernels(spec: ArchSpec, kernels: list[tuple[int, int]], name: str) -> ArchSpec:
    """`spec` with stage i's depthwise kernel set to kernels[i] = (kt, k), i.e. kt x k x k."""
    if len(kernels) != len(spec.stages):
        raise SpecError(f"{len(kernels)} kernels for {len(spec.stages)} stages")
    return replace(spec, name=name, stages=tuple(replace(s, kt=kt, k=k)
                                                 for s, (kt, k) in zip(spec.stages, kernels, strict=True)))


def kernel_selection_family(base: ArchSpec | None = None) -> dict[str, ArchSpec]:
    """Paper Table 1: {"X3D-S": all 3x3x3, "S-1".."S-5", "T-1".."T-5"} built from X3D-S (or `base`, which must
    have X3D's four stages) with stage 4 split into 5 + 6 blocks."""
    base = base or PRESETS["x3d-s"]
    if len(base.stages) != 4 or base.stages[2].depth != 11:
        raise SpecError("the kernel-selection family starts from X3D's four stages with an 11-block stage 4")
    five = split_stage(base, 2, 5)
    n = len(five.stages)
    family = {"X3D-S": with_kernels(five, [SPATIO_TEMPORAL] * n, "X3D-S")}
    for i in range(n):
        family[f"S-{i + 1}"] = with_kernels(five, [SPATIAL if j == i else SPATIO_TEMPORAL for j in range(n)],
                                            f"S-{i + 1}")
    for i in range(n):
        family[f"T-{i + 1}"] = with_kernels(five, [SPATIO_TEMPORAL if j == i else SPATIAL for j in range(n)],
                                            f"T-{i + 1}")
    return family


# --- random architectures (Fig. 3) -----------------------------------------------------------------------------------

KERNELS = ((1, 3), (1, 5), (3, 3))
BOTTLENECK_RATIOS = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
STRIDES = (2, 2, 2, 1, 2)  # E3D's five stages (Table 8/9)


def random_architecture(rng: np.random.Generator, frames: int, size: int, *, max_depth: int = 4,
                        width_range: tuple[int, int] = (8, 256), num_classes: int = 400,
                        name: str = "random", temporal_stem: int = 0) -> ArchSpec:
    """One random member of the search space: a 1x3x3 stem, five stages with strides (2, 2, 2, 1, 2), each with a
    random kernel, depth 1..max_depth, non-decreasing width (multiple of 8, log-uniform) and bottleneck ratio;
    conv5 = 2.25 x the last width (X3D's ratio), SE 1/16 on every other block and ReLU as in the E3D presets.
    `temporal_stem` = 5 adds X3D's depthwise 5x1x1 temporal conv to the stem (the only temporal kernel outside the
    residual branches; notebook 07 §1); the draws are the same, so the net is otherwise the one without it."""
    lo, hi = width_range
    widths = sorted(round_width(math.exp(rng.uniform(math.log(lo), math.log(hi))), 8) for _ in STRIDES)
    stages = []
    for c, stride in zip(widths, STRIDES, strict=True):
        kt, k = KERNELS[rng.integers(len(KERNELS))]
        ratio = BOTTLENECK_RATIOS[rng.integers(len(BOTTLENECK_RATIOS))]
        stages.append(StageSpec(out_channels=c, bottleneck=round_width(ratio * c, 8), kt=kt, k=k, stride=stride,
                                depth=int(rng.integers(1, max_depth + 1))))
    stem = StemSpec(out_channels=int(rng.choice([8, 16, 24])), k=3, kt=1, stride=2, temporal_kernel=temporal_stem)
    return ArchSpec(name=name, frames=frames, size=size, stem=stem, stages=tuple(stages),
                    head=HeadSpec(conv_channels=round_width(2.25 * widths[-1], 8), fc_channels=2048),
                    num_classes=num_classes, se_ratio=0.0625, se_every=2, act="relu")


def sample_architectures(n: int, flops_range: tuple[float, float], frames: int, size: int, *, seed: int = 0,
                         convention: str = "macs", max_depth: int = 4, width_range: tuple[int, int] = (8, 256),
                         num_classes: int = 400, max_tries: int = 200_000, temporal_stem: int = 0) -> list[ArchSpec]:
    """`n` random architectures whose FLOPs lie in `flops_range`, one per equal-width bin of log FLOPs (rejection
    sampling), sorted by FLOPs and named "rand-00", "rand-01", ... Deterministic in `seed`. The FLOPs include
    the classifier, so give the `num_classes` the networks will be trained with; `temporal_stem` as in
    `random_architecture`."""
    lo, hi = flops_range
    if n < 1 or not 0 < lo < hi:
        raise ValueError(f"need n >= 1 and 0 < lo < hi, got n={n}, range={flops_range}")
    edges = np.linspace(math.log(lo), math.log(hi), n + 1)
    rng = np.random.default_rng(seed)
    bins: list[ArchSpec | None] = [None] * n
    for _ in range(max_tries):
        spec = random_architecture(rng, frames, size, max_depth=max_depth, width_range=width_range,
                                   num_classes=num_classes, temporal_stem=temporal_stem)
        f = flops(spec, convention)
        if lo <= f < hi:
            b = min(int(np.searchsorted(edges, math.log(f), side="right")) - 1, n - 1)
            if bins[b] is None:
                bins[b] = spec
                if all(s is not None for s in bins):
                    break
    missing = sum(s is None for s in bins)
    if missing:
        raise ValueError(f"only {n - missing} of {n} FLOPs bins filled after {max_tries} draws; "
                         "widen width_range/max_depth or narrow flops_range")
    return [replace(s, name=f"rand-{i:02d}") for i, s in enumerate(bins)]
