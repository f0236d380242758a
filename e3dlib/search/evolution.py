"""Algorithm 1's loop: the population, the search, its result.

Determinism: every random draw comes from one `random.Random(seed)`. A checkpoint (population, RNG state,
iteration, trace) is written atomically every `checkpoint_every` iterations, so a run killed at any point and
resumed gives exactly the result and trace of an uninterrupted run.

"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..cost import macs, params, tinynas_flops
from ..spec import ArchSpec, num_layers
from .evaluator import Evaluator
from .population import Population
from .space import Cand, SearchConfig, SearchError, from_spec, initial_spec, mutate, to_spec
from .store import load_checkpoint, save_checkpoint, write_outputs

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
        """The best network's score, FLOPs (both conventions), params and layers, with iterations and seconds."""
        return {"best_score": self.best_score, "flops_macs": macs(self.best),
                "flops_tinynas": tinynas_flops(self.best), "params": params(self.best),
                "layers": num_layers(self.best), "iterations": self.iterations, "seconds": self.seconds}


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
    state = load_checkpoint(cfg, out, resume) if out is not None else None
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
            save_checkpoint(out, cfg, rng, pop, best, m, time.perf_counter() - t0, trace)
        if m == stop_after:
            break
    bar.close()
    seconds = time.perf_counter() - t0
    result = SearchResult(cfg, to_spec(best[0], template), best[1], m, seconds, trace, pop.members, resumed_from)
    if out is not None and m == cfg.iterations:
        save_checkpoint(out, cfg, rng, pop, best, m, seconds, trace)
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


