"""Evaluation with multi-view testing (paper §4): K temporal clips x 1 (K-Center) or 3 (K-LeftCenterRight)
spatial crops per video, softmax scores averaged over the views; top-1/top-5, per-class accuracy and the
confusion matrix. Works in a torchrun process group: each rank scores a shard, rank 0 gathers.
"""

from __future__ import annotations

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


@torch.no_grad()
def evaluate_model(model: nn.Module, dataset: Dataset, device: torch.device | str = "cpu", *, batch_size: int = 8,
                   workers: int = 0, bf16: bool = False, memory_format: torch.memory_format = torch.contiguous_format,
                   dist_info: Dist | None = None, progress: bool = True) -> dict[str, Any]:
    """Score every item of `dataset`: (clip (C,T,H,W) | views (V,C,T,H,W), label). Softmax averaged over V."""
    from tqdm import tqdm

    d = dist_info or Dist()
    device = torch.device(device)
    was_training = model.training
    model.eval()
    shard = Subset(dataset, list(range(d.rank, len(dataset), d.world)))
    loader = DataLoader(shard, batch_size=batch_size, num_workers=workers, collate_fn=collate)
    all_scores, all_labels, views = [], [], 1
    for batch in tqdm(loader, disable=not (progress and d.main), desc="evaluate", leave=False, mininterval=1.0):
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
    num_classes = model.head.classifier.out_features
    scores = np.concatenate(all_scores) if all_scores else np.zeros((0, num_classes))
    labels = np.concatenate(all_labels) if all_labels else np.zeros(0, dtype=np.int64)
    if (labels < 0).any():
        raise ValueError("this split has no labels (label -1, e.g. the Something-Something test set); "
                         "evaluate on the validation split")
    if d.world > 1:
        gathered = all_gather((scores, labels), d)
        scores = np.concatenate([g[0] for g in gathered])
        labels = np.concatenate([g[1] for g in gathered])
    model.train(was_training)
    return {**summarize(scores, labels.astype(np.int64), num_classes), "views": views}
