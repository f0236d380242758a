"""Command line: `python -m e3dlib <command>`.

    score     FLOPs (both conventions), params, layers, HomoEntr and STEntr of presets / architecture files
    search    evolutionary search under FLOPs / params / layers budgets (Algorithm 1)
    data      generate the synthetic benchmarks; inspect a dataset on disk
    train     train an architecture (1 CPU, 1 GPU or torchrun)
    evaluate  multi-view evaluation of a checkpoint
    convert   an X3D checkpoint of pytorchvideo / PySlowFast as an e3dlib weights file
    predict   top-5 classes of videos; export: TorchScript; latency: time per clip, E3D vs X3D

Bad input ends with one line on stderr naming the file or option, and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .archfile import load_arch
from .cost import macs, params, tinynas_flops
from .data.cli import DataError, add_data_parser
from .deploy_cli import add_deploy_parsers
from .presets import PRESETS
from .recipe import TrainError
from .scores import VARIANTS, homo_entr, st_entr
from .search.cli import add_search_parser
from .spec import SpecError, num_layers
from .train_cli import add_train_parsers


class UsageError(Exception):
    """A command-line problem that the user fixes; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        raise UsageError(f"{self.prog}: error: {message}")


def score_row(spec, variant: str) -> dict:
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


def cmd_convert(args: argparse.Namespace) -> int:
    from .interop import convert_checkpoint

    notes = convert_checkpoint(args.checkpoint, args.source, PRESETS[args.arch], args.out,
                               trust=args.trust_checkpoint)
    if args.json:
        print(json.dumps({"out": args.out, "arch": args.arch, "from": args.source, "notes": notes}))
    else:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        spec = PRESETS[args.arch]
        print(f"wrote {args.out} and {Path(args.out).with_suffix('.json')} ({args.arch}, input {spec.frames}x"
              f"{spec.size}x{spec.size}, from {args.source}); "
              f"use it with `e3dlib evaluate --checkpoint {args.out} --data ...` or e3dlib.model.load_weights")
    return 0


class _Sources(argparse.Action):
    """--arch and --arch-file append (kind, value) to one list, so output follows input order."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest) or [])
        vals = values if isinstance(values, list) else [values]
        items.extend((option_string, v) for v in vals)
        setattr(namespace, self.dest, items)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="e3dlib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", parser_class=_Parser, required=True)
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
    c = sub.add_parser("convert", help="an X3D checkpoint of pytorchvideo or PySlowFast as an e3dlib weights file")
    c.add_argument("checkpoint", metavar="IN", help="the .pyth/.pt file (state dict under 'model_state', or bare)")
    c.add_argument("--from", dest="source", required=True, choices=("pytorchvideo", "slowfast"),
                   help="the project that wrote IN")
    c.add_argument("--arch", required=True, choices=[n for n in PRESETS if n.startswith("x3d")],
                   help="the X3D it holds (XS, S and M share every weight shape: the name only sets the input "
                        "frames and crop written beside the weights, so give the right one)")
    c.add_argument("--out", required=True, help="the weights file to write (its architecture as .json beside it)")
    c.add_argument("--trust-checkpoint", action="store_true",
                   help="read IN with full unpickling (can run code: only for files you trust; default: weights-only)")
    c.add_argument("--json", action="store_true", help="print one JSON summary object")
    c.set_defaults(func=cmd_convert)
    add_search_parser(sub)
    add_data_parser(sub)
    add_train_parsers(sub)
    add_deploy_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    cmd = words[0] if words else "?"
    try:
        args = build_parser().parse_args(words)
        return args.func(args)
    except UsageError as e:
        print(e, file=sys.stderr)
    except KeyboardInterrupt:  # search and train handle it themselves (checkpoint, their own message)
        again = words[:2] == ["data", "generate"]
        print(f"e3dlib {cmd}: interrupted" + ("; rerun the same command to continue (finished clips are kept)"
                                              if again else ""), file=sys.stderr)
        return 130
    except (SpecError, DataError, TrainError, OSError) as e:
        what = f"{e.filename}: {e.strerror}" if isinstance(e, OSError) and e.filename and e.strerror else str(e)
        if "\n" in what:  # raised in a DataLoader worker: torch prepends the worker's traceback; keep the message
            what = what.strip().splitlines()[-1].split(": ", 1)[-1]
        print(f"e3dlib {cmd}: error: {what}", file=sys.stderr)
    return 2
