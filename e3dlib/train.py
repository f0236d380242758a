"""Training on 1 CPU, 1 GPU or many processes (torchrun + DistributedDataParallel), resumable anywhere.

    python -m e3dlib train --arch e3d-s --data something-like --frames 8 --size 64 --epochs 10 --out runs/a
    torchrun --nproc_per_node 2 -m e3dlib train ...            # gloo on CPU, nccl on GPU

Recipe (paper §4 / App. G): SGD with momentum and weight decay, linear warm-up then cosine decay, optional
label smoothing, dropout before the classifier, BN -> SyncBatchNorm under DDP on GPUs, bf16 autocast and
channels-last-3d where the device benefits, optional gradient clipping.

Never lose work: `last.pt` is written atomically (temp file + rename) after every epoch and when SIGINT or
SIGTERM arrives (then the run stops after the current step); `--resume` continues from it exactly -- model,
optimizer, step, RNG states, the data order of the interrupted epoch -- so a resumed CPU run reproduces the
uninterrupted one's metrics. A non-finite loss stops the run with a message and keeps the last good checkpoint.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm import tqdm

from .data.datasets import collate
from .model import build_model
from .recipe import RECIPES, TrainConfig, TrainError, with_recipe  # noqa: F401 (re-exported)
from .spec import ArchSpec


def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Linear warm-up from base_lr/100 to base_lr, then half-cosine decay to 0 at total_steps."""
    if warmup_steps and step < warmup_steps:
        return base_lr * (0.01 + 0.99 * step / warmup_steps)
    t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


# --- data order and per-sample randomness -------------------------------------------------------------------


class EpochSampler(Sampler):
    """A seeded permutation per epoch, sharded over ranks, that can start mid-epoch (for exact resume).

    Yields (index, sample_seed) so that each sample's augmentation depends only on (seed, epoch, index), not on
    which worker or process loads it.
    """

    def __init__(self, n: int, seed: int, rank: int = 0, world: int = 1, shuffle: bool = True) -> None:
        self.n, self.seed, self.rank, self.world, self.shuffle = n, seed, rank, world, shuffle
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0, batch_size: int = 1) -> None:
        self.epoch, self.start = epoch, start_batch * batch_size

    def indices(self) -> list[int]:
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle
                 else np.arange(self.n))
        per_rank = math.ceil(self.n / self.world)
        order = np.resize(order, per_rank * self.world)  # pad by wrapping so every rank gets as many samples
        return order[self.rank::self.world].tolist()

    def __iter__(self):
        for i in self.indices()[self.start:]:
            yield i, int(np.random.default_rng([self.seed, self.epoch, i]).integers(2 ** 31))

    def __len__(self) -> int:
        return len(self.indices()) - self.start


class Seeded(Dataset):
    """Calls `dataset[index]` with Python/NumPy/torch RNGs seeded from the sampler's per-sample seed."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: tuple[int, int]) -> Any:
        index, seed = item
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        return self.dataset[index]


# --- distributed ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _device(cfg: TrainConfig, d: Dist) -> torch.device:
    if cfg.device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TrainError("--device cuda given but no CUDA device is visible; use --device cpu")
        return torch.device("cuda", d.local_rank)
    return torch.device("cpu")


# --- checkpoints ---------------------------------------------------------------------------------------------


def save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def rng_state() -> dict[str, Any]:
    s = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def set_rng_state(s: dict[str, Any]) -> None:
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    torch.set_rng_state(s["torch"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


# --- the loop ------------------------------------------------------------------------------------------------


@dataclass
class _Stop:
    requested: str = ""

    def __call__(self, signum: int, frame: Any) -> None:
        self.requested = signal.Signals(signum).name


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def train(cfg: TrainConfig, spec: ArchSpec, train_set: Dataset, val_set: Dataset | None, out: str | Path, *,
          resume: bool = False, num_classes: int | None = None, progress: bool | None = None,
          stop_after_steps: int = 0) -> dict[str, Any]:
    """Train `spec` on `train_set` ((clip (C,T,H,W), label) items); evaluate on `val_set` each epoch.

    Writes out/last.pt, out/best.pt, out/metrics.csv, out/metrics.json and out/run.json; returns the last
    epoch's metrics and, under "model", the trained module. `stop_after_steps` simulates an interruption.
    """
    out = Path(out)
    d = init_distributed(cfg.device)
    dev = _device(cfg, d)
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    if resume and not last.is_file():
        raise TrainError(f"{last}: nothing to resume (no checkpoint); run without --resume")
    if not resume and last.is_file():
        raise TrainError(f"{out} already holds a run (last.pt); pass --resume to continue it or choose another --out")

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    overrides = {k: v for k, v in (("act", cfg.act or None), ("se", None if cfg.se < 0 else cfg.se)) if v is not None}
    model = build_model(spec.with_input(cfg.frames, cfg.size), num_classes=num_classes, dropout=cfg.dropout,
                        **overrides).to(dev)
    if d.world > 1 and dev.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    memory_format = torch.channels_last_3d if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                          nesterov=False)

    sampler = EpochSampler(len(train_set), cfg.seed, d.rank, d.world)
    per_rank_batch = max(1, cfg.batch_size // d.world)
    loader = DataLoader(Seeded(train_set), batch_size=per_rank_batch, sampler=sampler, num_workers=cfg.workers,
                        collate_fn=collate, drop_last=True, persistent_workers=False,
                        generator=torch.Generator().manual_seed(cfg.seed))
    steps_per_epoch = len(sampler.indices()) // per_rank_batch
    if steps_per_epoch == 0:
        raise TrainError(f"{len(train_set)} training clips give no full batch of {per_rank_batch}; lower --batch-size")
    total = cfg.epochs * steps_per_epoch
    warmup = int(cfg.warmup_epochs * steps_per_epoch)

    state = {"epoch": 0, "step": 0, "batch_in_epoch": 0, "best_top1": -1.0, "history": []}
    if resume:
        ck = torch.load(last, map_location=dev, weights_only=False)
        if ck["config"] != asdict(cfg):
            changed = sorted(k for k in ck["config"] if ck["config"][k] != asdict(cfg).get(k))
            raise TrainError(f"{last}: was written with other options ({', '.join(changed)}); "
                             "resume with the same ones")
        _unwrap(model).load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        set_rng_state(ck["rng"])
    if d.world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[d.local_rank] if dev.type == "cuda" else None)
    if d.main:
        (out / "run.json").write_text(json.dumps({"config": asdict(cfg), "arch": spec.to_dict(), "world": d.world,
                                                  "num_classes": num_classes, "torch": torch.__version__},
                                                 indent=2) + "\n")

    stop = _Stop()
    old_handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.bf16)
    show = d.main if progress is None else (progress and d.main)
    metrics: dict[str, Any] = {}
    try:
        while state["epoch"] < cfg.epochs:
            epoch = state["epoch"]
            sampler.set_epoch(epoch, state["batch_in_epoch"], per_rank_batch)
            if hasattr(train_set, "set_epoch"):  # video datasets draw augmentation from (seed, epoch, index)
                train_set.set_epoch(epoch)
            loader.generator.manual_seed(cfg.seed * 1000 + epoch)
            model.train()
            t0, seen = time.perf_counter(), 0
            state.setdefault("partial", [0.0, 0.0, 0.0])  # loss*n, correct, n of this epoch on this rank
            bar = tqdm(loader, total=steps_per_epoch - state["batch_in_epoch"], disable=not show, leave=False,
                       desc=f"epoch {epoch + 1}/{cfg.epochs}", mininterval=1.0)
            for batch in bar:
                if batch is None:
                    continue
                x, y = batch[0].to(dev, non_blocking=True), batch[1].to(dev, non_blocking=True)
                x = x.contiguous(memory_format=memory_format)
                lr = lr_at(state["step"], total, warmup, cfg.lr)
                for g in opt.param_groups:
                    g["lr"] = lr
                with autocast:
                    logits = model(x)
                    loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
                if not torch.isfinite(loss):
                    raise TrainError(f"non-finite loss ({loss.item()}) at epoch {epoch + 1}, step {state['step']}; "
                                     f"the last good checkpoint is kept in {last}. Lower --lr or set --grad-clip")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                n = y.numel()
                part = state["partial"]
                part[0] += loss.item() * n
                part[1] += (logits.argmax(1) == y).sum().item()
                part[2] += n
                state["step"] += 1
                state["batch_in_epoch"] += 1
                seen += n
                bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.4f}",
                                clips_s=f"{seen * d.world / (time.perf_counter() - t0):.1f}")
                hit_max = cfg.max_steps and state["step"] >= cfg.max_steps
                if stop.requested or (stop_after_steps and state["step"] >= stop_after_steps) or hit_max:
                    break
            bar.close()
            if state["batch_in_epoch"] < steps_per_epoch:  # interrupted mid-epoch
                why = stop.requested or ("--max-steps" if cfg.max_steps else "stop_after_steps")
                if d.main:
                    _save(last, model, opt, state, cfg)
                    print(f"stopped by {why} at epoch {epoch + 1}, step {state['step']}; checkpoint {last}; "
                          f"continue with --resume", file=sys.stderr)
                return {"interrupted": why, **state, "model": _unwrap(model)}
            totals = _all_reduce(np.array(state.pop("partial")), d)
            metrics = {"epoch": epoch + 1, "step": state["step"], "lr": lr_at(state["step"], total, warmup, cfg.lr),
                       "train_loss": totals[0] / max(1, totals[2]), "train_top1": totals[1] / max(1, totals[2]),
                       "train_clips": int(totals[2]), "seconds": time.perf_counter() - t0}
            if val_set is not None:
                from .evaluate import evaluate_model

                ev = evaluate_model(_unwrap(model), val_set, dev, batch_size=per_rank_batch, workers=cfg.workers,
                                    bf16=cfg.bf16, memory_format=memory_format, dist_info=d, progress=False)
                metrics.update(val_top1=ev["top1"], val_top5=ev["top5"], val_clips=ev["clips"])
            state["epoch"] += 1
            state["batch_in_epoch"] = 0
            state["history"].append(metrics)
            top1 = metrics.get("val_top1", metrics["train_top1"])
            improved = top1 > state["best_top1"]
            state["best_top1"] = max(top1, state["best_top1"])
            if d.main:
                _write_metrics(out, state["history"])
                if improved:
                    _save(out / "best.pt", model, opt, state, cfg)
                _save(last, model, opt, state, cfg)
            if stop.requested or cfg.max_steps and state["step"] >= cfg.max_steps:
                break
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
    if not metrics and state["history"]:  # resumed a run that had already finished
        metrics = state["history"][-1]
    return {**metrics, "model": _unwrap(model)}


def _all_reduce(values: np.ndarray, d: Dist) -> np.ndarray:
    if d.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.numpy()


def _save(path: Path, model: nn.Module, opt: torch.optim.Optimizer, state: dict, cfg: TrainConfig) -> None:
    m = _unwrap(model)
    save_atomic({"model": m.state_dict(), "optimizer": opt.state_dict(), "state": state, "rng": rng_state(),
                 "config": asdict(cfg), "arch": m.spec.to_dict()}, path)


def _write_metrics(out: Path, history: list[dict[str, Any]]) -> None:
    keys = list(dict.fromkeys(k for h in history for k in h))
    tmp = out / "metrics.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, out / "metrics.csv")
    (out / "metrics.json").write_text(json.dumps(history, indent=2) + "\n")


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The trained network stored in a checkpoint (architecture from the checkpoint itself) and the
    training configuration it was trained with, from one read of the file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such checkpoint")
    ck = torch.load(p, map_location=device, weights_only=False)
    spec = ArchSpec.from_dict(ck["arch"])
    model = build_model(spec, dropout=ck["config"].get("dropout", 0.5))
    model.load_state_dict(ck["model"])
    return model.to(device).eval(), ck["config"]
