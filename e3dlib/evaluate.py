"""Evaluation with multi-view testing (paper §4): K temporal clips x 1 (K-Center) or 3 (K-LeftCenterRight)
spatial crops per video, softmax scores averaged over the views; top-1/top-5, per-class accuracy and the
confusion matrix; per-video top-k predictions (`prediction_rows`, `write_predictions`), also of splits without
labels. Works in a torchrun process group: each rank scores a shard, the scores are gathered.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from .data.datasets import collate
from .dist import Dist, all_gather


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose label is among the k highest scores."""
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean()) if len(labels) else float("nan")


def summarize(scores: np.ndarray, labels: np.ndarray, num_classes: int) -> dict[str, Any]:
    """top1/top5, per-class accuracy (NaN for classes without clips) and the confusion matrix (rows = truth)."""
    pred = scores.argmax(1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, pred), 1)
    support = confusion.sum(1)
    per_class = np.where(support > 0, np.diag(confusion) / np.maximum(support, 1), np.nan)
    return {"top1": topk_accuracy(scores, labels, 1), "top5": topk_accuracy(scores, labels, 5),
            "clips": int(len(labels)), "per_class": per_class.tolist(), "confusion": confusion.tolist()}


@dataclass(frozen=True)
class VideoScores:
    """Softmax scores of videos, averaged over each one's views, in dataset order (unreadable videos left out)."""

    index: np.ndarray  # (N,) each row's index in the dataset
    scores: np.ndarray  # (N, K)
    labels: np.ndarray  # (N,) int64; -1 where the split has no label (e.g. Something-Something's test split)
    views: int  # views per video

    @property
    def labelled(self) -> bool:
        """True when every video has a label (none is -1)."""
        return bool((self.labels >= 0).all())


class _Indexed(Dataset):
    """(x, label, index) for each item of `dataset`; None stays None (a dropped video)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Any:
        item = self.dataset[i]
        return None if item is None else (item[0], item[1], i)


@torch.no_grad()
def score_videos(model: nn.Module, dataset: Dataset, device: torch.device | str = "cpu", *, batch_size: int = 8,
                 workers: int = 0, bf16: bool = False, memory_format: torch.memory_format = torch.contiguous_format,
                 dist_info: Dist | None = None, progress: bool | None = None) -> VideoScores:
    """Score every item of `dataset`: (clip (C,T,H,W) | views (V,C,T,H,W), label). Softmax averaged over V; in a
    process group each rank scores a shard and every rank gets all the scores."""
    from tqdm import tqdm

    d = dist_info or Dist()
    device = torch.device(device)
    was_training = model.training
    model.eval()
    shard = Subset(_Indexed(dataset), list(range(d.rank, len(dataset), d.world)))
    loader = DataLoader(shard, batch_size=batch_size, num_workers=workers, collate_fn=collate)
    all_scores, all_labels, all_index, views = [], [], [], 1
    hide = (None if progress is None else not progress) if d.main else True  # None: only on a terminal
    for batch in tqdm(loader, disable=hide, desc="evaluate", leave=False, mininterval=1.0):
        if batch is None:
            continue
        x, y = batch[0].to(device), batch[1]
        if x.dim() == 6:  # (B, V, C, T, H, W)
            b, views = x.shape[:2]
            x = x.flatten(0, 1)
        else:
            b = x.shape[0]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(x.contiguous(memory_format=memory_format)).float()
        probs = logits.softmax(-1).view(b, -1, logits.shape[-1]).mean(1)
        all_scores.append(probs.cpu().numpy())
        all_labels.append(np.asarray(y))
        all_index.append(np.asarray(batch[2]))
    model.train(was_training)
    num_classes = model.head.classifier.out_features
    scores = np.concatenate(all_scores) if all_scores else np.zeros((0, num_classes))
    labels = np.concatenate(all_labels) if all_labels else np.zeros(0, dtype=np.int64)
    index = np.concatenate(all_index) if all_index else np.zeros(0, dtype=np.int64)
    if d.world > 1:
        parts = all_gather((index, scores, labels), d)
        index, scores, labels = (np.concatenate([g[k] for g in parts]) for k in range(3))
        order = np.argsort(index, kind="stable")
        index, scores, labels = index[order], scores[order], labels[order]
    return VideoScores(index.astype(np.int64), scores, labels.astype(np.int64), views)


def evaluate_model(model: nn.Module, dataset: Dataset, device: torch.device | str = "cpu", *, batch_size: int = 8,
                   workers: int = 0, bf16: bool = False, memory_format: torch.memory_format = torch.contiguous_format,
                   dist_info: Dist | None = None, progress: bool | None = None) -> dict[str, Any]:
    """`summarize` of `score_videos` (same arguments) and "views"; a split without labels is a ValueError (take
    its per-video predictions from `score_videos` and `prediction_rows`)."""
    s = score_videos(model, dataset, device, batch_size=batch_size, workers=workers, bf16=bf16,
                     memory_format=memory_format, dist_info=dist_info, progress=progress)
    if not s.labelled:
        raise ValueError("this split has no labels (label -1, e.g. the Something-Something test set); "
                         "evaluate on the validation split, or write per-video predictions")
    return {**summarize(s.scores, s.labels, s.scores.shape[1]), "views": s.views}


def prediction_rows(s: VideoScores, ids: Sequence[str], classes: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
    """Per scored video: {"video": its id (`ids` by dataset index), "truth": its class name or None (unlabelled),
    "top": [{"class", "label", "probability"}, ...] highest first} (the format of `e3dlib.deploy.predict`)."""
    k = min(top, s.scores.shape[1])
    best = np.argsort(-s.scores, axis=1, kind="stable")[:, :k]
    return [{"video": ids[i], "truth": classes[y] if y >= 0 else None,
             "top": [{"class": int(c), "label": classes[c], "probability": float(row[c])} for c in cols]}
            for i, y, row, cols in zip(s.index, s.labels, s.scores, best, strict=True)]


def write_predictions(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """`prediction_rows` as a JSON list (path ending .json) or CSV (otherwise): video, truth, then label_i and
    probability_i for i = 1..k."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, indent=1) + "\n")
        return
    k = max((len(r["top"]) for r in rows), default=0)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video", "truth"] + [f"{c}_{i}" for i in range(1, k + 1) for c in ("label", "probability")])
        for r in rows:
            top = [v for t in r["top"] for v in (t["label"], f"{t['probability']:.6g}")]
            w.writerow([r["video"], r["truth"] or "", *top])
