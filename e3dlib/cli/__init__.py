"""Command line: `python -m e3dlib <command>` (or `e3d <command>` once installed).

    score       FLOPs (both conventions), params, layers, HomoEntr and STEntr of presets / architecture files
    export-arch a preset or architecture file written as a TinyNAS structure file or a JSON spec
    search      evolutionary search under FLOPs / params / layers budgets (Algorithm 1)
    data        generate the synthetic benchmarks; inspect a dataset on disk
    train       train an architecture (1 CPU, 1 GPU or torchrun)
    evaluate    multi-view evaluation of a checkpoint
    convert     an X3D checkpoint of pytorchvideo / PySlowFast as an e3dlib weights file
    predict     top-5 classes of videos; export: TorchScript; latency: time per clip, E3D vs X3D

Bad input ends with one line on stderr naming the file or option, and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..data.layouts import DataError
from ..recipe import TrainError
from ..spec import SpecError
from .data import add_data_parser
from .deploy import add_deploy_parsers
from .score import add_export_arch_parser, add_score_parser
from .search import add_search_parser
from .train import add_train_parsers
from .usage import Parser, UsageError

__all__ = ["UsageError", "build_parser", "main"]

# Each command's module adds its parser(s) and handler(s); `--help` lists the commands in this order.
COMMANDS = (add_score_parser, add_export_arch_parser, add_search_parser, add_data_parser, add_train_parsers,
            add_deploy_parsers)


def build_parser() -> argparse.ArgumentParser:
    """The `e3dlib` parser with every command's subparser."""
    p = Parser(prog="e3dlib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", parser_class=Parser, required=True)
    for add in COMMANDS:
        add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (2 with one line on stderr for bad input)."""
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
