"""Write the synthetic benchmarks as real video datasets in the real layouts.

    something-like -> Something-Something V2: OUT/20bn-something-something-v2/<id>.webm (VP9) and
                      something-something-v2-{labels,train,validation,test}.json
    motion         -> the same layout: something-like with `MOTION_SETTINGS` as its defaults (the motion benchmark
                      of the studies: the ten pure-motion classes, which come in time-reversed pairs, in a plain
                      scene at 48x64), read back as ssv2:OUT or as the generated name `motion`
    kinetics-like  -> Kinetics-400: OUT/{train,val,test}.csv and
                      OUT/<split>/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4 (H.264; `flat`: OUT/<split>/...)

Video i is a pure function of (seed, i): its split (i % 10 == 8: val, 9: test, else train), its label (cycling
through the classes within each split, so splits are balanced), its file name and its frames. Generation runs in
`workers` processes with a progress bar (on a terminal); it is idempotent (files that exist and decode to the
expected shape are kept) and deterministic (single-threaded encoders: the same seed gives identical files).
OUT/e3d-synthetic.json records kind, seed and configuration; generating into a folder made with other settings is
refused.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import string
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .layouts import NAMES, SSV2_DIR, DataError, k400_stem, write_k400, write_ssv2
from .synthetic import (
    MOTION_SETTINGS,
    SOMETHING_CLASSES,
    KineticsConfig,
    SomethingConfig,
    kinetics_classes,
    render_kinetics,
    render_something,
)
from .video import VideoDecodeError, read_clip, write_video

MANIFEST = "e3d-synthetic.json"
CONFIGS = {"something-like": SomethingConfig, "motion": SomethingConfig, "kinetics-like": KineticsConfig}
PRESET_SETTINGS = {"motion": MOTION_SETTINGS}


def is_something(kind: str) -> bool:
    """Kinds written in the Something-Something V2 layout by `render_something`."""
    return CONFIGS.get(kind) is SomethingConfig


@dataclass(frozen=True)
class Item:
    """One video to write: where, and its annotation."""

    index: int
    split: str
    label: int
    path: str  # relative to OUT
    key: str  # SSv2 id or Kinetics youtube_id
    start: int = 0
    end: int = 0


def split_of(index: int) -> str:
    """The split of video `index`: "val" when index % 10 == 8, "test" when 9, else "train"."""
    return {8: "val", 9: "test"}.get(index % 10, "train")


def label_of(index: int, num_classes: int) -> int:
    """Position of the video within its split, modulo the number of classes."""
    block, r = divmod(index, 10)
    pos = block * 8 + r if r < 8 else block
    return pos % num_classes


def plan(kind: str, n: int, seed: int, cfg: SomethingConfig | KineticsConfig, flat: bool = False) -> list[Item]:
    """The videos 0..n-1 of a generated dataset, without rendering them."""
    classes = class_names(kind, cfg)
    items = []
    for i in range(n):
        split, y = split_of(i), label_of(i, len(classes))
        if is_something(kind):
            key = str(i + 1)
            items.append(Item(i, split, y, f"{SSV2_DIR}/{key}.webm", key))
        else:
            meta = np.random.default_rng([seed, i, 1])
            chars = string.ascii_letters + string.digits + "-_"
            yid = "".join(chars[c] for c in meta.integers(0, len(chars), 11))
            start = int(meta.integers(0, 290))
            stem = k400_stem(yid, start, start + 10)
            folder = split if flat else f"{split}/{classes[y]}"
            items.append(Item(i, split, y, f"{folder}/{stem}.mp4", yid, start, start + 10))
    return items


def class_names(kind: str, cfg: SomethingConfig | KineticsConfig) -> tuple[str, ...]:
    """The class names of a generated kind: the first `cfg.classes` something-like classes, or kinetics-like's."""
    return SOMETHING_CLASSES[:cfg.classes] if is_something(kind) else kinetics_classes(cfg.classes)


def render(kind: str, cfg: SomethingConfig | KineticsConfig, seed: int, item: Item) -> np.ndarray:
    """The frames of `item`, uint8 (T, H, W, 3)."""
    fn = render_something if is_something(kind) else render_kinetics
    return fn(cfg, seed, item.index, item.label)[0]


def _valid(path: Path, cfg: SomethingConfig | KineticsConfig) -> bool:
    try:
        clip = read_clip(path)
    except VideoDecodeError:
        return False
    return clip.shape == (cfg.frames, cfg.height, cfg.width, 3)


def _make(job: tuple) -> str:
    kind, cfg, seed, item, out = job
    path = Path(out) / item.path
    if path.exists():
        if _valid(path, cfg):
            return "kept"
        status = "repaired"
    else:
        status = "written"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, render(kind, cfg, seed, item), fps=cfg.fps)
    return status


def make_config(kind: str, overrides: dict[str, str] | None = None) -> SomethingConfig | KineticsConfig:
    """The default configuration of `kind` (`PRESET_SETTINGS` applied) with fields overridden from strings
    (e.g. {"noise": "0.1"})."""
    if kind not in CONFIGS:
        raise DataError(f"unknown synthetic dataset {kind!r}: expected {' or '.join(CONFIGS)}")
    cls = CONFIGS[kind]
    types = {f.name: type(f.default) for f in fields(cls)}
    values = {}
    for key, text in {**PRESET_SETTINGS.get(kind, {}), **(overrides or {})}.items():
        if key not in types:
            raise DataError(f"{kind} has no setting {key!r} (settings: {', '.join(types)})")
        try:
            if types[key] is tuple:
                values[key] = tuple(float(x) for x in text.split(","))
            else:
                values[key] = types[key](text)
        except ValueError:
            raise DataError(f"{kind} setting {key}: cannot read {text!r} as {types[key].__name__}") from None
        numbers = values[key] if isinstance(values[key], tuple) else (values[key],)
        if any(isinstance(v, float) and not math.isfinite(v) for v in numbers):
            raise DataError(f"{kind} setting {key}: {text!r} is not a finite number")
    return cls(**values)


def generate(kind: str, out: str | Path, videos: int, seed: int = 0, workers: int = 2,
             cfg: SomethingConfig | KineticsConfig | None = None, flat: bool = False,
             progress: bool | None = None) -> dict[str, int]:
    """Write `videos` clips and the annotation files to `out`; returns counts of written / kept / repaired."""
    if kind not in NAMES:
        raise DataError(f"unknown synthetic dataset {kind!r}: expected {' or '.join(NAMES)}")
    if videos < 1:
        raise DataError(f"--videos must be >= 1, got {videos}")
    cfg = cfg or make_config(kind)
    if is_something(kind) and flat:
        raise DataError("--flat applies to kinetics-like only")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file, not a folder; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"kind": kind, "seed": seed, "flat": flat, "config": asdict(cfg)}
    _check_manifest(out, manifest)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")  # first: an interrupted run can resume
    for tmp in out.rglob(".*.tmp*"):  # leftovers of an interrupted run
        if tmp.is_file():
            os.unlink(tmp)
    items = plan(kind, videos, seed, cfg, flat)
    jobs = [(kind, cfg, seed, it, str(out)) for it in items]
    counts = {"written": 0, "kept": 0, "repaired": 0}
    bar = tqdm(total=len(jobs), desc=f"{kind} -> {out}", unit="clip", file=sys.stderr,
               disable=None if progress is None else not progress)
    if workers <= 1:
        results = map(_make, jobs)
        pool = None
    else:
        pool = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else None).Pool(workers)
        results = pool.imap_unordered(_make, jobs, chunksize=max(1, min(16, len(jobs) // (8 * workers))))
    try:
        for status in results:
            counts[status] += 1
            bar.update()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    _write_annotations(kind, out, cfg, items)
    return counts


def _check_manifest(out: Path, manifest: dict) -> None:
    path = out / MANIFEST
    if not path.exists():
        if any(p.name != MANIFEST for p in out.iterdir()):
            raise DataError(f"{out} is not empty and holds no {MANIFEST}: choose an empty or new --out folder")
        return
    try:
        old = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: malformed JSON ({e.msg})") from None
    except (UnicodeDecodeError, RecursionError):
        raise DataError(f"{path}: not a generator manifest (binary or nested too deeply)") from None
    if not isinstance(old, dict):
        raise DataError(f"{path}: not a generator manifest (a JSON {type(old).__name__}, not an object); use another "
                        "--out folder or delete this one")
    old = {k: old.get(k) for k in manifest}
    if isinstance(old["config"], dict):  # settings added since that data was written hold their default values
        defaults = json.loads(json.dumps(asdict(make_config(manifest["kind"]))))
        old["config"] = {**{k: v for k, v in defaults.items() if k not in old["config"]}, **old["config"]}
    if json.loads(json.dumps(manifest)) != old:
        diff = [k for k in manifest if json.loads(json.dumps(manifest[k])) != old[k]]
        raise DataError(f"{out} holds data generated with other settings ({', '.join(diff)} differ, see {path}); "
                        "use another --out folder or delete this one")


def _write_annotations(kind: str, out: Path, cfg, items: list[Item]) -> None:
    classes = list(class_names(kind, cfg))
    splits: dict[str, list] = {"train": [], "val": [], "test": []}
    for it in items:
        if is_something(kind):
            n_obj = classes[it.label].lower().count("something")
            splits[it.split].append((it.key, it.label, ["a shape", "another shape"][:n_obj]))
        else:
            splits[it.split].append((it.key, it.label, it.start, it.end))
    if is_something(kind):
        write_ssv2(out, classes, splits)
    else:
        write_k400(out, classes, splits)
