"""torch Datasets over any source (`ssv1:` `ssv2:` `k400:` `folder:` `something-like` `kinetics-like`).

    ds = build_dataset("something-like", "train", ClipConfig(frames=8, stride=2, crop=64))
    for x, y in make_loader(ds, batch_size=16): ...     # x: (B, C, T, H, W) float32, y: (B,) int64
    ev = build_dataset("ssv2:/data/ssv2", "val", clip, views=Views(10, 3))   # x: (B, 30, C, T, H, W)

Training samples take their randomness from `np.random.default_rng([seed, epoch, index])`; call `set_epoch`
before each epoch (workers see the value the dataset had when the loader's iterator started).

Bad videos (corrupt, truncated, empty, unreadable) never stop an epoch: each is skipped with a `DataWarning`
naming the file and the reason, marked in a bitmap shared with the loader's worker processes (`num_skipped`,
`skipped_paths()`), and never read again. What replaces it depends on `on_bad`:
    replace   (training default) the next readable video in index order, so batches keep their size
    drop      (testing default) `None`; the loader's `collate` drops it, so every video is evaluated at most once
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from .layouts import Annotations, DataError, Source, load_annotations
from .transforms import ClipConfig, Views, eval_boxes, eval_indices, flip_decision, to_tensor, train_box, train_indices
from .video import VideoDecodeError, read_clip


class DataWarning(UserWarning):
    """A video was skipped (or listed videos are missing); the message says which and why."""


def default_workers() -> int:
    """DataLoader workers by default: the usable CPU cores, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


class VideoDataset(Dataset):
    """Clips of one split. Training: (C, T, crop, crop) and the (possibly flip-swapped) label; testing:
    (views, C, T, crop, crop) with views ordered clip-major (clip 0: crops..., clip 1: ...) and the label."""

    def __init__(self, ann: Annotations, clip: ClipConfig | None = None, train: bool = True,
                 views: Views | None = None, seed: int = 0, cache_dir: str | Path | None = None,
                 on_bad: str | None = None) -> None:
        self.ann, self.clip, self.train = ann, clip or ClipConfig(), train
        self.views, self.seed = views or Views(), seed
        self.cache_dir = None if cache_dir is None else str(_cache_folder(Path(cache_dir)))
        self.on_bad = on_bad or ("replace" if train else "drop")
        if self.on_bad not in ("replace", "drop"):
            raise DataError(f"on_bad must be 'replace' or 'drop', got {self.on_bad!r}")
        self.epoch = 0
        self._bad = mp.RawArray(ctypes.c_uint8, max(len(ann.records), 1))
        if ann.missing:
            warnings.warn(f"{len(ann.missing)} video(s) of {ann.kind}:{ann.root} {ann.split} are listed but not on "
                          f"disk (first: {ann.missing[0]}); they are left out", DataWarning, stacklevel=2)

    @property
    def classes(self) -> tuple[str, ...]:
        """The class names; a label is an index into them."""
        return self.ann.classes

    @property
    def num_classes(self) -> int:
        """The number of classes of the source (not only those present in this split)."""
        return len(self.ann.classes)

    def __len__(self) -> int:
        return len(self.ann.records)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that training samples' randomness depends on; call it before each epoch."""
        self.epoch = epoch

    @property
    def num_skipped(self) -> int:
        """Videos found unreadable so far (in this process and the loader's workers)."""
        return int(np.frombuffer(self._bad, dtype=np.uint8)[: len(self)].sum())

    def skipped_paths(self) -> list[str]:
        """The paths of the videos found unreadable so far, in index order."""
        bad = np.flatnonzero(np.frombuffer(self._bad, dtype=np.uint8)[: len(self)])
        return [self.ann.records[i].path for i in bad]

    def __getitem__(self, index: int):
        n = len(self)
        if not 0 <= index < n:  # also ends `for clip, label in dataset`
            raise IndexError(f"index {index} out of range for {n} videos")
        for k in range(n):
            j = (index + k) % n
            if not self._bad[j]:
                try:
                    return self._sample(j, index)
                except VideoDecodeError as e:
                    self._bad[j] = 1
                    warnings.warn(f"skipping {self.ann.records[j].path}: {e}", DataWarning, stacklevel=2)
            if self.on_bad == "drop":
                return None
        raise DataError(f"{self.ann.kind}:{self.ann.root} {self.ann.split}: none of the {n} videos is readable")

    def _sample(self, j: int, index: int):
        rec, cfg = self.ann.records[j], self.clip
        if self.train:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            frames = read_clip(rec.path, lambda n: train_indices(n, cfg, rng), self.cache_dir)
            box = train_box(frames.shape[1], frames.shape[2], cfg, rng)
            flip, label = flip_decision(rec.label, cfg, self.ann.flip_pairs, self.ann.directional,
                                        bool(rng.random() < 0.5))
            return to_tensor(frames, box, cfg, flip), label
        return test_views(rec.path, cfg, self.views, self.cache_dir), rec.label


def test_views(path: str | Path, clip: ClipConfig, views: Views, cache_dir: str | Path | None = None) -> torch.Tensor:
    """The test views of one video, (views, C, T, crop, crop) ordered clip-major (the multi-view protocol of
    `evaluate`); raises `VideoDecodeError` for a video that cannot be read."""
    k = views.clips
    frames = read_clip(path, lambda n: np.concatenate(eval_indices(n, clip, k)), cache_dir)
    boxes = eval_boxes(frames.shape[1], frames.shape[2], clip, views.crops)
    return torch.stack([to_tensor(c, b, clip) for c in np.split(frames, k) for b in boxes])


def _cache_folder(path: Path) -> Path:
    """Checked once, before any clip is read (a bad folder would otherwise skip every clip, one by one)."""
    if path.exists() and not path.is_dir():
        raise DataError(f"--cache-dir {path} is a file, not a folder; choose another --cache-dir")
    path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataError(f"--cache-dir {path} is not writable; choose another --cache-dir")
    return path


def build_dataset(source: str | Source, split: str, clip: ClipConfig | None = None, train: bool | None = None,
                  views: Views | None = None, seed: int = 0, cache_dir: str | Path | None = None,
                  root: str | Path | None = None, on_bad: str | None = None) -> VideoDataset:
    """A `VideoDataset` for one split of a source string; `train` defaults to split == "train"; `root` is the
    data root of the generated names (default $E3D_DATA_ROOT or data/generated)."""
    ann = load_annotations(source, split, root)
    return VideoDataset(ann, clip, ann.split == "train" if train is None else train, views, seed, cache_dir, on_bad)


def collate(batch: list):
    """default_collate without the `None`s of dropped videos; `None` when nothing is left."""
    batch = [b for b in batch if b is not None]
    return default_collate(batch) if batch else None


def make_loader(ds: VideoDataset, batch_size: int, shuffle: bool | None = None, workers: int | None = None,
                seed: int = 0, drop_last: bool | None = None) -> DataLoader:
    """A DataLoader with `collate`, `default_workers()` processes and a seeded shuffle (training by default)."""
    workers = default_workers() if workers is None else workers
    shuffle = ds.train if shuffle is None else shuffle
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, num_workers=workers, collate_fn=collate,
                      drop_last=ds.train if drop_last is None else drop_last,
                      generator=torch.Generator().manual_seed(seed), persistent_workers=False,
                      multiprocessing_context="fork" if workers and "fork" in mp.get_all_start_methods() else None)
