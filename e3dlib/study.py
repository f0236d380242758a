"""Trained-model studies (notebooks 03, 04, 06): many short training runs, cached on disk.

Each run lives in `runs_dir/<name>/` with the trainer's files plus `result.json`: one row with the run's spec,
seed, recipe, cost, scores and test metrics. `train_and_test` returns that row without training again when it
exists, resumes an interrupted run from its `last.pt`, and otherwise trains from scratch -- so re-running a
notebook re-uses finished runs and an interrupted study continues where it stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .cost import macs, params
from .data.synthetic import MOTION_SETTINGS
from .recipe import TrainConfig
from .scores import homo_entr, st_entr
from .spec import ArchSpec, SpecError

# The motion-dominated benchmark of notebooks 03 and 04: the `motion` generator's settings (the ten pure-motion
# classes of something-like, each pair differing only in the order of frames, in a plain scene) at something-like's
# 96x128 frames, and the proxy-scale size and training length of those notebooks.
_MOTION_SETTINGS = {k: v for k, v in MOTION_SETTINGS.items() if k not in ("height", "width")}
MOTION: dict[str, Any] = {"overrides": _MOTION_SETTINGS, "classes": int(_MOTION_SETTINGS["classes"]),
                          "videos": 2000, "epochs": 2}


def make_benchmark(root: str | Path, videos: int, seed: int = 0, workers: int = 2) -> Path:
    """Generate (idempotently) the MOTION benchmark under `root/motion-0304/something-like`; returns the data
    root to pass to `train_and_test` (`root/motion-0304`)."""
    from .data.generate import generate, make_config

    out = Path(root) / "motion-0304"  # not root/motion: that is where notebook 07 writes the `motion` benchmark
    generate("something-like", out / "something-like", videos, seed=seed, workers=workers,
             cfg=make_config("something-like", MOTION["overrides"]), progress=False)
    return out


def describe(spec: ArchSpec) -> dict[str, Any]:
    """Cost and analytic scores of a spec at its input size (one row's architecture columns)."""
    row = {"arch": spec.name, "gmacs": macs(spec) / 1e9, "mparams": params(spec) / 1e6, "homo_entr": homo_entr(spec)}
    for key, variant in (("st_entr", "paper"), ("st_entr_tinynas", "tinynas")):
        try:
            row[key] = st_entr(spec, variant)
        except SpecError:  # a feature map parallel to a kernel: D is infinite, the table shows NaN
            row[key] = float("nan")
    return row


def train_and_test(run_dir: str | Path, cfg: TrainConfig, spec: ArchSpec, data: str, data_root: str | Path,
                   views: list[str], *, progress: bool = False, cache_dir: str | Path | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train `spec` on `data` with `cfg` (unless `run_dir/result.json` exists), then test it on the validation
    split (the paper's protocol; the synthetic test splits, like Sth-Sth's, carry no labels) with each of `views`
    (e.g. ["4x1", "4x3"]); returns and stores the result row."""
    from .checkpoint import load_checkpoint
    from .data.datasets import build_dataset
    from .data.transforms import ClipConfig, Views
    from .evaluate import evaluate_model
    from .train import train

    run_dir = Path(run_dir)
    done = run_dir / "result.json"
    cfg = replace(cfg, data=data, arch=spec.name)
    clip = ClipConfig(frames=cfg.frames, crop=cfg.size)
    train_set = build_dataset(data, "train", clip, seed=cfg.seed, root=data_root, cache_dir=cache_dir)
    val_set = build_dataset(data, "val", clip, train=False, seed=cfg.seed, root=data_root, cache_dir=cache_dir)
    sizes = {"train_videos": len(train_set), "val_videos": len(val_set)}
    model = None
    if done.is_file():
        row = json.loads(done.read_text())
        _check_same_run(done, row, spec, cfg, sizes)
    else:
        metrics = train(cfg, spec, train_set, val_set, run_dir, resume=(run_dir / "last.pt").is_file(),
                        num_classes=train_set.num_classes, progress=progress)  # a finished run returns at once
        if metrics.get("interrupted"):
            raise KeyboardInterrupt(f"training interrupted ({metrics['interrupted']}); run again to resume")
        model, _ = load_checkpoint(run_dir / "last.pt")
        row = {**describe(model.spec), "data": data, "seed": cfg.seed, "epochs": cfg.epochs, **sizes,
               "train_top1": metrics["train_top1"], "train_loss": metrics["train_loss"],
               "val_top1": metrics["val_top1"], "collapsed": metrics["collapsed"],
               "collapse_reason": metrics["collapse_reason"], "train_logit_std": metrics["train_logit_std"],
               "seconds": sum(h["seconds"] for h in json.loads((run_dir / "metrics.json").read_text())),
               "curve": read_curve(run_dir),
               "recipe": asdict(cfg), "spec": model.spec.to_dict(), **(extra or {})}
    missing = [v for v in views if f"top1[{Views.parse(v).name}]" not in row]  # new views of a finished run
    if not missing and done.is_file():
        return row
    if model is None:
        model, _ = load_checkpoint(run_dir / "last.pt")
    for v in missing:
        test_set = build_dataset(data, "val", clip, train=False, views=Views.parse(v), root=data_root,
                                 cache_dir=cache_dir)
        ev = evaluate_model(model, test_set, batch_size=max(1, cfg.batch_size // 4), workers=cfg.workers,
                            progress=progress)
        name = Views.parse(v).name
        row[f"top1[{name}]"], row[f"top5[{name}]"] = ev["top1"], ev["top5"]
        row["test_clips"] = ev["clips"]
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(row, indent=2) + "\n")
    os.replace(tmp, done)
    return row


def read_curve(run_dir: str | Path) -> list[list[float]]:
    """A run's training-loss curve, [[step, mean loss of the last `CURVE_EVERY` steps], ...] ([] if none)."""
    path = Path(run_dir) / "curve.csv"
    if not path.is_file():
        return []
    return [[int(a), float(b)] for a, b in (line.split(",") for line in path.read_text().splitlines()[1:])]


def train_grid(run_root: str | Path, cfg: TrainConfig, nets: dict[str, ArchSpec],
               seeds: list[int] | dict[str, list[int]], data: str,
               data_root: str | Path | None, views: list[str], *, cache_dir: str | Path | None = None,
               processes: int = 1) -> pd.DataFrame:
    """`train_and_test` for every (net, seed) (`seeds` for every net, or per net): run folders
    `run_root/<net>/seed<s>` (the net's name made file-safe: ASCII letters, digits and -_. kept); one row per run,
    in (net, seed) order, with the net's key under "net". Finished runs are read back, interrupted ones resumed.
    `processes` > 1 trains that many runs at a time, each in its own process with one compute thread (on 2 cores,
    two 1-thread runs train ~1.3x more clips/s than one 2-thread run); runs are started seed by seed, so an
    interrupted grid has every net at its first seeds."""
    per_net = seeds if isinstance(seeds, dict) else {net: seeds for net in nets}
    jobs = []
    for s in sorted({s for net in nets for s in per_net[net]}):
        for net, spec in nets.items():
            if s not in per_net[net]:
                continue
            folder = "".join(c if c.isascii() and c.isalnum() or c in "-_." else "-" for c in net)
            jobs.append((net, s, (Path(run_root) / folder / f"seed{s}", replace(cfg, seed=s), spec, data,
                                  data_root, views, cache_dir)))
    if processes > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(processes, initializer=_one_thread) as pool:
            results = pool.starmap(_run, [j[2] for j in jobs], chunksize=1)
    else:
        results = [_run(*j[2]) for j in jobs]
    rows = {(net, s): {"net": net, **row} for (net, s, _), row in zip(jobs, results, strict=True)}
    return pd.DataFrame([rows[net, s] for net in nets for s in per_net[net]])


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _run(run_dir, cfg, spec, data, data_root, views, cache_dir) -> dict[str, Any]:
    return train_and_test(run_dir, cfg, spec, data, data_root, views, cache_dir=cache_dir)


_MACHINE = ("device", "workers")  # where a run executed, not what it computed


def _check_same_run(path: Path, row: dict[str, Any], spec: ArchSpec, cfg: TrainConfig,
                    sizes: dict[str, int]) -> None:
    """A cached result must come from the same network, recipe and data (the classifier's width is set by the
    data; rows written before the data sizes were recorded are accepted on network and recipe alone)."""
    overridden = (("act",) if cfg.act is not None else ()) + (("se_ratio",) if cfg.se is not None else ())

    def net(d: dict[str, Any]) -> dict[str, Any]:
        return ArchSpec.network(d, ("num_classes", *overridden))

    def recipe(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in json.loads(json.dumps(TrainConfig.filled(d))).items() if k not in _MACHINE}

    if net(row["spec"]) != net(spec.to_dict()):
        raise ValueError(f"{path} is a run of another network than {spec.name!r}; delete its folder or use "
                         "another runs_dir")
    was, now = recipe(row["recipe"]), recipe(asdict(cfg))
    if was != now:
        diff = sorted(k for k, v in now.items() if was.get(k) != v)
        raise ValueError(f"{path} was trained with another recipe ({', '.join(diff)} differ); delete its folder "
                         "or use another runs_dir")
    changed = [k for k, v in sizes.items() if k in row and row[k] != v]
    if changed:
        what = ", ".join(f"{k} {row[k]}, now {sizes[k]}" for k in changed)
        raise ValueError(f"{path} was trained on other data ({what}); delete its folder or use another runs_dir")


def long_views(rows: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    """One row per (run, view protocol) instead of one `top1[<views>]`/`top5[<views>]` column pair per protocol:
    the columns `keep`, then "views" (e.g. "2-LeftCenterRight"), "top1" and "top5"."""
    names = [c[len("top1["):-1] for c in rows.columns if c.startswith("top1[") and c.endswith("]")]
    if not names:
        raise ValueError("no top1[<views>] columns: were the runs tested (train_and_test's `views`)?")
    parts = [rows[keep].assign(views=v, top1=rows[f"top1[{v}]"], top5=rows.get(f"top5[{v}]")) for v in names]
    return pd.concat(parts, ignore_index=True)


def read_rows(root: str | Path) -> pd.DataFrame:
    """Every result row under `root` (`<net>/seed<s>/result.json`, as `train_grid` writes them), with the run
    folder's net under "net" (several nets may share a spec name, e.g. E3D-S with and without a stem conv)."""
    paths = sorted(Path(root).glob("*/seed*/result.json"))
    return pd.DataFrame([{"net": p.parent.parent.name, **json.loads(p.read_text())} for p in paths])


def seed_sds(rows: pd.DataFrame, metric: str) -> pd.Series:
    """The seed-to-seed sd of `metric` per net, over its runs that did not collapse (nets with >= 2 such runs)."""
    if rows.empty:
        return pd.Series(dtype=float)
    ok = rows[~rows["collapsed"].fillna(False).astype(bool)]
    return ok.groupby("net")[metric].std(ddof=1).dropna()
