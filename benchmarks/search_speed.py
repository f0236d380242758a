"""Speed of the evolutionary search (target: the paper's full E3D-S search, 500,000 iterations with a population of
512 under 1.9 G TinyNAS FLOPs at 13x160^2, in <= 60 s on one core), and the score it reaches under the official
E3D-S budget (2.0 G, 83 layers, the official STEntr) against the published E3D-S.

Every number printed is measured by this run: the full 500k iterations, nothing extrapolated. The process is
pinned to one CPU core first. Usage: python benchmarks/search_speed.py [--iterations N]
"""

from __future__ import annotations

import argparse
import os
import time

from e3dlib import PRESETS, st_entr
from e3dlib.search import SearchConfig, from_spec, search

TARGET_S = 60.0


def timed(cfg: SearchConfig) -> tuple:
    wall, cpu = time.perf_counter(), time.process_time()
    res = search(cfg)
    return res, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=500_000)
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        print(f"pinned to CPU core {core}")
    n = args.iterations

    paper = SearchConfig(budget_flops=1.9e9, frames=13, size=160, iterations=n, population=512)
    res, wall, cpu = timed(paper)
    print(f"paper setting (E3D-S, 1.9 G TinyNAS FLOPs, 13x160, STEntr paper, population 512): {n} iterations "
          f"in {wall:.1f} s wall / {cpu:.1f} s CPU = {n / wall:,.0f} iterations/s; target {TARGET_S:.0f} s -> "
          f"{TARGET_S / wall:.1f}x under")
    print(f"  best STEntr (paper) {res.best_score:.3f}; {res.summary()['layers']} layers (no layers budget: "
          "STEntr rewards depth)")

    published = st_entr(PRESETS["e3d-s"], "tinynas")
    official = dict(budget_flops=2.0e9, budget_layers=83, variant="tinynas", iterations=n)
    for label, cfg in [("official E3D-S budget (2.0 G, 83 layers, STEntr tinynas)", SearchConfig(**official)),
                       ("  + the official per-stage depth caps (3, 6, 6, 6, 6)",
                        SearchConfig(**official, max_depth=(3, 6, 6, 6, 6)))]:
        res, wall, _ = timed(cfg)
        s = res.summary()
        print(f"{label}: best {res.best_score:.3f} vs published E3D-S {published:.3f} "
              f"({res.best_score - published:+.3f}) in {wall:.1f} s; {s['flops_tinynas'] / 1e9:.3f} G, "
              f"{s['layers']} layers")
        print(f"    {from_spec(res.best)}")


if __name__ == "__main__":
    main()
