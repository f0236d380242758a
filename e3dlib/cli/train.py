"""`python -m e3dlib train` and `python -m e3dlib evaluate`: the command-line faces of e3dlib.train and
e3dlib.evaluate (torch is imported by the commands, not by the parser)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from ..archfile import load_arch
from ..recipe import RECIPES, TrainConfig, TrainError, check_device, with_recipe
from .usage import TRUST_CHECKPOINT


def _datasets(cfg: TrainConfig, data_root: str | None, views: str, cache_dir: str | None = None):
    from ..data.datasets import build_dataset
    from ..data.layouts import DataError, available_splits, parse_source
    from ..data.transforms import ClipConfig, Views

    clip = ClipConfig(frames=cfg.frames, crop=cfg.size)
    train_set = build_dataset(cfg.data, "train", clip, seed=cfg.seed, root=data_root, cache_dir=cache_dir)
    src = parse_source(cfg.data, data_root)
    val_set = None
    if "val" in available_splits(src):
        val_set = build_dataset(cfg.data, "val", clip, train=False, views=Views.parse(views), seed=cfg.seed,
                                root=data_root, cache_dir=cache_dir)
    if len(train_set) == 0:
        raise DataError(f"{cfg.data}: the train split has no readable videos")
    return train_set, val_set


def cmd_train(args: argparse.Namespace) -> int:
    """`train`: train --arch (the --recipe, then the options given) into --out; prints a line per epoch and the best
    top-1 (the result as JSON with --json); exit 0 when done or at --max-steps, 143 on SIGTERM, 130 on another
    interrupt."""
    from ..checkpoint import check_out
    from ..train import train

    cfg = TrainConfig()
    if args.recipe:
        cfg = with_recipe(cfg, args.recipe)
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name, None) is not None}
    cfg = replace(cfg, **given)
    check_device(cfg.device)
    check_out(Path(args.out))
    spec = load_arch(cfg.arch)
    train_set, val_set = _datasets(cfg, args.data_root, cfg.eval_views, args.cache_dir)
    seen: dict[str, float] = {}

    def epoch_line(m: dict[str, Any]) -> None:
        seen["best"] = m["best_top1"]
        val = f"  val top-1 {m['val_top1']:.4f}" if "val_top1" in m else ""
        print(f"epoch {m['epoch']}/{cfg.epochs}  step {m['step']}  train loss {m['train_loss']:.4f}  "
              f"train top-1 {m['train_top1']:.4f}{val}  ({m['seconds']:.0f} s){'  best' if m['improved'] else ''}",
              flush=True)

    result = train(cfg, spec, train_set, val_set, args.out, resume=args.resume, num_classes=train_set.num_classes,
                   progress=not args.no_progress and sys.stderr.isatty(), trust_checkpoint=args.trust_checkpoint,
                   on_epoch=None if args.json else epoch_line)
    result.pop("model", None)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "history"}))
    elif not result.get("interrupted"):
        if "best" not in seen:  # resumed a finished run: no epoch ran here
            history = json.loads((Path(args.out) / "metrics.json").read_text())
            seen["best"] = max(h.get("val_top1", h["train_top1"]) for h in history)
        best = seen["best"]
        print(f"{args.out}: {result.get('epoch', 0)} epochs; best {'val' if 'val_top1' in result else 'train'} "
              f"top-1 {best:.4f} (best.pt, best_weights.pt); last.pt holds the final state")
    if result.get("collapsed"):
        print(f"warning: {args.out}: the run collapsed ({result['collapse_reason']}); do not average it into a study",
              file=sys.stderr)
    why = result.get("interrupted")  # --max-steps reached is the work asked for; a signal is not
    return 0 if why in (None, "--max-steps") else {"SIGTERM": 143}.get(why, 130)


def _evaluation_set(args: argparse.Namespace):
    """The checkpoint's network and the split to test it on (checked before any video is read)."""
    from ..checkpoint import load_checkpoint
    from ..data.datasets import build_dataset
    from ..data.transforms import ClipConfig, Views

    if args.batch_size < 1 or args.workers < 0:
        bad = f"--batch-size {args.batch_size}: must be >= 1" if args.batch_size < 1 else \
            f"--workers {args.workers}: must be >= 0"
        raise TrainError(bad)
    if args.predictions and Path(args.predictions).suffix.lower() not in (".csv", ".json"):
        raise TrainError(f"--predictions {args.predictions}: give a file ending in .csv or .json")
    check_device(TrainConfig(device=args.device).device)  # the same checks of --device as training
    views = Views.parse(args.views)
    ckpt = Path(args.checkpoint)
    model, cfg = load_checkpoint(ckpt, args.device, trust=args.trust_checkpoint)
    source = args.data or cfg["data"]
    if not source:
        raise TrainError(f"{ckpt} holds weights only (no training configuration): give --data")
    ds = build_dataset(source, args.split, ClipConfig(frames=cfg["frames"], crop=cfg["size"]), train=False,
                       views=views, root=args.data_root)
    if ds.num_classes != model.head.classifier.out_features:
        raise TrainError(f"{ckpt}: trained for {model.head.classifier.out_features} classes, but {source} has "
                         f"{ds.num_classes}")
    return model, ds, views


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`evaluate`: multi-view accuracy of --checkpoint on --split; prints top-1, top-5 and the clip, view and skip
    counts (with the confusion matrix and per-class accuracy as JSON with --json), per-video top-5 to --predictions;
    exit 0."""
    from ..evaluate import prediction_rows, score_videos, summarize, write_predictions

    model, ds, views = _evaluation_set(args)
    s = score_videos(model, ds, args.device, batch_size=args.batch_size, workers=args.workers,
                     progress=not args.no_progress and sys.stderr.isatty())
    if not s.labelled and not args.predictions:
        raise TrainError(f"--split {args.split} has no labels (like Something-Something's test split), so there is "
                         "no accuracy to report; add --predictions FILE.csv or FILE.json for each video's top-5")
    if args.predictions:
        write_predictions(args.predictions, prediction_rows(s, [r.id for r in ds.ann.records], ds.classes))
    out: dict[str, Any] = {"clips": len(s.labels), "views": views.name, "skipped": ds.num_skipped,
                           "labelled": s.labelled, "predictions": args.predictions}
    if s.labelled:
        res = summarize(s.scores, s.labels, ds.num_classes)
        out = {"top1": res["top1"], "top5": res["top5"], **out, "confusion": res["confusion"],
               "per_class": [None if v != v else v for v in res["per_class"]]}  # NaN (no clips) -> null in JSON
    if args.json:
        print(json.dumps(out))
        return 0
    done = f"on {out['clips']} clips, {views.name} views ({len(views)} per clip), {ds.num_skipped} skipped"
    what = f"top-1 {out['top1']:.4f}  top-5 {out['top5']:.4f}" if s.labelled else "no labels (no accuracy)"
    print(f"{args.checkpoint}: {what}  {done}" + (f"; per-video top-5 in {args.predictions}" if args.predictions
                                                   else ""))
    return 0


OPTION_HELP = {
    "frames": "frames per clip", "size": "crop size (pixels)", "epochs": "passes over the training split",
    "batch_size": "clips per step (all processes together)", "lr": "peak learning rate (SGD)",
    "momentum": "SGD momentum", "weight_decay": "L2 weight decay", "warmup_epochs": "linear warm-up length",
    "label_smoothing": "cross-entropy label smoothing", "dropout": "dropout before the classifier",
    "grad_clip": "clip the gradient norm to this (0 = off)",
    "branch_gamma": "initial scale of each residual branch's last BN (X3D: 0)",
    "act": "activation after the depthwise conv: relu or swish", "se": "squeeze-excitation ratio (0 = none)",
    "bf16": "bf16 autocast", "channels_last": "channels-last-3d memory format", "workers": "DataLoader processes",
    "seed": "seed of weights, data order and augmentation", "device": "cpu, cuda or cuda:N",
    "max_steps": "stop after this many steps (0 = no limit)", "eval_views": "validation views KxC each epoch",
}


def _bool(text: str) -> bool:
    v = text.strip().lower()
    if v not in ("1", "true", "yes", "0", "false", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return v in ("1", "true", "yes")


def add_train_parsers(sub: Any) -> None:
    """Add `train` and `evaluate` to the subparsers `sub` of the e3dlib command line."""
    t = sub.add_parser("train", help="train an architecture on a dataset (torchrun-aware)")
    t.add_argument("--arch", help="preset name, JSON spec or TinyNAS file (default e3d-s)")
    t.add_argument("--data", help="something-like | motion | kinetics-like (generated, under --data-root) | "
                   "motion:DIR (= ssv2:DIR) | ssv1:ROOT | ssv2:ROOT | k400:ROOT | folder:ROOT (default something-like)")
    t.add_argument("--cache-dir", help="keep every decoded video as a uint8 .npy file here (memory-mapped on later "
                   "epochs, so epochs are not bound by decoding) (default: none, decode every epoch)")
    t.add_argument("--data-root", help="where generated benchmarks live (default $E3D_DATA_ROOT or data/generated)")
    t.add_argument("--recipe", choices=list(RECIPES), help="preset hyper-parameters; explicit options "
                   "override (default: none, the defaults below)")
    t.add_argument("--out", required=True, help="run folder: last.pt, best.pt, metrics.csv, run.json")
    t.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    t.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (also off when not a TTY)")
    t.add_argument("--trust-checkpoint", **TRUST_CHECKPOINT)
    defaults = asdict(TrainConfig())
    for f in fields(TrainConfig):
        if f.name in ("arch", "data"):
            continue
        flag = "--" + f.name.replace("_", "-")
        default = "the architecture's" if defaults[f.name] is None else defaults[f.name]
        text = f"{OPTION_HELP.get(f.name, '')} (default {default})".strip()
        if isinstance(defaults[f.name], bool):
            t.add_argument(flag, type=_bool, metavar="BOOL", help=text)
        elif f.name == "act":
            t.add_argument(flag, choices=("relu", "swish"), help=text)
        else:  # None defaults (se) are numbers that leave the architecture's value when not given
            t.add_argument(flag, type=float if defaults[f.name] is None else type(defaults[f.name]), help=text)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="multi-view evaluation of a checkpoint")
    e.add_argument("--checkpoint", required=True,
                   help="best.pt / last.pt of a training run, or a weights file (best_weights.pt, convert's output)")
    e.add_argument("--data", help="data source (default: the one the checkpoint was trained on)")
    e.add_argument("--data-root", help="root of named data sources (default: $E3D_DATA_ROOT or data/generated)")
    e.add_argument("--split", default="val", help="train, val or test (default val); a split without labels "
                   "(Sth-Sth's test split, the synthetic benchmarks') needs --predictions")
    e.add_argument("--predictions", metavar="FILE", help="write each video's id, true class (if labelled) and top-5 "
                   "classes with their probabilities to FILE.csv or FILE.json (default: none)")
    e.add_argument("--views", default="10x1",
                   help="KxC: K clips x C crops (1 = Center, 3 = LeftCenterRight) (default 10x1)")
    e.add_argument("--batch-size", type=int, default=4, help="videos per batch (default 4)")
    e.add_argument("--workers", type=int, default=2, help="data loader processes (default 2)")
    e.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    e.add_argument("--json", action="store_true", help="print the result as one JSON object")
    e.add_argument("--no-progress", action="store_true", help="no progress bar (also off when not a TTY)")
    e.add_argument("--trust-checkpoint", **TRUST_CHECKPOINT)
    e.set_defaults(func=cmd_evaluate)
