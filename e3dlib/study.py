"""Trained-model studies (notebooks 03, 04, 06): many short training runs, cached on disk.

Each run lives in `runs_dir/<name>/` with the trainer's files plus `result.json`: one row with the run's spec,
seed, recipe, cost, scores and test metrics. `train_and_test` returns that row without training again when it
exists, resumes an interrupted run from its `last.pt`, and otherwise trains from scratch -- so re-running a
notebook re-uses finished runs and an interrupted study continues where it stopped.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .cost import macs, params
from .recipe import TrainConfig
from .scores import homo_entr, st_entr
from .spec import ArchSpec, SpecError

# The motion-dominated benchmark of notebooks 03 and 04: the ten pure-motion classes of something-like (each pair
# differs only in the order of frames) in a plain scene, and the proxy-scale size and training length, calibrated
# so that a 0.01-0.05-GMAC net learns it (well above chance, far from saturation) in about a minute per run
# on 2 CPU cores.
_MOTION_SETTINGS = {"classes": "10", "noise": "0.02", "clutter": "0", "distractors": "0", "jitter": "0",
                    "object_size": "0.3,0.45"}
MOTION: dict[str, Any] = {"overrides": _MOTION_SETTINGS, "classes": int(_MOTION_SETTINGS["classes"]),
                          "videos": 2000, "epochs": 2}


def make_benchmark(root: str | Path, videos: int, seed: int = 0, workers: int = 2) -> Path:
    """Generate (idempotently) the MOTION benchmark under `root/motion/something-like`; returns the data root to
    pass to `train_and_test` (`root/motion`)."""
    from .data.generate import generate, make_config

    out = Path(root) / "motion"
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
    from .data.datasets import build_dataset
    from .data.transforms import ClipConfig, Views
    from .evaluate import evaluate_model
    from .train import load_checkpoint, train

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
               "val_top1": metrics["val_top1"],
               "seconds": sum(h["seconds"] for h in json.loads((run_dir / "metrics.json").read_text())),
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


_MACHINE = ("device", "workers")  # where a run executed, not what it computed


def _check_same_run(path: Path, row: dict[str, Any], spec: ArchSpec, cfg: TrainConfig,
                    sizes: dict[str, int]) -> None:
    """A cached result must come from the same network, recipe and data (the classifier's width is set by the
    data; rows written before the data sizes were recorded are accepted on network and recipe alone)."""
    def net(d: dict[str, Any]) -> dict[str, Any]:
        d = {**json.loads(json.dumps(d)), "num_classes": None, "frames": None, "size": None, "name": None}
        if cfg.act:
            d["act"] = None
        if cfg.se >= 0:
            d["se_ratio"] = None
        return d

    def recipe(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in json.loads(json.dumps(d)).items() if k not in _MACHINE}

    if net(row["spec"]) != net(spec.to_dict()):
        raise ValueError(f"{path} is a run of another network than {spec.name!r}; delete its folder or use "
                         "another runs_dir")
    if recipe(row["recipe"]) != recipe(asdict(cfg)):
        diff = sorted(k for k, v in recipe(asdict(cfg)).items() if row["recipe"].get(k) != v)
        raise ValueError(f"{path} was trained with another recipe ({', '.join(diff)} differ); delete its folder "
                         "or use another runs_dir")
    changed = [k for k, v in sizes.items() if k in row and row[k] != v]
    if changed:
        what = ", ".join(f"{k} {row[k]}, now {sizes[k]}" for k in changed)
        raise ValueError(f"{path} was trained on other data ({what}); delete its folder or use another runs_dir")


def mean_std(rows: list[dict[str, Any]] | pd.DataFrame, by: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1) and count of `metrics` per group."""
    df = pd.DataFrame(rows)
    g = df.groupby(by, sort=False)[metrics]
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).add_suffix("_std")).join(g.size().rename("runs"))
    return out.reset_index()


def welch_t(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Welch's t statistic and two-sided p-value for mean(a) != mean(b): NaN when a group has < 2 runs or both
    are constant and equal; (+-inf, 0) when both are constant and differ."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan"), float("nan")
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # no variance at all: equal means, or perfectly separated groups
        return (float("nan"), float("nan")) if a[0] == b[0] else (math.copysign(math.inf, a[0] - b[0]), 0.0)
    r = stats.ttest_ind(a, b, equal_var=False)
    return float(r.statistic), float(r.pvalue)
