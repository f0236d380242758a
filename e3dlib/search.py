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

Speed: a candidate is a tuple of per-block int tuples, and the cost and score terms of a block are cached under
(position, input width, block). Totals add the cached terms in the library's order, so FLOPs, params and
scores equal `e3dlib.cost` / `e3dlib.scores` bit for bit (tests/test_search.py checks it); `ArchSpec`s are
built only for the result (or for a callable score).

Determinism: every random draw comes from one `random.Random(seed)`. A checkpoint (population, RNG state,
iteration, trace) is written atomically every `checkpoint_every` iterations, so a run killed at any point and
resumed gives exactly the result and trace of an uninterrupted run.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from tqdm import tqdm

from .archfile import format_structure, load_arch
from .cost import CONVENTIONS, macs, params, tinynas_flops
from .scores import VARIANTS, refinement, tinynas_alpha
from .spec import ArchSpec, SpecError, StageSpec, conv_out, has_se, num_layers, se_channels

Block = tuple[int, ...]  # stem/conv5: (out,); stage: (out, bottleneck, kt, k, depth)
Cand = tuple[Block, ...]  # (stem, stage 1, ..., stage n, conv5)

SCORES = ("st_entr", "homo_entr")
PROXY_NAMES = ("zen", "naswot", "synflow", "gradnorm", "forward_entropy")  # e3dlib.proxies (imported lazily)
STAGE_MUTATIONS = ("width", "kernel", "bottleneck", "depth")
CHANNEL_STEP = 8
CHECKPOINT = "checkpoint.json"
OUTPUTS = ("best.json", "best.txt", "trace.csv", "run.json")
_ONE = (1, 1, 1)


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
    if spec.stem.temporal_kernel:
        raise SearchError(f"initial structure {cfg.initial} has an X3D temporal stem, outside the space")
    if cfg.max_depth is not None and (len(cfg.max_depth) != len(spec.stages)
                                      or any(s.depth > m for s, m in zip(spec.stages, cfg.max_depth, strict=False))):
        raise SearchError(f"max_depth {cfg.max_depth} must give one cap per stage of {cfg.initial}, each at least "
                          f"its initial depth {tuple(s.depth for s in spec.stages)}")
    widths = [b[0] for b in from_spec(spec)]
    if cfg.monotone_widths and widths != sorted(widths):
        raise SearchError(f"initial structure {cfg.initial} has decreasing widths {widths}")
    return spec


def from_spec(spec: ArchSpec) -> Cand:
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


# --- cost and score from cached per-block terms -----------------------------------------------------------


class Part(NamedTuple):
    """One block's contribution: TinyNAS FLOPs, MACs, params, layers, and the score's additions in order."""

    tinynas: float
    macs: int
    params: int
    layers: int
    score: tuple[float, ...]


class _Geometry(NamedTuple):
    stride: int
    res: float  # input size as cost.tinynas_flops tracks it (size / 2^k, a float)
    h: int  # input size of the built model (conv_out)
    ho: int
    res_score: int  # int(size / 2^k) after this block's stride: scores' tinynas variant


class Evaluator:
    """FLOPs, params, layers and score of candidates, equal to `e3dlib.cost` / `e3dlib.scores` bit for bit.

    A block's terms depend only on its fields, its input width and its position (strides are fixed, so the
    position fixes the feature-map size): they are cached under (position, input width, block). Totals add
    the terms in the library's order, which gives identical floats, not merely close ones.
    """

    def __init__(self, cfg: SearchConfig, template: ArchSpec):
        self.cfg, self.t = cfg, template
        self.score_name = "callable" if callable(cfg.score) else cfg.score
        s = template.stem
        res, h, res_s = float(template.size), template.size, int(template.size / s.stride)
        self.stem_geo = _Geometry(s.stride, res, h, conv_out(h, s.k, s.stride), res_s)
        res, h = res / s.stride, self.stem_geo.ho
        self.geo = []
        for st in template.stages:  # odd kernels: conv_out depends on the stride only
            res_s = int(res_s / st.stride)
            self.geo.append(_Geometry(st.stride, res, h, conv_out(h, st.k, st.stride), res_s))
            res, h = res / st.stride, conv_out(h, st.k, st.stride)
        self.head_geo = _Geometry(1, res, h, h, res_s)
        self.cache: dict[tuple[int, int, Block], Part] = {}
        if self.score_name == "st_entr" and cfg.variant == "paper":  # fail now, not mid-search, if D is infinite
            for g, st in zip(self.geo, template.stages, strict=True):
                for kt, k in {*cfg.kernels, (st.kt, st.k), (1, 1)}:
                    refinement((template.frames, g.h, g.h), (kt, k, k))
                    refinement((template.frames, g.ho, g.ho), (kt, k, k))

    def parts(self, cand: Cand) -> list[Part]:
        out, c = [], self.t.in_channels
        for j, block in enumerate(cand):
            key = (j, c, block)
            p = self.cache.get(key)
            if p is None:
                p = self.cache[key] = self._part(j, c, block, len(cand) - 1)
            out.append(p)
            c = block[0]
        return out

    def costs(self, parts: list[Part]) -> tuple[float, int, int]:
        """(FLOPs in the configured convention, params, layers)."""
        if self.cfg.flops_convention == "macs":
            flops = float(sum(p.macs for p in parts))
        else:
            flops = 0.0
            for p in parts:
                flops += p.tinynas
        return flops, sum(p.params for p in parts), sum(p.layers for p in parts)

    def within(self, flops: float, n_params: int, layers: int) -> bool:
        c = self.cfg
        return ((c.budget_flops is None or flops <= c.budget_flops)
                and (c.budget_params is None or n_params <= c.budget_params)
                and (c.budget_layers is None or layers <= c.budget_layers))

    def score(self, cand: Cand, parts: list[Part]) -> float:
        if callable(self.cfg.score):
            value = float(self.cfg.score(to_spec(cand, self.t)))
            if not math.isfinite(value):
                raise ValueError(f"score function returned {value} for {to_spec(cand, self.t)}")
            return value
        total = 0.0
        for p in parts:
            for a in p.score:
                total += a
        return total

    # Each formula below mirrors e3dlib.cost / e3dlib.scores term by term, in the same evaluation order.
    def _part(self, j: int, c: int, block: Block, last: int) -> Part:
        if j == 0:
            return self._stem(block[0])
        if j == last:
            return self._head(c, block[0])
        return self._stage(self.geo[j - 1], c, *block)

    def _stem_score(self) -> tuple[float, ...]:
        t, s, g = self.t, self.t.stem, self.stem_geo
        fan = t.in_channels * s.kt * s.k * s.k
        if self.score_name == "callable":
            return ()
        if self.score_name == "homo_entr":
            return (math.log(fan),)
        if self.cfg.variant == "tinynas":
            return (0.5 * math.log(fan * tinynas_alpha(g.res_score, t.frames, s.kt, s.k)),)
        return (math.log(fan * refinement((t.frames, g.h, g.h), (s.kt, s.k, s.k))),)

    def _stem(self, c: int) -> Part:
        t, s, g = self.t, self.t.stem, self.stem_geo
        T, kk = t.frames, s.kt * s.k * s.k
        tinynas = (t.in_channels * c * s.kt * s.k ** 2 + 3 * c) / s.stride ** 2 * g.res ** 2 * T
        return Part(tinynas, c * T * g.ho * g.ho * t.in_channels * kk, c * t.in_channels * kk + 2 * c, 1,
                    self._stem_score())

    def _stage(self, g: _Geometry, c: int, o: int, b: int, kt: int, k: int, d: int) -> Part:
        t, T, s2, kk = self.t, self.t.frames, g.stride ** 2, kt * k * k
        first = (c * b + 2 * b) + (b * kk + 2 * b) / s2 + (b * o + 2 * o) / s2 + b + b / s2 + o / s2
        if c == o and g.stride == 2:
            first += c
        rest = (o * b + 2 * b) + (b * kk + 2 * b) + (b * o + 2 * o) + 2 * b + o
        tinynas = (first + (d - 1) * rest / s2) * g.res ** 2 * T
        n_se = sum(1 for i in range(d) if has_se(t, i))
        r = se_channels(b, t.se_ratio) if n_se else 0
        shortcut = c != o or g.stride != 1
        hw, hwo = g.h * g.h, g.ho * g.ho
        n_macs = T * (c * b * hw + (b * kk + b * o + (c * o if shortcut else 0)) * hwo
                      + (d - 1) * (o * b + b * kk + b * o) * hwo) + n_se * 2 * b * r
        n_params = ((c * b + 2 * b) + (b * kk + 2 * b) + (b * o + 2 * o) + ((c * o + 2 * o) if shortcut else 0)
                    + (d - 1) * ((o * b + 2 * b) + (b * kk + 2 * b) + (b * o + 2 * o)) + n_se * (2 * b * r + r + b))
        if self.score_name == "callable":
            score: tuple[float, ...] = ()
        elif self.score_name == "homo_entr":
            score = (math.log(c * kk * b) + (d - 1) * math.log(o * kk * b),)
        elif self.cfg.variant == "tinynas":
            dw = kt * k * k * tinynas_alpha(g.res_score, T, kt, k) * b
            score = (0.5 * (math.log(c * dw) + (d - 1) * math.log(o * dw)),)
        else:
            K = (kt, k, k)
            one_out = refinement((T, g.ho, g.ho), _ONE)
            score = (math.log(c * refinement((T, g.h, g.h), _ONE) * kk * refinement((T, g.h, g.h), K) * b * one_out),)
            if d > 1:
                score += ((d - 1) * math.log(o * one_out * kk * refinement((T, g.ho, g.ho), K) * b * one_out),)
        return Part(tinynas, n_macs, n_params, 3 * d, score)

    def _head(self, c: int, h: int) -> Part:
        t, g, fc = self.t, self.head_geo, self.t.head.fc_channels
        tinynas = (c * h + 3 * h) * g.res ** 2 * t.frames
        n_macs = h * t.frames * g.h * g.h * c + fc * h + t.num_classes * fc
        n_params = h * c + 2 * h + fc * h + t.num_classes * fc + t.num_classes
        if self.score_name == "callable":
            score: tuple[float, ...] = ()
        elif self.score_name == "homo_entr":
            score = (math.log(c),)
        elif self.cfg.variant == "tinynas":
            score = (0.5 * math.log(c), math.log(h))
        else:
            score = (math.log(c * refinement((t.frames, g.h, g.h), _ONE)),)
        return Part(tinynas, n_macs, n_params, 1, score)


# --- population ---------------------------------------------------------------------------------------------


class Population:
    """Members in a list (uniform parent draws) and a min-heap on (score, -birth) to drop the worst.

    Ties in score drop the newest member. Keys are unique (births are iteration numbers), so the heap's pops
    do not depend on its internal layout: rebuilding it from the members on resume changes nothing.
    """

    def __init__(self, capacity: int, members: list[tuple[Cand, float, int]]):
        self.capacity = capacity
        self.members = list(members)
        self.pos = {m[0]: i for i, m in enumerate(self.members)}
        self.heap = [(s, -b, c) for c, s, b in self.members]
        heapq.heapify(self.heap)

    def __contains__(self, cand: Cand) -> bool:
        return cand in self.pos

    def __len__(self) -> int:
        return len(self.members)

    def pick(self, rng: random.Random) -> Cand:
        return self.members[rng.randrange(len(self.members))][0]

    def add(self, cand: Cand, score: float, birth: int) -> None:
        """Insert; if over capacity, drop the lowest (score, -birth), which may be `cand` itself."""
        if len(self.members) < self.capacity:
            heapq.heappush(self.heap, (score, -birth, cand))
        else:
            worst = heapq.heappushpop(self.heap, (score, -birth, cand))[2]
            if worst == cand:
                return
            i = self.pos.pop(worst)
            last = self.members.pop()
            if i < len(self.members):
                self.members[i] = last
                self.pos[last[0]] = i
        self.pos[cand] = len(self.members)
        self.members.append((cand, score, birth))

    def median(self) -> float:
        return statistics.median(m[1] for m in self.members)


# --- the search ----------------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    """The best network and how the search got there. `trace` rows: (iteration, best, median, population)."""

    config: SearchConfig
    best: ArchSpec
    best_score: float
    iterations: int
    seconds: float
    trace: list[tuple[int, float, float, int]]
    population: list[tuple[Cand, float, int]] = field(repr=False)
    resumed_from: int | None = None

    def summary(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "flops_macs": macs(self.best),
                "flops_tinynas": tinynas_flops(self.best), "params": params(self.best),
                "layers": num_layers(self.best), "iterations": self.iterations, "seconds": self.seconds}


def config_dict(cfg: SearchConfig) -> dict[str, Any]:
    """The config as JSON data (a callable score by its qualified name), with a hash of the initial structure's
    content (`initial_sha256`), so that a resumed run whose --initial file was edited is refused."""
    d = asdict(replace(cfg, score="st_entr")) | {"score": _score_label(cfg.score)}
    spec = json.dumps(initial_spec(cfg).to_dict(), sort_keys=True)
    d["initial_sha256"] = hashlib.sha256(spec.encode()).hexdigest()[:16]
    return json.loads(json.dumps(d))


def _score_label(score: str | Callable) -> str:
    if isinstance(score, str):
        return score
    return f"{score.__module__}.{getattr(score, '__qualname__', repr(score))}"


def search(cfg: SearchConfig, out_dir: str | Path | None = None, *, resume: bool = False,
           checkpoint_every: int = 20_000, progress: bool = False, stop_after: int | None = None) -> SearchResult:
    """Run Algorithm 1 (paper App. E) and return the best network; with `out_dir`, checkpoint and write outputs.

    `resume=True` continues the checkpoint in `out_dir` (or starts afresh if there is none); without it, a
    directory that already holds a run is refused. `stop_after=K` checkpoints and returns after iteration K,
    as a kill would (tests use it). The result does not depend on `checkpoint_every`, `progress`, or on how
    many times the run was interrupted and resumed.
    """
    if checkpoint_every < 1:
        raise SearchError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    template = initial_spec(cfg)
    ev = Evaluator(cfg, template)
    cand0 = from_spec(template)
    parts0 = ev.parts(cand0)
    cost0 = ev.costs(parts0)
    if not ev.within(*cost0):
        raise SearchError(f"impossible budget: the initial structure {cfg.initial} at {cfg.frames}x"
                          f"{cfg.size}^2 already needs {_describe(cfg, *cost0)}")
    out = Path(out_dir) if out_dir is not None else None
    state = _load(cfg, out, resume) if out is not None else None
    if state is None:
        rng = random.Random(cfg.seed)
        score0 = ev.score(cand0, parts0)
        pop = Population(cfg.population, [(cand0, score0, 0)])
        best, start, seconds, resumed_from = (cand0, score0), 0, 0.0, None
        trace = [(0, score0, score0, 1)]
    else:
        rng, pop, best, start, seconds, trace = state
        resumed_from = start

    bar = tqdm(total=cfg.iterations, initial=start, disable=not progress, desc="search", unit="it",
               mininterval=0.5, dynamic_ncols=True)
    t0 = time.perf_counter() - seconds
    m = start
    for m in range(start + 1, cfg.iterations + 1):
        child = mutate(pop.pick(rng), cfg, rng)
        if child not in pop:
            parts = ev.parts(child)
            if ev.within(*ev.costs(parts)):
                score = ev.score(child, parts)
                pop.add(child, score, m)
                if score > best[1]:
                    best = (child, score)
        if m % cfg.trace_every == 0 or m == cfg.iterations:
            trace.append((m, best[1], pop.median(), len(pop)))
            bar.update(m - bar.n)
            bar.set_postfix_str(f"best {best[1]:.3f}  {_describe(cfg, *ev.costs(ev.parts(best[0])))}", refresh=False)
        if out is not None and (m % checkpoint_every == 0 or m == stop_after):
            _save(out, cfg, rng, pop, best, m, time.perf_counter() - t0, trace)
        if m == stop_after:
            break
    bar.close()
    seconds = time.perf_counter() - t0
    result = SearchResult(cfg, to_spec(best[0], template), best[1], m, seconds, trace, pop.members, resumed_from)
    if out is not None and m == cfg.iterations:
        _save(out, cfg, rng, pop, best, m, seconds, trace)
        write_outputs(result, out, checkpoint_every)
    return result


def _describe(cfg: SearchConfig, flops: float, n_params: int, layers: int) -> str:
    """Budget use, e.g. 'FLOPs 1.93G/2.00G, layers 83/83'."""
    items = []
    if cfg.budget_flops is not None:
        items.append(f"FLOPs ({cfg.flops_convention}) {flops / 1e9:.3f}G/{cfg.budget_flops / 1e9:.3f}G")
    if cfg.budget_params is not None:
        items.append(f"params {n_params / 1e6:.3f}M/{cfg.budget_params / 1e6:.3f}M")
    if cfg.budget_layers is not None:
        items.append(f"layers {layers}/{cfg.budget_layers}")
    return ", ".join(items)


# --- checkpoints and outputs ----------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file and rename it over `path`: a kill leaves the old or the new file, never half."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _save(out: Path, cfg: SearchConfig, rng: random.Random, pop: Population, best: tuple[Cand, float],
          iteration: int, seconds: float, trace: list) -> None:
    out.mkdir(parents=True, exist_ok=True)
    version, state, gauss = rng.getstate()
    data = {"format": "e3dlib-search-checkpoint/1", "config": config_dict(cfg), "iteration": iteration,
            "seconds": seconds, "rng": [version, list(state), gauss],
            "members": [[c, s, b] for c, s, b in pop.members], "best": list(best), "trace": trace}
    _write_atomic(out / CHECKPOINT, json.dumps(data, separators=(",", ":")))


def _command(run: Path) -> str | None:
    """The `command` a run.json was written by (training run.json files before it was recorded: "train")."""
    if not run.is_file():
        return None
    try:
        d = json.loads(run.read_text())
    except json.JSONDecodeError:
        return "unknown"
    return d.get("command", "train") if isinstance(d, dict) else "unknown"


def _cand(data: list) -> Cand:
    return tuple(tuple(b) for b in data)


def _load(cfg: SearchConfig, out: Path, resume: bool) -> tuple | None:
    """The saved state of the run in `out`, None when there is none; refuses a directory holding another run."""
    ckpt = out / CHECKPOINT
    if out.exists() and not out.is_dir():
        raise SearchError(f"--out {out} is a file, not a run folder; choose another --out")
    if (out / "last.pt").exists() or _command(out / "run.json") not in (None, "search"):
        raise SearchError(f"{out} holds a training run, not a search; choose another --out")
    held = ckpt.exists() or (out / "run.json").exists()
    if held and not resume:
        raise SearchError(f"{out} already holds a search run; pass --resume to continue it, or choose "
                          "another --out")
    if not held:
        return None
    if not ckpt.exists():
        raise SearchError(f"{out} holds run.json but no {CHECKPOINT}; choose another --out")
    try:
        data = json.loads(ckpt.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise SearchError(f"{ckpt} is not a checkpoint: {getattr(e, 'msg', type(e).__name__)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise SearchError(f"{ckpt} is not a search checkpoint (no config object); choose another --out")
    now = config_dict(cfg)
    saved = {"initial_sha256": now["initial_sha256"], **data["config"]}  # checkpoints written before the hash
    diff = sorted(k for k in now.keys() | saved.keys() if saved.get(k) != now.get(k))
    if diff:
        what = ", ".join(f"{k} {saved.get(k)!r} there vs {now.get(k)!r} now" for k in diff)
        raise SearchError(f"{out} holds a different run ({what}); choose another --out")
    try:
        version, state, gauss = data["rng"]
        rng = random.Random()
        rng.setstate((version, tuple(state), gauss))
        members = [(_cand(c), s, b) for c, s, b in data["members"]]
        if not members:
            raise ValueError("empty population")
        pop = Population(cfg.population, members)
        best = (_cand(data["best"][0]), data["best"][1])
        trace = [tuple(r) for r in data["trace"]]
        iteration, seconds = int(data["iteration"]), float(data["seconds"])
    except (KeyError, TypeError, ValueError, IndexError) as e:
        what = f"missing {e.args[0]!r}" if isinstance(e, KeyError) else (str(e).splitlines() or [type(e).__name__])[0]
        raise SearchError(f"{ckpt} is a damaged search checkpoint ({what[:120]}); delete it or choose another "
                          "--out") from None
    return rng, pop, best, iteration, seconds, trace


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("e3dlib", "tqdm"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_outputs(result: SearchResult, out: str | Path, checkpoint_every: int | None = None) -> None:
    """best.json (ArchSpec), best.txt (TinyNAS structure), trace.csv and run.json into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(out / "best.json", result.best.to_json() + "\n")
    _write_atomic(out / "best.txt", format_structure(result.best))
    rows = ["iteration,best_score,median_score,population"]
    rows += [f"{m},{b!r},{med!r},{n}" for m, b, med, n in result.trace]
    _write_atomic(out / "trace.csv", "\n".join(rows) + "\n")
    run = {"command": "search", "config": config_dict(result.config), "checkpoint_every": checkpoint_every,
           "seed": result.config.seed, "iterations": result.iterations, "seconds": result.seconds,
           "iterations_per_second": result.iterations / result.seconds if result.seconds else None,
           "resumed_from": result.resumed_from, "summary": result.summary(), "versions": _versions()}
    _write_atomic(out / "run.json", json.dumps(run, indent=2) + "\n")


# --- command line ---------------------------------------------------------------------------------------------


def _kernel(text: str) -> tuple[int, int]:
    try:
        kt, kh, kw = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"kernel must look like 1x3x3, got {text!r}") from None
    if kh != kw:
        raise argparse.ArgumentTypeError(f"kernel must be square in space (T x K x K), got {text!r}")
    return kt, kh


def add_search_parser(sub: Any) -> None:
    """Register `e3dlib search` on the CLI's subparsers (called by e3dlib.cli.build_parser)."""
    s = sub.add_parser("search", help="evolutionary search under FLOPs/params/layers budgets (paper App. E)",
                       description="Evolutionary search (paper Algorithm 1). Writes best.json, best.txt, "
                                   "trace.csv and run.json into --out; --resume continues a killed run exactly.")
    d = SearchConfig.__dataclass_fields__
    s.add_argument("--budget-flops", type=float, help="FLOPs budget, e.g. 1.9e9")
    s.add_argument("--flops-convention", choices=CONVENTIONS, default="tinynas",
                   help="how --budget-flops counts (default: tinynas, the paper's budgets)")
    s.add_argument("--budget-params", type=float, help="parameter budget (every parameter, BN and SE included)")
    s.add_argument("--budget-layers", type=int, help="layer budget (stem + 3 per block + conv5): Algorithm 1's "
                   "maximal depth L; without it STEntr favours very deep nets (official E3D-S/M: 83)")
    s.add_argument("--max-depth", type=int, nargs="+", metavar="D",
                   help="per-stage depth caps, e.g. 3 6 6 6 6 as the official code (default: none)")
    s.add_argument("--frames", type=int, default=d["frames"].default,
                   help=f"input frames the scores and FLOPs are computed at (default {d['frames'].default})")
    s.add_argument("--size", type=int, default=d["size"].default,
                   help=f"input crop size (default {d['size'].default})")
    s.add_argument("--iterations", type=int, default=d["iterations"].default,
                   help=f"mutations to try, M of Algorithm 1 (default {d['iterations'].default})")
    s.add_argument("--population", type=int, default=d["population"].default,
                   help=f"population size N (default {d['population'].default})")
    s.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    s.add_argument("--score", choices=SCORES + PROXY_NAMES, default="st_entr",
                   help="st_entr | homo_entr (analytic), or a training-free proxy (zen, naswot, synflow, gradnorm, "
                        "forward_entropy: seconds per candidate, so use few iterations; default st_entr)")
    s.add_argument("--proxy-input", type=int, nargs=2, default=(4, 32), metavar=("T", "S"),
                   help="frames and size at which a proxy score builds each candidate (default 4 32)")
    s.add_argument("--initial", default=d["initial"].default,
                   help="starting structure: a preset name, JSON spec or TinyNAS file (default e3d-initial)")
    s.add_argument("--variant", choices=VARIANTS, default="paper", help="STEntr variant (default: paper)")
    s.add_argument("--kernels", type=_kernel, nargs="+", metavar="TxKxK",
                   help="depthwise kernel choices (default: 1x3x3 1x5x5 3x3x3)")
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    s.add_argument("--checkpoint-every", type=int, default=20_000, metavar="N",
                   help="write the resumable checkpoint every N iterations (default 20000)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar (also off when not a TTY)")
    s.add_argument("--json", action="store_true", help="print one JSON summary object")
    s.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    extra = {"kernels": tuple(args.kernels)} if args.kernels else {}
    if args.max_depth:
        extra["max_depth"] = tuple(args.max_depth)
    score: str | Callable[[ArchSpec], float] = args.score
    if score in PROXY_NAMES:
        from .proxies import ProxyScore

        if not all(1 <= v <= 4096 for v in args.proxy_input):
            raise SearchError(f"--proxy-input {args.proxy_input[0]} {args.proxy_input[1]}: frames T and size S must "
                              "be in 1..4096")
        score = ProxyScore(args.score, *args.proxy_input)
    cfg = SearchConfig(frames=args.frames, size=args.size, budget_flops=args.budget_flops,
                       flops_convention=args.flops_convention, budget_params=args.budget_params,
                       budget_layers=args.budget_layers, score=score, variant=args.variant, initial=args.initial,
                       iterations=args.iterations, population=args.population, seed=args.seed, **extra)
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        res = search(cfg, args.out, resume=args.resume, checkpoint_every=args.checkpoint_every, progress=progress)
    except KeyboardInterrupt:
        print(f"e3dlib search: interrupted; rerun with --resume to continue from the last checkpoint in {args.out}",
              file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(res.summary()))
    else:
        s = res.summary()
        print(f"best score {s['best_score']:.4f} ({cfg.score}{'/' + cfg.variant if cfg.score == 'st_entr' else ''})"
              f"  {s['flops_tinynas'] / 1e9:.3f} G (tinynas)  {s['flops_macs'] / 1e9:.3f} GMACs"
              f"  {s['params'] / 1e6:.3f} M params  {s['layers']} layers")
        print(f"{res.iterations} iterations in {res.seconds:.1f} s; wrote {', '.join(OUTPUTS)} to {args.out}")
    return 0
