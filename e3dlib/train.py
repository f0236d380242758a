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
crafted file cannot run code (`e3dlib.checkpoint`); `best_weights.pt` + `.json` hold the best net alone
(`e3dlib.model.load_weights`). Each finished run is checked for a collapse (`collapse_check`).

`train` is setup (`_setup`), resume (`_resume`), then per epoch `_run_epoch` (its steps: `_step`) and `_end_epoch`
(metrics, validation, checkpoints); the loop's position is a `LoopState`, saved in every checkpoint.
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .checkpoint import (
    EpochSums,
    LoopState,
    check_keys,
    check_out,
    read_checkpoint,
    save_checkpoint,
    set_rng_state,
    write_metrics,
    write_run_json,
)
from .data.datasets import collate
from .dist import Dist, all_reduce_sum, init_distributed, process_device
from .evaluate import evaluate_model
from .model import build_model, save_weights
from .recipe import RECIPES, TrainConfig, TrainError, check_device, with_recipe  # noqa: F401 (re-exported)
from .sampler import EpochSampler, Seeded
from .spec import ArchSpec

CURVE_EVERY = 25  # steps per point of the training-loss curve (LoopState.curve, curve.csv)


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


def use_backend(dev: torch.device) -> None:
    """On CUDA, let cuDNN time its convolution algorithms for the (fixed) training shapes. Measured on an H200
    (`benchmarks/train_speed.py --bare --cudnn-benchmark`, README): without it the paper recipes' setting,
    channels-last-3d with bf16 autocast, trained E3D-S at 16x224^2 at 18.9 clips/s, with it at 120. The flag is
    process-wide and stays set; the algorithms it picks may differ between runs, so GPU runs are not bit-identical
    (exact reproduction is a CPU promise)."""
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True


def lr_at(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Linear warm-up from base_lr/100 to base_lr, then half-cosine decay to 0 at total_steps."""
    if warmup_steps and step < warmup_steps:
        return base_lr * (0.01 + 0.99 * step / warmup_steps)
    t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


# --- the loop ------------------------------------------------------------------------------------------------


@dataclass
class _Stop:
    requested: str = ""

    def __call__(self, signum: int, frame: Any) -> None:
        self.requested = signal.Signals(signum).name


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


@dataclass(frozen=True)
class _Loop:
    """What every epoch of one run uses, fixed once the run is set up."""

    cfg: TrainConfig
    d: Dist
    dev: torch.device
    model: nn.Module  # DistributedDataParallel under torchrun; `net` is the network itself
    opt: torch.optim.Optimizer
    sampler: EpochSampler
    loader: DataLoader
    batch: int  # clips per step on this process
    steps_per_epoch: int
    memory_format: torch.memory_format
    out: Path
    show: bool  # progress bar

    @property
    def net(self) -> nn.Module:
        return _unwrap(self.model)

    @property
    def last(self) -> Path:
        return self.out / "last.pt"

    def lr(self, step: int) -> float:
        spe = self.steps_per_epoch
        return lr_at(step, self.cfg.epochs * spe, int(self.cfg.warmup_epochs * spe), self.cfg.lr)


def train(cfg: TrainConfig, spec: ArchSpec, train_set: Dataset, val_set: Dataset | None, out: str | Path, *,
          resume: bool = False, num_classes: int | None = None, progress: bool | None = None,
          stop_after_steps: int = 0, trust_checkpoint: bool = False,
          on_epoch: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train `spec` on `train_set` ((clip (C,T,H,W), label) items); evaluate on `val_set` each epoch.

    Writes out/last.pt, out/best.pt, out/best_weights.pt (+ .json: the net alone), out/metrics.csv,
    out/metrics.json, out/curve.csv (training loss every `CURVE_EVERY` steps) and out/run.json; returns the last
    epoch's metrics and, under "model", the trained module. `stop_after_steps` simulates an interruption;
    `trust_checkpoint` lets `resume` read a checkpoint that is not weights-only (see `read_checkpoint`);
    `on_epoch(metrics)` is called (on the main process) after each epoch's checkpoint is written. `progress`: a bar
    on the main process (None: only when stderr is a terminal).
    """
    loop = _setup(cfg, spec, train_set, Path(out), resume=resume, num_classes=num_classes, progress=progress)
    state = _resume(loop, spec, trust_checkpoint) if resume else LoopState()
    if loop.d.world > 1:
        ids = [loop.d.local_rank] if loop.dev.type == "cuda" else None
        loop = replace(loop, model=nn.parallel.DistributedDataParallel(loop.model, device_ids=ids))
    if loop.d.main:
        write_run_json(loop.out, cfg, spec, loop.d.world, num_classes)
    stop = _Stop()
    old_handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    metrics: dict[str, Any] = {}
    try:
        while state.epoch < cfg.epochs:
            t0 = _run_epoch(loop, state, train_set, stop, stop_after_steps)
            if state.batch_in_epoch < loop.steps_per_epoch:  # interrupted mid-epoch
                return _stopped_mid_epoch(loop, state, stop.requested)
            metrics = _end_epoch(loop, state, val_set, num_classes, t0, on_epoch)
            if stop.requested or cfg.max_steps and state.step >= cfg.max_steps:
                break
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
    if not metrics and state.history:  # resumed a run that had already finished
        metrics = state.history[-1]
    if stop.requested:  # the signal came during validation or checkpointing: the epoch's checkpoint is written
        if loop.d.main:
            print(f"stopped by {stop.requested} after epoch {state.epoch}; checkpoint {loop.last}; continue with "
                  "--resume", file=sys.stderr)
        return {**metrics, "interrupted": stop.requested, "model": loop.net}
    return {**metrics, "model": loop.net}


def _setup(cfg: TrainConfig, spec: ArchSpec, train_set: Dataset, out: Path, *, resume: bool,
           num_classes: int | None, progress: bool | None) -> _Loop:
    """Check `out`, join the process group, build the network, optimizer and data order (nothing trained yet)."""
    check_out(out)
    d = init_distributed(cfg.device)
    dev = process_device(cfg.device, d)
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    if resume and not last.is_file():
        raise TrainError(f"{last}: nothing to resume (no checkpoint); run without --resume")
    if not resume and last.is_file():
        raise TrainError(f"{out} already holds a run (last.pt); pass --resume to continue it or choose another --out")

    use_backend(dev)
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    overrides = {k: v for k, v in (("act", cfg.act), ("se", cfg.se)) if v is not None}
    model = build_model(spec.with_input(cfg.frames, cfg.size), num_classes=num_classes, dropout=cfg.dropout,
                        branch_gamma=cfg.branch_gamma, **overrides).to(dev)
    if d.world > 1 and dev.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    memory_format = torch.channels_last_3d if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                          nesterov=False)

    sampler = EpochSampler(len(train_set), cfg.seed, d.rank, d.world)
    batch = max(1, cfg.batch_size // d.world)
    loader = DataLoader(Seeded(train_set), batch_size=batch, sampler=sampler, num_workers=cfg.workers,
                        collate_fn=collate, drop_last=True, persistent_workers=False,
                        generator=torch.Generator().manual_seed(cfg.seed))
    steps_per_epoch = len(sampler.indices()) // batch
    if steps_per_epoch == 0:
        raise TrainError(f"{len(train_set)} training clips give no full batch of {batch}; lower --batch-size")
    show = d.main and (sys.stderr.isatty() if progress is None else progress)
    return _Loop(cfg, d, dev, model, opt, sampler, loader, batch, steps_per_epoch, memory_format, out, show)


def _resume(loop: _Loop, spec: ArchSpec, trust: bool) -> LoopState:
    """Load network, optimizer, RNG states and loop state from `last.pt`, which must be this run's."""
    last = loop.last
    ck = read_checkpoint(last, loop.dev, trust=trust)
    check_keys(last, ck, ("model", "optimizer", "state", "rng", "config", "arch"))
    if ArchSpec.network(ck["arch"]) != ArchSpec.network(loop.net.spec.to_dict()):
        raise TrainError(f"{last} was trained for arch {ck['arch'].get('name')!r}, not {spec.name!r}; "
                         "resume with the same --arch or choose another --out")
    saved, now = TrainConfig.filled(ck["config"]), asdict(loop.cfg)
    if saved != now:
        changed = sorted(k for k in saved if saved[k] != now.get(k))
        raise TrainError(f"{last}: was written with other options ({', '.join(changed)}); resume with the same ones")
    loop.net.load_state_dict(ck["model"])
    loop.opt.load_state_dict(ck["optimizer"])
    set_rng_state(ck["rng"])
    return LoopState.from_dict(ck["state"])


def _run_epoch(loop: _Loop, state: LoopState, train_set: Dataset, stop: _Stop, stop_after_steps: int) -> float:
    """Train on the rest of epoch `state.epoch` (all of it unless resumed mid-epoch); stops early at a signal,
    `stop_after_steps` or --max-steps (then `state.batch_in_epoch` < `loop.steps_per_epoch`). Returns the epoch's
    start time (`time.perf_counter()`)."""
    cfg, epoch = loop.cfg, state.epoch
    loop.sampler.set_epoch(epoch, state.batch_in_epoch, loop.batch)
    if hasattr(train_set, "set_epoch"):  # video datasets draw augmentation from (seed, epoch, index)
        train_set.set_epoch(epoch)
    loop.loader.generator.manual_seed(cfg.seed * 1000 + epoch)
    loop.model.train()
    t0, seen = time.perf_counter(), 0
    if state.sums is None:
        state.sums = EpochSums()
    autocast = torch.autocast(loop.dev.type, dtype=torch.bfloat16, enabled=cfg.bf16)
    bar = tqdm(loop.loader, total=loop.steps_per_epoch - state.batch_in_epoch, disable=not loop.show, leave=False,
               desc=f"epoch {epoch + 1}/{cfg.epochs}", mininterval=1.0)
    for batch in bar:
        if batch is None:
            continue
        loss, lr, n = _step(loop, state, batch, autocast)
        seen += n
        bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.4f}",
                        clips_s=f"{seen * loop.d.world / (time.perf_counter() - t0):.1f}")
        hit_max = cfg.max_steps and state.step >= cfg.max_steps
        if stop.requested or (stop_after_steps and state.step >= stop_after_steps) or hit_max:
            break
    bar.close()
    return t0


def _step(loop: _Loop, state: LoopState, batch: tuple, autocast: torch.autocast) -> tuple[float, float, int]:
    """One SGD step on `batch`, counted into `state`; returns (loss, learning rate, clips)."""
    cfg, dev = loop.cfg, loop.dev
    x, y = batch[0].to(dev, non_blocking=True), batch[1].to(dev, non_blocking=True)
    x = x.contiguous(memory_format=loop.memory_format)
    lr = loop.lr(state.step)
    for g in loop.opt.param_groups:
        g["lr"] = lr
    with autocast:
        logits = loop.model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
    if not torch.isfinite(loss):
        raise TrainError(f"non-finite loss ({loss.item()}) at epoch {state.epoch + 1}, step {state.step}; "
                         f"the last good checkpoint is kept in {loop.last}. Lower --lr or set --grad-clip")
    loop.opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip > 0:
        nn.utils.clip_grad_norm_(loop.model.parameters(), cfg.grad_clip)
    loop.opt.step()
    n, value = y.numel(), loss.item()
    state.sums.add(value, (logits.argmax(1) == y).sum().item(), n,
                   logits.detach().float().std(0).mean().item() if n > 1 else 0.0)
    state.window_loss += value
    state.window_steps += 1
    state.step += 1
    state.batch_in_epoch += 1
    if state.step % CURVE_EVERY == 0:  # the training curve: mean loss of the last CURVE_EVERY steps
        state.curve.append([state.step, state.window_loss / state.window_steps])
        state.window_loss, state.window_steps = 0.0, 0
    return value, lr, n


def _stopped_mid_epoch(loop: _Loop, state: LoopState, signal_name: str) -> dict[str, Any]:
    """Checkpoint a run stopped inside an epoch; what `train` returns then."""
    why = signal_name or ("--max-steps" if loop.cfg.max_steps else "stop_after_steps")
    if loop.d.main:
        save_checkpoint(loop.last, loop.net, loop.opt, state.to_dict(), loop.cfg)
        print(f"stopped by {why} at epoch {state.epoch + 1}, step {state.step}; checkpoint {loop.last}; "
              f"continue with --resume", file=sys.stderr)
    return {"interrupted": why, **state.to_dict(), "model": loop.net}


def _end_epoch(loop: _Loop, state: LoopState, val_set: Dataset | None, num_classes: int | None, t0: float,
               on_epoch: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    """The finished epoch's metrics (summed over processes; collapse check; validation) into `state.history`,
    then (main process) the metrics files, best.pt / best_weights.pt if it improved, last.pt and `on_epoch`."""
    cfg, d, net = loop.cfg, loop.d, loop.net
    loss, correct, clips, logit_std, batches = (float(v) for v in all_reduce_sum(np.array(state.sums.to_list()), d))
    state.sums = None
    metrics = {"epoch": state.epoch + 1, "step": state.step, "lr": loop.lr(state.step),
               "train_loss": loss / max(1, clips), "train_top1": correct / max(1, clips), "train_clips": int(clips),
               "train_logit_std": logit_std / max(1, batches), "seconds": time.perf_counter() - t0}
    why = collapse_check(metrics["train_loss"], num_classes or net.spec.num_classes, metrics["train_logit_std"])
    metrics.update(collapsed=why is not None, collapse_reason=why)
    if val_set is not None:
        ev = evaluate_model(net, val_set, loop.dev, batch_size=loop.batch, workers=cfg.workers, bf16=cfg.bf16,
                            memory_format=loop.memory_format, dist_info=d, progress=False)
        metrics.update(val_top1=ev["top1"], val_top5=ev["top5"], val_clips=ev["clips"])
    state.epoch += 1
    state.batch_in_epoch = 0
    state.history.append(metrics)
    top1 = metrics.get("val_top1", metrics["train_top1"])
    improved = top1 > state.best_top1
    state.best_top1 = max(top1, state.best_top1)
    if d.main:
        write_metrics(loop.out, state.history, state.curve)
        if improved:
            save_checkpoint(loop.out / "best.pt", net, loop.opt, state.to_dict(), cfg)
            save_weights(net, loop.out / "best_weights.pt")
        save_checkpoint(loop.last, net, loop.opt, state.to_dict(), cfg)
        if on_epoch is not None:
            on_epoch({**metrics, "best_top1": state.best_top1, "improved": improved})
    return metrics
