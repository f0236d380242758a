"""Training-free evolutionary search for E3D backbones (paper Sec. 3.4, App. E, Algorithm 1).

Algorithm 1 as implemented here (M iterations, population N, initial structure F0 = Table 8's net):

    P = {F0}                                  # F0 must be within budget, else SearchError
    for m = 1 .. M:
        F = uniform draw from P
        F' = F with two distinct blocks mutated, one after the other (stem, any stage, conv5)
        if F' is not in P and within every budget (FLOPs, params, layers):
            insert F' with its score; if |P| > N: drop the lowest score
    return the highest-scoring member of P

Search space (App. E.2; a "block" is the stem, a stage, or conv5):

* stage: kernel Kt x K x K from `kernels` (default {1x3x3, 1x5x5, 3x3x3}, replaced by a different one);
  output width scaled by one of {2.0, 1.5, 1.25, 0.8, 0.6, 0.5}; bottleneck = ratio x output width with the
  ratio changed to another of {1.5, ..., 4.0}; depth +-1 or +-2 (never below 1). One of the four, uniformly.
* stem and conv5 (App. F: "conv 1 and conv 7 also participate"): output width only.
* every channel count is a multiple of 8 in [8, 640] (round half to even, as the official code's `round`).
* strides never mutate; the stem's kernel and conv5's 1x1x1 never mutate.

Where the paper is silent we follow the official TinyNAS code: bottleneck = ratio x *output* width (the paper
writes "x input"), a width mutation keeps the ratio, and widths never decrease through the network (a new
width is clamped between the previous block's and the next block's; `monotone_widths=False` lifts this).
We depart from the code where the paper says otherwise or the code looks accidental:

* the two mutated blocks are distinct (the code may pick one block twice);
* conv5's width mutates (App. F; the code never mutates it) and the stem is not capped at 32 channels;
* the bottleneck is capped at 640 like every other channel count (the code leaves it unbounded);
* kernel, bottleneck and depth mutations change something whenever they can (the code redraws a few times);
* no per-stage depth caps by default: Algorithm 1's "maximal depth L" is `budget_layers` (the code's caps
  (3, 6, 6, 6, 6) for 83 layers are available as `max_depth`);
* a child already in the population is not inserted again (the code inserts it and de-duplicates at the next
  ranking, which leaves the same population).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..archfile import load_arch
from ..cost import CONVENTIONS
from ..scores import SCORES, VARIANTS
from ..spec import ArchSpec, SpecError, StageSpec

Block = tuple[int, ...]  # stem/conv5: (out,); stage: (out, bottleneck, kt, k, depth)
Cand = tuple[Block, ...]  # (stem, stage 1, ..., stage n, conv5)

STAGE_MUTATIONS = ("width", "kernel", "bottleneck", "depth")
CHANNEL_STEP = 8


class SearchError(SpecError):
    """A search cannot start or resume (bad setting, impossible budget, a directory holding another run)."""


@dataclass(frozen=True)
class SearchConfig:
    """Everything that defines a search's result. Budgets of None are not checked; give at least one.

    `score` is "st_entr" (with `variant` "paper" = Eq. 8, or "tinynas" = the official code), "homo_entr"
    (Eq. 6), or any callable ArchSpec -> float (slower: it builds an ArchSpec per candidate).
    `kernels` are (kt, k) pairs for Kt x K x K depthwise kernels (paper Table 12 widens this set).
    `max_depth` optionally caps each stage's depth (the official code: (3, 6, 6, 6, 6), so that 83 layers fit);
    Algorithm 1's "maximal depth L" is `budget_layers`. Without a layers budget STEntr favours very deep nets.
    `temporal_stem` > 0 gives every candidate X3D's depthwise `temporal_stem` x 1 x 1 stem conv (fixed, like the
    stem's kernel; 0 = the initial structure's stem as it is, for e3d-initial the paper's purely spatial one):
    notebook 07 found the E3D nets need it to leave the plateau at CPU scale.
    """

    frames: int = 13
    size: int = 160
    budget_flops: float | None = None
    flops_convention: str = "tinynas"
    budget_params: float | None = None
    budget_layers: int | None = None
    score: str | Callable[[ArchSpec], float] = "st_entr"
    variant: str = "paper"
    iterations: int = 500_000
    population: int = 512
    seed: int = 0
    initial: str = "e3d-initial"
    kernels: tuple[tuple[int, int], ...] = ((1, 3), (1, 5), (3, 3))
    width_ratios: tuple[float, ...] = (2.0, 1.5, 1.25, 0.8, 0.6, 0.5)
    bottleneck_ratios: tuple[float, ...] = (1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
    depth_steps: tuple[int, ...] = (-2, -1, 1, 2)
    max_depth: tuple[int, ...] | None = None
    min_channels: int = 8
    max_channels: int = 640
    mutations_per_step: int = 2
    monotone_widths: bool = True
    trace_every: int = 1000
    temporal_stem: int = 0

    def __post_init__(self) -> None:
        def bad(msg: str) -> SearchError:
            return SearchError(msg)

        if self.budget_flops is None and self.budget_params is None and self.budget_layers is None:
            raise bad("give at least one budget (FLOPs, params or layers); without one the search never stops growing")
        for name in ("budget_flops", "budget_params", "budget_layers"):
            v = getattr(self, name)
            if v is not None and not (v > 0 and math.isfinite(v)):
                raise bad(f"--{name.replace('_', '-')} {v!r}: must be a positive finite number")
        if self.flops_convention not in CONVENTIONS:
            raise bad(f"unknown FLOPs convention {self.flops_convention!r}; choose one of {CONVENTIONS}")
        if not callable(self.score) and self.score not in SCORES:
            raise bad(f"unknown score {self.score!r}; choose one of {SCORES} or pass a callable")
        if self.variant not in VARIANTS:
            raise bad(f"unknown STEntr variant {self.variant!r}; choose one of {VARIANTS}")
        for name in ("frames", "size", "population", "mutations_per_step", "trace_every", "min_channels"):
            if getattr(self, name) < 1:
                raise bad(f"--{name.replace('_', '-')} {getattr(self, name)}: must be >= 1")
        if isinstance(self.temporal_stem, bool) or not isinstance(self.temporal_stem, int) or \
                self.temporal_stem < 0 or (self.temporal_stem and self.temporal_stem % 2 == 0):
            raise bad(f"--temporal-stem {self.temporal_stem!r}: an odd temporal kernel, or 0 for none")
        if self.iterations < 1:
            raise bad(f"--iterations {self.iterations}: must be >= 1 (0 would search nothing)")
        if self.min_channels % CHANNEL_STEP or self.max_channels % CHANNEL_STEP or \
                self.max_channels < self.min_channels:
            raise bad(f"channel range must be multiples of {CHANNEL_STEP} with min <= max")
        if len(self.kernels) < 2 or any(kt < 1 or k < 1 or kt % 2 == 0 or k % 2 == 0 for kt, k in self.kernels):
            raise bad(f"kernels must be at least two (kt, k) pairs of odd sizes, got {self.kernels}")
        if len(self.bottleneck_ratios) < 2 or not self.width_ratios or not any(d > 0 for d in self.depth_steps):
            raise bad("need >= 2 bottleneck ratios, >= 1 width ratio and a positive depth step")


# --- candidates --------------------------------------------------------------------------------------------


def initial_spec(cfg: SearchConfig) -> ArchSpec:
    """The starting structure F0 (paper Table 8 by default; any preset name or architecture file) at the
    search's input size."""
    try:
        spec = load_arch(cfg.initial, frames=cfg.frames, size=cfg.size)
    except (SpecError, FileNotFoundError) as e:
        raise SearchError(str(e)) from None
    if cfg.temporal_stem:
        spec = replace(spec, stem=replace(spec.stem, temporal_kernel=cfg.temporal_stem))
    if cfg.max_depth is not None and (len(cfg.max_depth) != len(spec.stages)
                                      or any(s.depth > m for s, m in zip(spec.stages, cfg.max_depth, strict=False))):
        raise SearchError(f"max_depth {cfg.max_depth} must give one cap per stage of {cfg.initial}, each at least "
                          f"its initial depth {tuple(s.depth for s in spec.stages)}")
    widths = [b[0] for b in from_spec(spec)]
    if cfg.monotone_widths and widths != sorted(widths):
        raise SearchError(f"initial structure {cfg.initial} has decreasing widths {widths}")
    return spec


def from_spec(spec: ArchSpec) -> Cand:
    """`spec` as a candidate: (stem width,), (out, bottleneck, kt, k, depth) per stage, (conv5 width,)."""
    stages = tuple((s.out_channels, s.bottleneck, s.kt, s.k, s.depth) for s in spec.stages)
    return ((spec.stem.out_channels,), *stages, (spec.head.conv_channels,))


def to_spec(cand: Cand, template: ArchSpec, name: str = "e3d-searched") -> ArchSpec:
    """The candidate as an ArchSpec; strides, stem kernel, head FC, SE and activation come from `template`."""
    stages = tuple(StageSpec(out_channels=o, bottleneck=b, kt=kt, k=k, stride=st.stride, depth=d)
                   for (o, b, kt, k, d), st in zip(cand[1:-1], template.stages, strict=True))
    return replace(template, name=name, stem=replace(template.stem, out_channels=cand[0][0]), stages=stages,
                   head=replace(template.head, conv_channels=cand[-1][0]))


def channels(x: float, cfg: SearchConfig) -> int:
    """Nearest multiple of 8 (Python's round: half to even, as the official code) within [min, max]."""
    return min(cfg.max_channels, max(cfg.min_channels, round(x / CHANNEL_STEP) * CHANNEL_STEP))


def snap_ratio(ratio: float, choices: tuple[float, ...]) -> float:
    """The listed bottleneck ratio nearest to `ratio` (ties: the earlier one), as the official code does."""
    return min(choices, key=lambda r: abs(r - ratio))


def mutate(cand: Cand, cfg: SearchConfig, rng: random.Random) -> Cand:
    """Algorithm 1, lines 4-11: mutate `mutations_per_step` distinct blocks, one after the other."""
    blocks = list(cand)
    for j in rng.sample(range(len(blocks)), cfg.mutations_per_step):
        blocks[j] = mutate_block(blocks, j, cfg, rng)
    return tuple(blocks)


def mutate_block(blocks: list[Block], j: int, cfg: SearchConfig, rng: random.Random) -> Block:
    """A new value for block j: the width of the stem/conv5, or one of four changes of a stage."""
    if j == 0 or j == len(blocks) - 1:
        return (new_width(blocks, j, cfg, rng),)
    out, btn, kt, k, depth = blocks[j]
    what = rng.choice(STAGE_MUTATIONS)
    if what == "width":
        new = new_width(blocks, j, cfg, rng)
        return new, channels(new * snap_ratio(btn / out, cfg.bottleneck_ratios), cfg), kt, k, depth
    if what == "kernel":
        kt, k = rng.choice([kk for kk in cfg.kernels if kk != (kt, k)])
        return out, btn, kt, k, depth
    if what == "bottleneck":
        ratio = snap_ratio(btn / out, cfg.bottleneck_ratios)
        return out, channels(out * rng.choice([r for r in cfg.bottleneck_ratios if r != ratio]), cfg), kt, k, depth
    cap = cfg.max_depth[j - 1] if cfg.max_depth is not None else math.inf
    steps = [d for d in cfg.depth_steps if 1 <= depth + d <= cap]
    return (out, btn, kt, k, depth + rng.choice(steps)) if steps else blocks[j]


def new_width(blocks: list[Block], j: int, cfg: SearchConfig, rng: random.Random) -> int:
    """Output width x a ratio, rounded to 8, kept between the previous and the next block's widths."""
    lo, hi = cfg.min_channels, cfg.max_channels
    if cfg.monotone_widths:
        lo = blocks[j - 1][0] if j > 0 else lo
        hi = blocks[j + 1][0] if j < len(blocks) - 1 else hi
    return min(hi, max(lo, channels(blocks[j][0] * rng.choice(cfg.width_ratios), cfg)))


