"""Temporal sampling, training augmentation and testing views: uint8 frames -> normalised float tensors.

Temporal sampling (frame numbers of a clip with n frames):
    x3d       T frames at stride tau from a window of (T-1)*tau+1 frames; training: a random window; testing:
              K windows spread uniformly from the first to the last possible start (K=1: the centred window).
              Videos shorter than the window repeat their last frame.
    segment   TSN / Something-Something style: the video cut into T equal segments, one frame from each;
              training: a random frame per segment; testing clip k of K: the frame at (k+1/2)/K of each segment.
Spatial, training: the short side scaled to a random size in `scale`, a random `crop`x`crop` window, and a
horizontal flip with probability 1/2 that respects direction-dependent labels (`flip`):
    swap      flip, and swap the label with its mirror class (e.g. "left to right" <-> "right to left");
              directional classes without a mirror class are not flipped
    skip      never flip directional classes
    off       never flip
Spatial, testing (paper Sec. 4): the short side scaled to `test_scale`, then K-Center (one centre crop) or
K-LeftCenterRight (three crops along the longer axis: start, centre, end).
Output: float32 (C, T, crop, crop), normalised with `mean` / `std` (X3D's 0.45 / 0.225 by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .layouts import DataError

SAMPLINGS = ("x3d", "segment")
FLIPS = ("swap", "skip", "off")


@dataclass(frozen=True)
class ClipConfig:
    """How clips are sampled and shaped. `scale` is the training short-side range (default: crop x 8/7 .. 10/7,
    X3D's 182..228 for 160 crops); `test_scale` the testing short side (default: the crop size)."""

    frames: int = 8
    stride: int = 2
    sampling: str = "x3d"
    crop: int = 64
    scale: tuple[int, int] | None = None
    test_scale: int | None = None
    flip: str = "swap"
    mean: tuple[float, float, float] = (0.45, 0.45, 0.45)
    std: tuple[float, float, float] = (0.225, 0.225, 0.225)

    def __post_init__(self) -> None:
        if self.sampling not in SAMPLINGS:
            raise DataError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {self.sampling!r}")
        if self.flip not in FLIPS:
            raise DataError(f"flip must be one of {', '.join(FLIPS)}, got {self.flip!r}")
        if min(self.frames, self.stride, self.crop) < 1:
            raise DataError("frames, stride and crop must be >= 1")
        lo, hi = self.train_scale
        if not self.crop <= lo <= hi or self.short_side_test < self.crop:
            raise DataError(f"scales must be >= crop ({self.crop}): scale={self.train_scale}, "
                            f"test_scale={self.short_side_test}")

    @property
    def train_scale(self) -> tuple[int, int]:
        """The training short-side range (lo, hi): `scale`, else round(crop x 8/7), round(crop x 10/7)."""
        return self.scale or (round(self.crop * 8 / 7), round(self.crop * 10 / 7))

    @property
    def short_side_test(self) -> int:
        """The testing short side: `test_scale`, else the crop size."""
        return self.test_scale or self.crop


@dataclass(frozen=True)
class Views:
    """Testing views: `clips` temporal clips (K) x `crops` spatial crops (1 = Center, 3 = LeftCenterRight)."""

    clips: int = 1
    crops: int = 1

    def __post_init__(self) -> None:
        if self.clips < 1 or self.crops not in (1, 3):
            raise DataError(f"views: clips must be >= 1 and crops 1 or 3, got {self.clips}x{self.crops}")

    @property
    def name(self) -> str:
        """The paper's name of the views, e.g. "10-Center" or "4-LeftCenterRight"."""
        return f"{self.clips}-{'Center' if self.crops == 1 else 'LeftCenterRight'}"

    def __len__(self) -> int:
        return self.clips * self.crops

    @classmethod
    def parse(cls, text: str) -> Views:
        """"10-Center", "10-LeftCenterRight", "K-Center" style names or "10x3"."""
        m = re.fullmatch(r"(\d+)\s*(?:-\s*(center|leftcenterright)|x\s*([13]))", text.strip(), re.IGNORECASE)
        if not m:
            raise DataError(f"bad views {text!r}: expected e.g. 10-Center, 4-LeftCenterRight or 10x3")
        crops = int(m.group(3)) if m.group(3) else (1 if m.group(2).lower() == "center" else 3)
        return cls(int(m.group(1)), crops)


# --- temporal --------------------------------------------------------------------------------------------------------
def x3d_indices(n: int, frames: int, stride: int, start: float) -> np.ndarray:
    """`frames` frame numbers at `stride` from a window placed at fraction `start` (0 = first, 1 = last possible)."""
    room = max(n - ((frames - 1) * stride + 1), 0)
    first = int(round(start * room))
    return np.minimum(first + stride * np.arange(frames), n - 1)


def segment_indices(n: int, frames: int, pos: np.ndarray | float) -> np.ndarray:
    """One frame from each of `frames` equal segments, at fraction `pos` (scalar or per segment) of the segment."""
    pos = np.broadcast_to(np.asarray(pos, dtype=np.float64), (frames,))
    return np.minimum(((np.arange(frames) + pos) * n / frames).astype(np.int64), n - 1)


def train_indices(n: int, cfg: ClipConfig, rng: np.random.Generator) -> np.ndarray:
    """The frame numbers of one random training clip of a video with n frames (X3D window or one per segment)."""
    if cfg.sampling == "x3d":
        return x3d_indices(n, cfg.frames, cfg.stride, rng.random())
    return segment_indices(n, cfg.frames, rng.random(cfg.frames))


def eval_indices(n: int, cfg: ClipConfig, clips: int) -> list[np.ndarray]:
    """The K uniformly spread temporal clips of a video with n frames."""
    if cfg.sampling == "x3d":
        starts = [0.5] if clips == 1 else np.linspace(0, 1, clips)
        return [x3d_indices(n, cfg.frames, cfg.stride, s) for s in starts]
    return [segment_indices(n, cfg.frames, (k + 0.5) / clips) for k in range(clips)]


# --- spatial ---------------------------------------------------------------------------------------------------------
Box = tuple[int, int, int]  # (y0, x0, side) in source pixels, resized to crop x crop


def train_box(h: int, w: int, cfg: ClipConfig, rng: np.random.Generator) -> Box:
    """A random crop window: short side scaled to a random size in cfg.train_scale, then a random crop."""
    lo, hi = cfg.train_scale
    side = max(1, min(round(cfg.crop * min(h, w) / rng.integers(lo, hi + 1)), h, w))
    return int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1)), side


def eval_boxes(h: int, w: int, cfg: ClipConfig, crops: int) -> list[Box]:
    """Centre crop (crops=1) or left/top, centre, right/bottom crops along the longer axis (crops=3)."""
    side = max(1, min(round(cfg.crop * min(h, w) / cfg.short_side_test), h, w))
    cy, cx = (h - side) // 2, (w - side) // 2
    if crops == 1:
        return [(cy, cx, side)]
    if w >= h:
        return [(cy, 0, side), (cy, cx, side), (cy, w - side, side)]
    return [(0, cx, side), (cy, cx, side), (h - side, cx, side)]


def flip_decision(label: int, cfg: ClipConfig, pairs: dict[int, int], directional: frozenset[int] | set[int],
                  coin: bool) -> tuple[bool, int]:
    """(flip?, label after the flip) for a training sample whose coin toss says `coin`."""
    if not coin or cfg.flip == "off":
        return False, label
    if label in directional:
        if cfg.flip == "swap" and label in pairs:
            return True, pairs[label]
        return False, label
    return True, label


def to_tensor(frames: np.ndarray, box: Box, cfg: ClipConfig, flip: bool = False) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> the normalised float32 (C, T, crop, crop) window `box`."""
    y0, x0, side = box
    x = torch.from_numpy(np.ascontiguousarray(frames[:, y0:y0 + side, x0:x0 + side]))
    x = x.permute(0, 3, 1, 2).float().div_(255)  # (T, C, side, side)
    if side != cfg.crop:
        x = F.interpolate(x, size=(cfg.crop, cfg.crop), mode="bilinear", align_corners=False,
                          antialias=side > cfg.crop)
    if flip:
        x = x.flip(-1)
    mean = torch.tensor(cfg.mean).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std).view(1, 3, 1, 1)
    return ((x - mean) / std).permute(1, 0, 2, 3).contiguous()
