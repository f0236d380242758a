"""Cost and score of search candidates from cached calls to the library's block-level formulas.

Speed: a candidate is a tuple of per-block int tuples, and the cost and score terms of a block are cached under
(position, input width, block). Totals add the cached terms in the library's order, so FLOPs, params and
scores equal `e3dlib.cost` / `e3dlib.scores` bit for bit (tests/test_search.py checks it); `ArchSpec`s are
built only for the result (or for a callable score).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..cost import head_cost, stage_cost, stem_cost
from ..layers import stage_geometry
from ..scores import head_terms, refinement, stage_terms, stem_terms
from ..spec import ArchSpec
from .space import Block, Cand, SearchConfig, to_spec


class Part(NamedTuple):
    """One block's contribution: the fields of its `cost.Cost` (flat, for the hot loop) and the score's additions
    in order."""

    tinynas: float
    macs: int
    params: int
    layers: int
    score: tuple[float, ...]


class Evaluator:
    """FLOPs, params, layers and score of candidates, equal to `e3dlib.cost` / `e3dlib.scores` bit for bit.

    A block's terms depend only on its fields, its input width and its position (strides are fixed, so the
    position fixes the feature-map sizes, `layers.stage_geometry`): they are cached under (position, input width,
    block), and computed on a miss by the library's block-level homes (`cost.stage_cost`, `scores.stage_terms`,
    ...). Totals add the terms in the order the library's network-level functions do, which gives identical
    floats, not merely close ones.
    """

    def __init__(self, cfg: SearchConfig, template: ArchSpec):
        self.cfg, self.t = cfg, template
        self.score_name = "callable" if callable(cfg.score) else cfg.score
        self.geo = stage_geometry(template)  # [stem, stages..., head]
        self.cache: dict[tuple[int, int, Block], Part] = {}
        if self.score_name == "st_entr" and cfg.variant == "paper":  # fail now, not mid-search, if D is infinite
            for g, st in zip(self.geo[1:-1], template.stages, strict=True):
                for kt, k in {*cfg.kernels, (st.kt, st.k), (1, 1)}:
                    refinement((template.frames, g.h, g.h), (kt, k, k))
                    refinement((template.frames, g.ho, g.ho), (kt, k, k))

    def parts(self, cand: Cand) -> list[Part]:
        """Each block's `Part`, from the cache or computed once."""
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
        """Whether the costs fit every budget of the config."""
        c = self.cfg
        return ((c.budget_flops is None or flops <= c.budget_flops)
                and (c.budget_params is None or n_params <= c.budget_params)
                and (c.budget_layers is None or layers <= c.budget_layers))

    def score(self, cand: Cand, parts: list[Part]) -> float:
        """The candidate's score: its blocks' terms added in order (as `scores.total`), or the callable's value."""
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

    def _part(self, j: int, c: int, block: Block, last: int) -> Part:
        t, g, name, variant = self.t, self.geo[j], self.score_name, self.cfg.variant
        scored = name != "callable"
        if j == 0:
            cost, terms = stem_cost(t, g, block[0]), stem_terms(t, g, name, variant) if scored else ()
        elif j == last:
            cost, terms = head_cost(t, g, c, block[0]), head_terms(t, g, c, block[0], name, variant) if scored else ()
        else:
            cost, terms = stage_cost(t, g, c, *block), stage_terms(t, g, c, *block, name, variant) if scored else ()
        return Part(*cost, terms)
