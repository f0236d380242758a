"""`python -m e3dlib score` and `export-arch`: architectures without torch (milliseconds per file).

    score --arch NAME | --arch-file FILE ...    FLOPs (both conventions), params, layers, HomoEntr, STEntr
    export-arch ARCH --format tinynas|json      a preset / JSON spec / TinyNAS file written as either format
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..archfile import format_structure, load_arch, parse_structure
from ..cost import macs, params, tinynas_flops
from ..presets import PRESETS
from ..scores import VARIANTS, homo_entr, st_entr
from ..spec import ArchSpec, SpecError, num_layers
from .usage import UsageError


def score_row(spec: ArchSpec, variant: str) -> dict[str, Any]:
    """One architecture's row: input, FLOPs in both conventions, params, layers, HomoEntr, STEntr (`variant`)."""
    return {"name": spec.name, "frames": spec.frames, "size": spec.size,
            "flops_macs": macs(spec), "flops_tinynas": tinynas_flops(spec), "params": params(spec),
            "layers": num_layers(spec), "homo_entr": homo_entr(spec), "st_entr": st_entr(spec, variant),
            "variant": variant}


def cmd_score(args: argparse.Namespace) -> int:
    """`score`: FLOPs (both conventions), params, layers, HomoEntr and STEntr of each --arch / --arch-file in the order
    given; prints a table (one JSON line per architecture with --json); exit 0."""
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
                   help=f"a preset: {', '.join(PRESETS)} (repeatable; no default: give --arch or --arch-file)")
    s.add_argument("--arch-file", action=_Sources, dest="sources", nargs="+", metavar="FILE",
                   help="JSON spec (.json) or TinyNAS structure file(s) (default: none; write one with export-arch)")
    s.add_argument("--frames", type=int, help="input frames (default: the spec's; 13 for TinyNAS files)")
    s.add_argument("--size", type=int, help="input crop size (default: the spec's; 160 for TinyNAS files)")
    s.add_argument("--variant", choices=VARIANTS, default="paper", help="STEntr variant (default: paper)")
    s.add_argument("--json", action="store_true", help="one JSON object per architecture per line")
    s.set_defaults(func=cmd_score, sources=[])


def export_text(spec: ArchSpec, fmt: str) -> str:
    """`spec` as our JSON spec or as a TinyNAS structure; a spec that a TinyNAS file cannot hold whole (its head
    width, SE, activation, classes: the file has none, so they would be read back as the E3D defaults) is a
    `SpecError` naming what would be lost."""
    if fmt == "json":
        return spec.to_json() + "\n"
    text = format_structure(spec)
    back = parse_structure(text, name=spec.name, frames=spec.frames, size=spec.size).to_dict()
    lost = [f"{k} {v}" for k, v in spec.to_dict().items() if back[k] != v]
    if lost:
        raise SpecError(f"{spec.name}: a TinyNAS file cannot hold its {', '.join(lost)} (it would be read back "
                        "with E3D's defaults); use --format json")
    return text


def cmd_export_arch(args: argparse.Namespace) -> int:
    """`export-arch`: ARCH as a JSON spec or TinyNAS structure (--format, else from --out's suffix), to stdout or --out
    (then prints what it wrote); exit 0."""
    out = Path(args.out) if args.out else None
    fmt = args.format or ("json" if out is None or out.suffix == ".json" else "tinynas")
    if out is not None and (out.suffix == ".json") != (fmt == "json"):
        raise UsageError(f"e3dlib export-arch: error: --out {out}: architecture files are read as JSON specs when "
                         f"they end in .json and as TinyNAS structures otherwise; name a --format {fmt} file "
                         + ("X.json" if fmt == "json" else "e.g. X.txt"))
    spec = load_arch(args.arch, frames=args.frames, size=args.size)
    text = export_text(spec, fmt)
    if out is None:
        sys.stdout.write(text)
        return 0
    out.write_text(text)
    read = "" if fmt == "json" or (spec.frames, spec.size) == (13, 160) else \
        f"; the file holds no input size: read it with --frames {spec.frames} --size {spec.size}"
    print(f"wrote {out} ({spec.name} as {'a JSON spec' if fmt == 'json' else 'a TinyNAS structure'}{read})")
    return 0


def add_export_arch_parser(sub: Any) -> None:
    """Add `export-arch` to the subparsers `sub` of the e3dlib command line."""
    e = sub.add_parser("export-arch", help="write an architecture as a TinyNAS structure file or a JSON spec")
    e.add_argument("arch", metavar="ARCH", help=f"a preset ({', '.join(PRESETS)}), a JSON spec (.json) or a "
                   "TinyNAS structure file")
    e.add_argument("--format", choices=("tinynas", "json"),
                   help="tinynas (the official E3D files: no input size, head FC, SE or classes) or json (our "
                        "complete spec) (default: json for an --out ending in .json or no --out, else tinynas)")
    e.add_argument("--out", metavar="FILE", help="the file to write (default: print it)")
    e.add_argument("--frames", type=int, help="input frames (default: the architecture's; 13 for TinyNAS files, "
                   "which hold none)")
    e.add_argument("--size", type=int, help="input crop size (default: the architecture's; 160 for TinyNAS files)")
    e.set_defaults(func=cmd_export_arch)
