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
Checkpoints hold tensors and plain containers only and are read with `torch.load(weights_only=True)`, so a
crafted file cannot run code (`read_checkpoint`); `best_weights.pt` + `.json` hold the best net alone
(`e3dlib.model.load_weights`). Each finished run is checked for a collapse (`collapse_check`).
"""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
import random
import re
import signal
import sys
import time
from collections.abc import Callable
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
from .model import build_model, save_weights
from .recipe import RECIPES, TrainConfig, TrainError, check_device, with_recipe  # noqa: F401 (re-exported)
from .spec import ArchSpec, SpecError

CURVE_EVERY = 25  # steps per point of the training-loss curve (state["curve"], curve.csv)


def collapse_check(train_loss: float, num_classes: int, logit_std: float, *, margin: float = 0.05,
                   min_logit_std: float = 0.05) -> str | None:
    """Why a finished run counts as collapsed, or None: its training loss is within `margin` nats of ln K (the
    loss of a constant uniform prediction, with or without label smoothing: the plateau), or its logits barely
    vary between clips (mean over classes of the per-batch standard deviation below `min_logit_std`: dead units,
    a constant prediction). Studies flag such runs and never average them silently."""
    if train_loss > math.log(num_classes) - margin:
        return (f"plateau: training loss {train_loss:.3f} within {margin} of ln {num_classes} = "
                f"{math.log(num_classes):.3f}")
    if logit_std < min_logit_std:
        return f"constant logits: their std over clips is {logit_std:.3g} < {min_logit_std}"
    return None


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
    """cuda:N as given on one process; under torchrun each process takes its local rank's GPU."""
    check_device(cfg.device)
    if cfg.device.startswith("cuda"):
        return torch.device("cuda", d.local_rank if d.world > 1 else torch.device(cfg.device).index or 0)
    return torch.device("cpu")


# --- checkpoints ---------------------------------------------------------------------------------------------


def save_atomic(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def rng_state() -> dict[str, Any]:
    """The Python, NumPy, torch (and CUDA) RNG states as tensors and plain containers (weights-only loadable)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    s = {"python": random.getstate(), "torch": torch.get_rng_state(),
         "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                   "has_gauss": int(has_gauss), "gauss": float(gauss)}}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def set_rng_state(s: dict[str, Any]) -> None:
    random.setstate(s["python"])
    n = s["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(s["torch"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def read_checkpoint(path: str | Path, device: str | torch.device = "cpu", *, trust: bool = False) -> dict[str, Any]:
    """A checkpoint's contents, read with `torch.load(weights_only=True)`: tensors and plain containers only, so a
    crafted file cannot run code. Files that need full unpickling (e3dlib before weights-only checkpoints, other
    programs) are refused unless `trust` (`--trust-checkpoint`): only for files you made yourself."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such checkpoint")
    try:
        ck = torch.load(p, map_location=device, weights_only=not trust)
    except pickle.UnpicklingError as e:
        wanted = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if wanted is None or trust:
            raise TrainError(f"{p}: not a readable checkpoint (corrupt, truncated or not a torch file)") from None
        raise TrainError(f"{p}: holds objects other than tensors and plain containers ({wanted.group(1)}: an older "
                         "e3dlib checkpoint or another program's file), and loading it could run code; if you wrote "
                         "it yourself, pass --trust-checkpoint") from None
    except (RuntimeError, EOFError, ValueError, OSError, AttributeError, ImportError, TypeError):
        raise TrainError(f"{p}: not a readable checkpoint (corrupt, truncated or not a torch file)") from None
    if not isinstance(ck, dict):
        raise TrainError(f"{p}: not an e3dlib checkpoint (a {type(ck).__name__}, not a dict)")
    return ck


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
          stop_after_steps: int = 0, trust_checkpoint: bool = False,
          on_epoch: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train `spec` on `train_set` ((clip (C,T,H,W), label) items); evaluate on `val_set` each epoch.

    Writes out/last.pt, out/best.pt, out/best_weights.pt (+ .json: the net alone), out/metrics.csv,
    out/metrics.json, out/curve.csv (training loss every `CURVE_EVERY` steps) and out/run.json; returns the last
    epoch's metrics and, under "model", the trained module. `stop_after_steps` simulates an interruption;
    `trust_checkpoint` lets `resume` read a checkpoint that is not weights-only (see `read_checkpoint`);
    `on_epoch(metrics)` is called (on the main process) after each epoch's checkpoint is written.
    """
    out = Path(out)
    check_out(out)
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
                        branch_gamma=cfg.branch_gamma, **overrides).to(dev)
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

    state = {"epoch": 0, "step": 0, "batch_in_epoch": 0, "best_top1": -1.0, "history": [], "curve": []}
    if resume:
        ck = read_checkpoint(last, dev, trust=trust_checkpoint)
        _check_keys(last, ck, ("model", "optimizer", "state", "rng", "config", "arch"))
        if ArchSpec.network(ck["arch"]) != ArchSpec.network(_unwrap(model).spec.to_dict()):
            raise TrainError(f"{last} was trained for arch {ck['arch'].get('name')!r}, not {spec.name!r}; "
                             "resume with the same --arch or choose another --out")
        saved = TrainConfig.filled(ck["config"])
        if saved != asdict(cfg):
            changed = sorted(k for k in saved if saved[k] != asdict(cfg).get(k))
            raise TrainError(f"{last}: was written with other options ({', '.join(changed)}); "
                             "resume with the same ones")
        _unwrap(model).load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = {"curve": [], **ck["state"]}
        set_rng_state(ck["rng"])
    if d.world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[d.local_rank] if dev.type == "cuda" else None)
    if d.main:
        (out / "run.json").write_text(json.dumps({"command": "train", "config": asdict(cfg), "arch": spec.to_dict(),
                                                  "world": d.world,
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
            # loss*n, correct, n, sum of per-batch logit std, batches: this epoch on this rank
            part = state.setdefault("partial", [0.0, 0.0, 0.0, 0.0, 0.0])
            part.extend([0.0] * (5 - len(part)))  # checkpoints written before the logit std was tracked
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
                part[0] += loss.item() * n
                part[1] += (logits.argmax(1) == y).sum().item()
                part[2] += n
                part[3] += logits.detach().float().std(0).mean().item() if n > 1 else 0.0
                part[4] += 1
                window = state.setdefault("window", [0.0, 0])
                window[0] += loss.item()
                window[1] += 1
                state["step"] += 1
                state["batch_in_epoch"] += 1
                if state["step"] % CURVE_EVERY == 0:  # the training curve: mean loss of the last CURVE_EVERY steps
                    state["curve"].append([state["step"], window[0] / window[1]])
                    state["window"] = [0.0, 0]
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
            totals = [float(v) for v in _all_reduce(np.array(state.pop("partial")), d)]
            metrics = {"epoch": epoch + 1, "step": state["step"], "lr": lr_at(state["step"], total, warmup, cfg.lr),
                       "train_loss": totals[0] / max(1, totals[2]), "train_top1": totals[1] / max(1, totals[2]),
                       "train_clips": int(totals[2]), "train_logit_std": totals[3] / max(1, totals[4]),
                       "seconds": time.perf_counter() - t0}
            why = collapse_check(metrics["train_loss"], num_classes or _unwrap(model).spec.num_classes,
                                 metrics["train_logit_std"])
            metrics.update(collapsed=why is not None, collapse_reason=why)
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
                _write_metrics(out, state["history"], state["curve"])
                if improved:
                    _save(out / "best.pt", model, opt, state, cfg)
                    save_weights(_unwrap(model), out / "best_weights.pt")
                _save(last, model, opt, state, cfg)
                if on_epoch is not None:
                    on_epoch({**metrics, "best_top1": state["best_top1"], "improved": improved})
            if stop.requested or cfg.max_steps and state["step"] >= cfg.max_steps:
                break
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
    if not metrics and state["history"]:  # resumed a run that had already finished
        metrics = state["history"][-1]
    if stop.requested:  # the signal came during validation or checkpointing: the epoch's checkpoint is written
        if d.main:
            print(f"stopped by {stop.requested} after epoch {state['epoch']}; checkpoint {last}; continue with "
                  "--resume", file=sys.stderr)
        return {**metrics, "interrupted": stop.requested, "model": _unwrap(model)}
    return {**metrics, "model": _unwrap(model)}


def check_out(out: Path) -> None:
    """`out` must be a new folder or a training run's: never a file, a search's run or its checkpoint (checked
    before any work: `train` and the CLI call it first)."""
    if out.exists() and not out.is_dir():
        raise TrainError(f"--out {out} is a file, not a run folder; choose another --out")
    run = out / "run.json"
    other = (out / "checkpoint.json").exists()
    if run.is_file():
        try:
            other = other or json.loads(run.read_text()).get("command", "train") != "train"
        except (json.JSONDecodeError, AttributeError):
            other = True
    if other:
        raise TrainError(f"--out {out} holds another kind of run (not a training run); choose another --out")


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


def _write_metrics(out: Path, history: list[dict[str, Any]], curve: list[list[float]]) -> None:
    keys = list(dict.fromkeys(k for h in history for k in h))
    tmp = out / "metrics.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, out / "metrics.csv")
    (out / "metrics.json").write_text(json.dumps(history, indent=2) + "\n")
    (out / "curve.csv").write_text("step,loss\n" + "".join(f"{int(st)},{v:.6g}\n" for st, v in curve))


def load_checkpoint(path: str | Path, device: str = "cpu", *, trust: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """The trained network stored in a training checkpoint (architecture from the checkpoint itself) and the
    training configuration it was trained with, from one (weights-only) read of the file. A weights file
    (`best_weights.pt`, `convert`'s output: a state dict with its architecture as JSON beside it) gives the network
    and a configuration holding only the spec's input size (`frames`, `size`; `data` None)."""
    ck = read_checkpoint(path, device, trust=trust)
    arch = Path(path).with_suffix(".json")
    if "model" not in ck and ck and all(isinstance(v, torch.Tensor) for v in ck.values()) and arch.is_file():
        from .model import load_weights

        model = load_weights(path, device=str(device))
        return model, {"frames": model.spec.frames, "size": model.spec.size, "data": None}
    _check_keys(Path(path), ck, ("model", "config", "arch"))
    try:
        spec = ArchSpec.from_dict(ck["arch"])
        model = build_model(spec, dropout=ck["config"].get("dropout", 0.5))
        model.load_state_dict(ck["model"])
    except (SpecError, RuntimeError, TypeError, KeyError, AttributeError) as e:
        raise TrainError(f"{path}: its weights do not fit its architecture ({str(e).splitlines()[0][:160]})") from None
    return model.to(device).eval(), ck["config"]


def _check_keys(path: Path, ck: dict[str, Any], keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in ck]
    if missing:
        raise TrainError(f"{path}: not an e3dlib training checkpoint (no {', '.join(missing)})")
