"""`python -m e3dlib search`: the command line of the evolutionary search."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ..cost import CONVENTIONS
from ..scores import PROXIES, SCORES, VARIANTS
from ..search import SearchConfig, SearchError, search
from ..search.store import written
from ..spec import ArchSpec

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
    s.add_argument("--budget-flops", type=float, help="FLOPs budget, e.g. 2.0e9 (the official E3D-S "
                   "budget) (default: none, no FLOPs limit)")
    s.add_argument("--flops-convention", choices=CONVENTIONS, default="tinynas",
                   help="how --budget-flops counts (default: tinynas, the paper's budgets)")
    s.add_argument("--budget-params", type=float, help="parameter budget (every parameter, BN and SE "
                   "included) (default: none)")
    s.add_argument("--budget-layers", type=int, help="layer budget (stem + 3 per block + conv5): Algorithm 1's "
                   "maximal depth L; without it STEntr favours very deep nets (official E3D-S/M: 83) (default: none)")
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
    s.add_argument("--score", choices=SCORES + PROXIES, default="st_entr",
                   help="st_entr | homo_entr (analytic), or a training-free proxy (zen, naswot, synflow, gradnorm, "
                        "forward_entropy: seconds per candidate, so use few iterations; default st_entr)")
    s.add_argument("--proxy-input", type=int, nargs=2, default=(4, 32), metavar=("T", "S"),
                   help="frames and size at which a proxy score builds each candidate (default 4 32)")
    s.add_argument("--initial", default=d["initial"].default,
                   help="starting structure: a preset name, JSON spec or TinyNAS file (default e3d-initial)")
    s.add_argument("--variant", choices=VARIANTS, default="paper", help="STEntr variant (default: paper)")
    s.add_argument("--kernels", type=_kernel, nargs="+", metavar="TxKxK",
                   help="depthwise kernel choices (default: 1x3x3 1x5x5 3x3x3)")
    s.add_argument("--temporal-stem", type=int, default=0, metavar="KT",
                   help="give every candidate X3D's depthwise KTx1x1 stem conv, e.g. 5 (default 0: the paper's "
                        "spatial stem)")
    s.add_argument("--out", required=True, help="output directory")
    s.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    s.add_argument("--checkpoint-every", type=int, default=20_000, metavar="N",
                   help="write the resumable checkpoint every N iterations (default 20000)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar (also off when not a TTY)")
    s.add_argument("--json", action="store_true", help="print one JSON summary object")
    s.set_defaults(func=cmd_search)


def cmd_search(args: argparse.Namespace) -> int:
    """`search`: run the evolutionary search into --out; prints the best score, its costs and the files written (one
    JSON summary with --json); exit 0, or 130 when interrupted (continue with --resume)."""
    extra = {"kernels": tuple(args.kernels)} if args.kernels else {}
    if args.max_depth:
        extra["max_depth"] = tuple(args.max_depth)
    score: str | Callable[[ArchSpec], float] = args.score
    if score in PROXIES:
        from ..proxies import ProxyScore

        if not all(1 <= v <= 4096 for v in args.proxy_input):
            raise SearchError(f"--proxy-input {args.proxy_input[0]} {args.proxy_input[1]}: frames T and size S must "
                              "be in 1..4096")
        score = ProxyScore(args.score, *args.proxy_input)
    cfg = SearchConfig(frames=args.frames, size=args.size, budget_flops=args.budget_flops,
                       flops_convention=args.flops_convention, budget_params=args.budget_params,
                       budget_layers=args.budget_layers, score=score, variant=args.variant, initial=args.initial,
                       iterations=args.iterations, population=args.population, seed=args.seed,
                       temporal_stem=args.temporal_stem, **extra)
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
        print(f"{res.iterations} iterations in {res.seconds:.1f} s; wrote {', '.join(written(res))} to {args.out}")
    return 0

