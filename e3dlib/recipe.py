"""Training configuration as data: `TrainConfig` and the named recipes (no torch import, so the CLI stays fast)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


class TrainError(RuntimeError):
    """Training cannot go on (bad configuration, non-finite loss); the message says what to do."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; saved as run.json beside the checkpoints."""

    arch: str = "e3d-s"
    data: str = "something-like"
    frames: int = 8
    size: int = 64
    epochs: int = 10
    batch_size: int = 16
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-5
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.0
    dropout: float = 0.5
    grad_clip: float = 0.0
    branch_gamma: float = 0.0
    act: str | None = None  # None: the architecture's activation
    se: float | None = None  # None: the architecture's squeeze-excitation ratio
    bf16: bool = False
    channels_last: bool = True
    workers: int = 2
    seed: int = 0
    device: str = "cpu"
    max_steps: int = 0
    eval_views: str = "1x1"

    def __post_init__(self) -> None:
        for name, lo, lo_open, hi, hi_open in _RANGES:
            v = getattr(self, name)
            whole = name in _WHOLE
            if isinstance(v, bool) or not isinstance(v, int if whole else (int, float)):
                raise TrainError(f"--{name.replace('_', '-')}: expected {'a whole' if whole else 'a'} number, "
                                 f"got {v!r}")
            bad = (not math.isfinite(v) or v < lo or (lo_open and v == lo)
                   or (hi is not None and (v > hi or (hi_open and v == hi))))
            if bad:
                allowed = (f"{'>' if lo_open else '>='} {lo:g}" + ("" if hi is None else
                           f" and {'<' if hi_open else '<='} {hi:g}"))
                raise TrainError(f"--{name.replace('_', '-')} {v!r}: must be a finite number {allowed}")
        if self.act not in (None, "relu", "swish"):
            raise TrainError(f"--act {self.act!r}: choose relu or swish (or leave it to the architecture)")
        se_ok = self.se is None or (not isinstance(self.se, bool) and isinstance(self.se, (int, float))
                                    and 0 <= self.se < 1)
        if not se_ok:
            raise TrainError(f"--se {self.se!r}: a squeeze-excitation ratio in [0, 1) (0 = none)")
        if not re.fullmatch(r"[1-9]\d*\s*x\s*[13]", self.eval_views.strip()):
            raise TrainError(f"--eval-views {self.eval_views!r}: expected KxC with K >= 1 clips and C = 1 or 3 crops")
        if not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise TrainError(f"--device {self.device!r}: expected cpu, cuda or cuda:N")

    @classmethod
    def filled(cls, d: dict[str, Any]) -> dict[str, Any]:
        """A saved configuration as this version writes it: the options added since it was written at their
        defaults, and the old spellings of "the architecture's" (`act` "", `se` -1.0) as None."""
        return {**asdict(cls()), **d, **{k: None for k, old in _LEGACY.items() if k in d and d[k] == old}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """The configuration a saved dict (run.json's "config", a result row's "recipe") describes."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise TrainError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**cls.filled(d))


# Values that meant "leave it to the architecture" before e3dlib wrote None (checkpoints, run.json and result rows
# written then hold them; `TrainConfig.filled` reads them as None).
_LEGACY: dict[str, Any] = {"act": "", "se": -1.0}


# (option, lower bound, bound excluded?, upper bound or None, bound excluded?) checked by TrainConfig.
_RANGES = (("frames", 1, False, None, False), ("size", 1, False, None, False), ("epochs", 1, False, None, False),
           ("batch_size", 1, False, None, False), ("lr", 0, True, None, False), ("momentum", 0, False, 1, True),
           ("weight_decay", 0, False, None, False), ("warmup_epochs", 0, False, None, False),
           ("label_smoothing", 0, False, 1, True), ("dropout", 0, False, 1, True), ("grad_clip", 0, False, None, False),
           ("branch_gamma", 0, False, None, False), ("workers", 0, False, None, False), ("seed", 0, False, None, False),
           ("max_steps", 0, False, None, False))
_WHOLE = {"frames", "size", "epochs", "batch_size", "workers", "seed", "max_steps"}


# Recipes as data. "paper": E3D/X3D on 8 GPUs (App. G lists SGD + cosine + SyncBN, 100 epochs on Sth-Sth and
# 150 on Kinetics; the table of values is not in our copy of the paper, so lr/wd/warm-up follow X3D's recipe,
# scaled linearly with batch size). "proxy": what fits 2 CPU cores (notebook 06).
RECIPES: dict[str, dict[str, Any]] = {
    "paper-ssv2": dict(frames=16, size=224, epochs=100, batch_size=64, lr=0.1, weight_decay=5e-5, warmup_epochs=10,
                       label_smoothing=0.0, dropout=0.5, bf16=True),
    "paper-k400": dict(frames=16, size=224, epochs=150, batch_size=64, lr=0.1, weight_decay=5e-5, warmup_epochs=35,
                       label_smoothing=0.0, dropout=0.5, bf16=True),
    "proxy": dict(frames=8, size=40, epochs=3, batch_size=16, lr=0.025, weight_decay=5e-5, warmup_epochs=0.3,
                  label_smoothing=0.0, dropout=0.5, branch_gamma=0.1, bf16=False),
}


def with_recipe(cfg: TrainConfig, recipe: str) -> TrainConfig:
    """`cfg` with the fields of `RECIPES[recipe]` replaced; an unknown recipe raises `TrainError`."""
    if recipe not in RECIPES:
        raise TrainError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    return replace(cfg, **RECIPES[recipe])


def check_device(device: str) -> None:
    """`device` (already well-formed) must exist on this machine; one line naming --device and the fix if not."""
    if not device.startswith("cuda"):
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device.split(":")[1]) if ":" in device else 0
    if count == 0:
        raise TrainError(f"--device {device} given but no CUDA device is visible; use --device cpu")
    if index >= count:
        raise TrainError(f"--device {device}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
