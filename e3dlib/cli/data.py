"""`python -m e3dlib data ...`: generate the synthetic benchmarks, inspect any source.

    data generate something-like|motion|kinetics-like [--out DIR] --videos N [--seed S] [--workers W] [--flat]
                  [--set KEY=VALUE ...]
    data inspect ssv1:ROOT|ssv2:ROOT|k400:ROOT|folder:ROOT|something-like|kinetics-like [--json]
                 [--split S ...] [--limit N] [--workers W]

Heavy modules (PyAV, torch) are imported by the commands, not by the parser.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..data.layouts import NAMES, data_root


def _at_least(lo: int):
    """An argparse type: an integer >= lo (argparse turns the ValueError into a one-line usage error)."""
    def parse(text: str) -> int:
        v = int(text)
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
        return v

    parse.__name__ = f"integer >= {lo}"
    return parse


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def cmd_generate(args: argparse.Namespace) -> int:
    """`data generate`: write `--videos` synthetic videos of KIND into --out (default: the data root / KIND); prints the
    counts written, kept and repaired and the source string to read them; exit 0."""
    from ..data.generate import generate, make_config

    cfg = make_config(args.kind, dict(args.set))
    out = args.out or str(data_root() / args.kind)
    counts = generate(args.kind, out, args.videos, seed=args.seed, workers=args.workers, cfg=cfg, flat=args.flat,
                      progress=not args.quiet and sys.stderr.isatty())
    print(f"{args.kind}: {args.videos} videos in {out} ({counts['written']} written, {counts['kept']} kept, "
          f"{counts['repaired']} repaired); read it as {NAMES[args.kind]}:{out}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    """`data inspect`: decode-check the splits of a source; prints the report (one JSON object with --json); exit 0."""
    from ..data.check import format_report, inspect_source

    report = inspect_source(args.source, args.split, args.limit, args.workers,
                            progress=not args.json and sys.stderr.isatty())
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def add_data_parser(sub) -> None:
    """Add `data generate` and `data inspect` to the subparsers `sub` of the e3dlib command line."""
    d = sub.add_parser("data", help="generate synthetic video benchmarks; inspect video datasets",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = d.add_subparsers(dest="data_command", metavar="{generate,inspect}", parser_class=type(d), required=True)
    g = dsub.add_parser("generate", help="write something-like or motion (SSv2 layout), or kinetics-like (K400 layout) "
                        "videos")
    g.add_argument("kind", choices=sorted(NAMES), help="the benchmark: " + ", ".join(sorted(NAMES)))
    g.add_argument("--out", help="output folder (default: $E3D_DATA_ROOT or data/generated, then the kind)")
    g.add_argument("--videos", type=_at_least(1), required=True,
                   help="number of videos (80%% train, 10%% val, 10%% test)")
    g.add_argument("--seed", type=int, default=0, help="every video is a function of (seed, index) (default 0)")
    g.add_argument("--workers", type=_at_least(1), default=2, help="processes (default 2)")
    g.add_argument("--flat", action="store_true", help="kinetics-like: OUT/<split>/<clip>.mp4, no label folders")
    g.add_argument("--set", type=_key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="override a generator setting, e.g. noise=0.1 or object_size=0.2,0.3 (repeatable; default: the "
                        "kind's settings)")
    g.add_argument("--quiet", action="store_true", help="no progress bar (also off when not a TTY)")
    g.set_defaults(func=cmd_generate)
    i = dsub.add_parser("inspect", help="per split: videos, decodable, skipped (with reasons), classes, frames")
    i.add_argument("source", help="ssv1:ROOT, ssv2:ROOT, k400:ROOT, folder:ROOT, something-like, motion, kinetics-like "
                   "or motion:DIR")
    i.add_argument("--json", action="store_true", help='one JSON object: {"splits": {"train": {"videos": ...}}}')
    i.add_argument("--split", action="append", help="only this split (repeatable; default: all present)")
    i.add_argument("--limit", type=_at_least(1), help="check an evenly spaced sample of N videos per split "
                                                         "(default: every video)")
    i.add_argument("--workers", type=_at_least(1), default=2, help="decoding processes (default 2)")
    i.set_defaults(func=cmd_inspect)

