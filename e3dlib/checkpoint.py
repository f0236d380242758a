"""A training run's folder: checkpoints written atomically and read weights-only (`torch.load(weights_only=True)`),
the metrics files and run.json, and the check that an --out folder is a training run's.

A checkpoint is a dict of tensors and plain containers: "model" and "optimizer" state dicts, the loop's "state"
(`LoopState.to_dict()`), the "rng" states (`rng_state`), the "config" (`TrainConfig` as a dict) and
the "arch" (`ArchSpec.to_dict()`). Reading one cannot run code (`read_checkpoint`); files that need full
unpickling are refused unless trusted.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .model import build_model
from .recipe import TrainConfig, TrainError
from .spec import ArchSpec, SpecError

# --- the training loop's state (a checkpoint's "state") -------------------------------------------------------


@dataclass
class EpochSums:
    """Running sums of the current epoch on this process, from which its training metrics are computed."""

    loss: float = 0.0  # loss x clips
    correct: float = 0.0  # clips whose top-1 class is right
    clips: float = 0.0
    logit_std: float = 0.0  # per batch: the logits' std over clips, mean over classes
    batches: float = 0.0

    def add(self, loss: float, correct: float, clips: int, logit_std: float) -> None:
        """Add one batch: its mean `loss` (weighted by `clips`), `correct` clips, clip count and logit std."""
        self.loss += loss * clips
        self.correct += correct
        self.clips += clips
        self.logit_std += logit_std
        self.batches += 1

    def to_list(self) -> list[float]:
        """As checkpoints store them ("partial")."""
        return [self.loss, self.correct, self.clips, self.logit_std, self.batches]

    @classmethod
    def from_list(cls, values: list[float]) -> EpochSums:
        """Checkpoints written before the logit std was tracked hold the first three sums."""
        return cls(*values, *[0.0] * (5 - len(values)))


@dataclass
class LoopState:
    """Where a run is; checkpoints hold `to_dict()`, `--resume` continues from `from_dict`."""

    epoch: int = 0  # epochs finished
    step: int = 0  # optimizer steps taken
    batch_in_epoch: int = 0  # steps taken in the current epoch
    best_top1: float = -1.0
    history: list[dict[str, Any]] = field(default_factory=list)  # one metrics dict per finished epoch
    curve: list[list[float]] = field(default_factory=list)  # [step, mean loss since the previous point]
    window_loss: float = 0.0  # loss summed over the steps since the curve's last point
    window_steps: int = 0
    sums: EpochSums | None = None  # the current epoch's; None between epochs

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's "state" (plain containers); "partial" holds the epoch's sums, only mid-epoch."""
        d = {"epoch": self.epoch, "step": self.step, "batch_in_epoch": self.batch_in_epoch,
             "best_top1": self.best_top1, "history": self.history, "curve": self.curve,
             "window": [self.window_loss, self.window_steps]}
        return d if self.sums is None else {**d, "partial": self.sums.to_list()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoopState:
        """The state `to_dict` wrote; older checkpoints without "curve", "window" or "partial" read as empty."""
        window, partial = d.get("window", [0.0, 0]), d.get("partial")
        return cls(d["epoch"], d["step"], d["batch_in_epoch"], d["best_top1"], d["history"], d.get("curve", []),
                   window[0], window[1], None if partial is None else EpochSums.from_list(partial))


# --- files ---------------------------------------------------------------------------------------------------


def save_atomic(obj: Any, path: Path) -> None:
    """`torch.save(obj)` to a temporary file beside `path`, then renamed over it (never a half-written file)."""
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
    """Restore the RNG states saved by `rng_state`."""
    random.setstate(s["python"])
    n = s["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(s["torch"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def save_checkpoint(path: Path, net: nn.Module, opt: torch.optim.Optimizer, state: dict[str, Any],
                    cfg: TrainConfig) -> None:
    """Write a training checkpoint of `net` (unwrapped from DDP; its `.spec` is stored as "arch") atomically."""
    save_atomic({"model": net.state_dict(), "optimizer": opt.state_dict(), "state": state, "rng": rng_state(),
                 "config": asdict(cfg), "arch": net.spec.to_dict()}, path)


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


def check_keys(path: Path, ck: dict[str, Any], keys: tuple[str, ...]) -> None:
    """`ck` (read from `path`) must hold `keys`; otherwise one line naming the file and what it lacks."""
    missing = [k for k in keys if k not in ck]
    if missing:
        raise TrainError(f"{path}: not an e3dlib training checkpoint (no {', '.join(missing)})")


def load_checkpoint(path: str | Path, device: str = "cpu", *, trust: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """The trained network stored in a training checkpoint (architecture from the checkpoint itself) and the
    training configuration it was trained with (`TrainConfig.filled`: options added since at their defaults), from
    one (weights-only) read of the file. A weights file (`best_weights.pt`, `convert`'s output: a state dict with
    its architecture as JSON beside it) gives the network and a configuration holding only the spec's input size
    (`frames`, `size`; `data` None)."""
    ck = read_checkpoint(path, device, trust=trust)
    arch = Path(path).with_suffix(".json")
    if "model" not in ck and ck and all(isinstance(v, torch.Tensor) for v in ck.values()) and arch.is_file():
        from .model import load_weights

        model = load_weights(path, device=str(device))
        return model, {"frames": model.spec.frames, "size": model.spec.size, "data": None}
    check_keys(Path(path), ck, ("model", "config", "arch"))
    try:
        config = TrainConfig.filled(ck["config"])
        model = build_model(ArchSpec.from_dict(ck["arch"]), dropout=config["dropout"])
        model.load_state_dict(ck["model"])
    except (SpecError, RuntimeError, TypeError, KeyError, AttributeError) as e:
        raise TrainError(f"{path}: its weights do not fit its architecture ({str(e).splitlines()[0][:160]})") from None
    return model.to(device).eval(), config


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


def write_metrics(out: Path, history: list[dict[str, Any]], curve: list[list[float]]) -> None:
    """metrics.csv and metrics.json (one row per finished epoch) and curve.csv (step, training loss)."""
    keys = list(dict.fromkeys(k for h in history for k in h))
    tmp = out / "metrics.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, out / "metrics.csv")
    (out / "metrics.json").write_text(json.dumps(history, indent=2) + "\n")
    (out / "curve.csv").write_text("step,loss\n" + "".join(f"{int(st)},{v:.6g}\n" for st, v in curve))


def write_run_json(out: Path, cfg: TrainConfig, spec: ArchSpec, world: int, num_classes: int | None) -> None:
    """run.json: what the run in `out` is (command, configuration, architecture, processes, torch version)."""
    (out / "run.json").write_text(json.dumps({"command": "train", "config": asdict(cfg), "arch": spec.to_dict(),
                                              "world": world, "num_classes": num_classes,
                                              "torch": torch.__version__}, indent=2) + "\n")
