"""`python -m e3dlib convert | predict | export | latency`: the command-line faces of e3dlib.interop and
e3dlib.deploy (torch is imported by the commands, not by the parser)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..presets import PRESETS
from ..recipe import TrainError
from .usage import TRUST_CHECKPOINT


def _model(args: argparse.Namespace):
    from ..checkpoint import load_checkpoint

    return load_checkpoint(Path(args.checkpoint), trust=args.trust_checkpoint)


def cmd_convert(args: argparse.Namespace) -> int:
    """`convert`: an X3D checkpoint of pytorchvideo / PySlowFast as e3dlib weights at --out, its JSON spec beside it;
    prints what it wrote and the conversion notes on stderr (with --json: one JSON object, notes included); exit 0."""
    from ..interop import convert_checkpoint

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


def cmd_predict(args: argparse.Namespace) -> int:
    """`predict`: the --top classes of each video over --views; prints them per video (one JSON line each with --json);
    exit 2 if a video could not be read (named on stderr), else 0."""
    from ..data.transforms import ClipConfig, Views
    from ..deploy import predict, read_labels

    views = Views.parse(args.views)
    if args.top < 1:
        raise TrainError(f"--top {args.top}: must be >= 1")
    model, cfg = _model(args)
    n = model.head.classifier.out_features
    labels = read_labels(args.labels, n) if args.labels else None
    rows = predict(model, args.videos, ClipConfig(frames=cfg["frames"], crop=cfg["size"]), views, top=args.top,
                   labels=labels)
    for r in rows:
        if "error" in r:
            print(f"e3dlib predict: error: {r['video']}: {r['error']}", file=sys.stderr)
        elif args.json:
            print(json.dumps(r))
        else:
            print(r["video"] + "\n" + "\n".join(f"  {t['probability']:6.1%}  {t['label']}" for t in r["top"]))
    return 2 if any("error" in r for r in rows) else 0


def cmd_export(args: argparse.Namespace) -> int:
    """`export`: the checkpoint's network as ONNX (batch dynamic) or TorchScript (traced; prints the max deviation from
    eager) at --out; exit 0."""
    import torch

    from ..deploy import export_onnx, export_torchscript

    for name in ("batch", "frames", "size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise TrainError(f"--{name} {getattr(args, name)}: must be >= 1")
    model, cfg = _model(args)
    frames = cfg["frames"] if args.frames is None else args.frames
    size = cfg["size"] if args.size is None else args.size
    example = torch.randn((args.batch, 3, frames, size, size), generator=torch.Generator().manual_seed(0))
    if args.format == "onnx":
        export_onnx(model, args.out, example)
        print(f"wrote {args.out} (ONNX, input 'clip' Bx3x{frames}x{size}x{size}, batch dynamic; output 'logits')")
        return 0
    export_torchscript(model, args.out, example)
    with torch.no_grad():
        diff = float((torch.jit.load(args.out)(example) - model(example)).abs().max())
    print(f"wrote {args.out} (TorchScript, traced at {args.batch}x3x{frames}x{size}x{size}); max |exported - eager| "
          f"= {diff:.2e}; load it with torch.jit.load")
    return 0


def cmd_latency(args: argparse.Namespace) -> int:
    """`latency`: ms per clip of each --arch for every --batch, --threads, mode and memory format; prints a table (times
    of the first arch over the second's when there are two), a JSON list with --json; exit 0."""
    import torch

    from ..archfile import load_arch
    from ..deploy import latency_table
    from ..recipe import TrainConfig, check_device

    check_device(TrainConfig(device=args.device).device)  # the same checks of --device as training
    if not all(t == "all" or t.isdigit() for t in args.threads):
        raise TrainError(f"--threads {' '.join(args.threads)}: give numbers >= 1 or 'all'")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = sorted({cores if t == "all" else int(t) for t in args.threads})
    if min(threads) < 1 or min(args.batch) < 1 or args.repeats < 1:
        raise TrainError("--threads, --batch and --repeats must be >= 1")
    specs = [load_arch(a, frames=args.frames, size=args.size) for a in args.arch]
    rows = latency_table(specs, batches=args.batch, threads=threads, repeats=args.repeats, device=args.device,
                         dtype=getattr(torch, args.dtype))
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{args.device} {args.dtype}")
    print(f"{'arch':<10}{'input':>10}{'GMACs':>8}{'batch':>6}{'thr':>5}{'mode':>12}{'CL':>4}{'ms/clip':>10}"
          + (f"  vs {specs[1].name}" if len(specs) >= 2 else ""))
    for r in rows:
        ratio = next((v for k, v in r.items() if k.startswith("ratio_to_")), None)
        print(f"{r['arch'][:9]:<10}{r['frames']:>4}x{r['size']:<4}{r['gmacs']:>8.3f}{r['batch']:>6}{r['threads']:>5}"
              f"{r['mode']:>12}{'y' if r['channels_last'] else 'n':>4}{r['ms_per_clip']:>10.2f}"
              + (f"  {ratio:.2f}x" if ratio else ""))
    return 0


def add_deploy_parsers(sub) -> None:
    """Add `convert`, `predict`, `export` and `latency` to the subparsers `sub` of the e3dlib command line."""
    c = sub.add_parser("convert", help="an X3D checkpoint of pytorchvideo or PySlowFast as an e3dlib weights file")
    c.add_argument("checkpoint", metavar="IN", help="the .pyth/.pt file (state dict under 'model_state', or bare)")
    c.add_argument("--from", dest="source", required=True, choices=("pytorchvideo", "slowfast"),
                   help="the project that wrote IN")
    c.add_argument("--arch", required=True, choices=[n for n in PRESETS if n.startswith("x3d")],
                   help="the X3D it holds (XS, S and M share every weight shape: the name only sets the input "
                        "frames and crop written beside the weights, so give the right one)")
    c.add_argument("--out", required=True, help="the weights file to write (its architecture as .json beside it)")
    c.add_argument("--trust-checkpoint", **TRUST_CHECKPOINT)
    c.add_argument("--json", action="store_true", help="print one JSON summary object")
    c.set_defaults(func=cmd_convert)
    p = sub.add_parser("predict", help="top-k classes of videos with a trained network")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files or frame folders")
    p.add_argument("--checkpoint", required=True, help="best.pt / last.pt of a run, or a weights file (+ .json)")
    p.add_argument("--labels", help="class names: a text file (one per line), a JSON list or name -> index object "
                        "(default: the class indices)")
    p.add_argument("--views", default="1x1", help="test views KxC (default 1x1; the paper tests 10x3 / 2x3)")
    p.add_argument("--top", type=int, default=5, help="classes to print per video (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per video")
    p.add_argument("--trust-checkpoint", **TRUST_CHECKPOINT)
    p.set_defaults(func=cmd_predict)
    e = sub.add_parser("export", help="a trained network as TorchScript or ONNX")
    e.add_argument("--checkpoint", required=True, help="best.pt / last.pt of a run, or a weights file (+ .json)")
    e.add_argument("--format", choices=("torchscript", "onnx"), default="torchscript",
                   help="torchscript, or onnx (needs the extra: pip install -e '.[onnx]') (default torchscript)")
    e.add_argument("--out", required=True, help="the file to write")
    e.add_argument("--batch", type=int, default=1, help="batch size of the traced example (default 1)")
    e.add_argument("--frames", type=int, help="clip length of the example (default: the network's)")
    e.add_argument("--size", type=int, help="crop size of the example (default: the network's)")
    e.add_argument("--trust-checkpoint", **TRUST_CHECKPOINT)
    e.set_defaults(func=cmd_export)
    lat = sub.add_parser("latency", help="inference time per clip: eager vs TorchScript, channels-last, threads")
    lat.add_argument("--arch", action="append", required=True,
                     help="preset or architecture file (repeatable; with two, the first's time / the second's)")
    lat.add_argument("--frames", type=int, help="input frames (default: the architecture's)")
    lat.add_argument("--size", type=int, help="input crop size (default: the architecture's)")
    lat.add_argument("--batch", type=int, nargs="+", default=[1, 8], help="batch sizes (default 1 8)")
    lat.add_argument("--threads", nargs="+", default=["1", "all"], help="intra-op threads: numbers or 'all' "
                                                                        "(default 1 all)")
    lat.add_argument("--repeats", type=int, default=10, help="timed passes per setting; the median is shown "
                                                             "(default 10, after 3 warm-up passes)")
    lat.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    lat.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                     help="weights and input cast to it (default float32)")
    lat.add_argument("--json", action="store_true", help="print one JSON list of rows")
    lat.set_defaults(func=cmd_latency)
