"""`python -m e3dlib score`: analytic cost and entropy scores of architectures (no torch: milliseconds per file)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..archfile import load_arch
from ..cost import macs, params, tinynas_flops
from ..presets import PRESETS
from ..scores import VARIANTS, homo_entr, st_entr
from ..spec import ArchSpec, num_layers
from .usage import UsageError


def score_row(spec: ArchSpec, variant: str) -> dict[str, Any]:
    """One architecture's row: input, FLOPs in both conventions, params, layers, HomoEntr, STEntr (`variant`)."""
    return {"name": spec.name, "frames": spec.frames, "size": spec.size,
            "flops_macs": macs(spec), "flops_tinynas": tinynas_flops(spec), "params": params(spec),
            "layers": num_layers(spec), "homo_entr": homo_entr(spec), "st_entr": st_entr(spec, variant),
            "variant": variant}


def cmd_score(args: argparse.Namespace) -> int:
    if not args.sources:
        raise UsageError("e3dlib score: error: give --arch NAME or --arch-file FILE [FILE ...]")
    rows = []
    for _option, src in args.sources:
        spec = load_arch(src, frames=args.frames, size=args.size)
        rows.append(score_row(spec, args.variant))
        if args.json:
            print(json.dumps(rows[-1]))
    if not args.json:
        head = f"{'name':<16}{'T':>4}{'size':>6}{'GMACs':>9}{'G(tinynas)':>12}{'params(M)':>11}{'layers':>8}" \
               f"{'HomoEntr':>10}{'STEntr':>10}"
        print(head + f"  ({args.variant})")
        for r in rows:
            print(f"{r['name'][:15]:<16}{r['frames']:>4}{r['size']:>6}{r['flops_macs'] / 1e9:>9.3f}"
                  f"{r['flops_tinynas'] / 1e9:>12.3f}{r['params'] / 1e6:>11.3f}{r['layers']:>8}"
                  f"{r['homo_entr']:>10.2f}{r['st_entr']:>10.2f}")
    return 0


class _Sources(argparse.Action):
    """--arch and --arch-file append (kind, value) to one list, so output follows input order."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest) or [])
        vals = values if isinstance(values, list) else [values]
        items.extend((option_string, v) for v in vals)
        setattr(namespace, self.dest, items)


def add_score_parser(sub: Any) -> None:
    """Add `score` to the subparsers `sub` of the e3dlib command line."""
    s = sub.add_parser("score", help="analytic cost and entropy scores of architectures")
    s.add_argument("--arch", action=_Sources, dest="sources", metavar="NAME",
                   help=f"a preset: {', '.join(PRESETS)} (repeatable)")
    s.add_argument("--arch-file", action=_Sources, dest="sources", nargs="+", metavar="FILE",
                   help="JSON spec (.json) or TinyNAS structure file(s)")
    s.add_argument("--frames", type=int, help="input frames (default: the spec's; 13 for TinyNAS files)")
    s.add_argument("--size", type=int, help="input crop size (default: the spec's; 160 for TinyNAS files)")
    s.add_argument("--variant", choices=VARIANTS, default="paper", help="STEntr variant (default: paper)")
    s.add_argument("--json", action="store_true", help="one JSON object per architecture per line")
    s.set_defaults(func=cmd_score, sources=[])
