"""kinetics-like clips: appearance-dominated (the role of Kinetics). The class fixes the statistics of the object
(shape, palette, texture) and of the scene (pattern, palette); motion is random and carries no label information.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..layouts import DataError
from .primitives import SHAPES, Thing, background, check_config, draw, finish, hsv, jitter_offsets, shaken

SCENES = ("plain", "stripes", "checkerboard", "blobs", "rings", "painter's canvas", "chef's tiles", "waves",
          "dots", "bricks")
TONES = ("warm", "cool", "pastel", "dark", "vivid")
_TONE_HUES = {"warm": (-0.08, 0.14), "cool": (0.45, 0.72), "pastel": (0.0, 1.0), "dark": (0.0, 1.0),
              "vivid": (0.0, 1.0)}
_TONE_SV = {"warm": ((0.5, 0.9), (0.6, 1.0)), "cool": ((0.4, 0.9), (0.5, 1.0)), "pastel": ((0.15, 0.35), (0.85, 1)),
            "dark": ((0.3, 0.8), (0.15, 0.4)), "vivid": ((0.9, 1.0), (0.8, 1.0))}
_PROTO_SEED = 400  # kinetics-like class prototypes do not depend on the dataset seed


@dataclass(frozen=True)
class KineticsConfig:
    """kinetics-like clips. Difficulty: `spread` (within-class appearance variation, 0 = every clip of a class
    looks alike), `noise`, `clutter`, `distractors` (objects of other classes' appearance), `jitter`, `speed`."""

    frames: int = 16
    height: int = 96
    width: int = 128
    fps: int = 25
    classes: int = 20
    noise: float = 0.08
    spread: float = 1.5
    clutter: int = 6
    distractors: int = 2
    jitter: float = 1.0
    object_size: tuple[float, float] = (0.3, 0.5)
    speed: float = 1.0

    def __post_init__(self) -> None:
        check_config(self)
        if not 1 <= self.classes <= MAX_KINETICS_CLASSES:
            raise DataError(f"kinetics-like classes must be in 1..{MAX_KINETICS_CLASSES}, got {self.classes}")

    @property
    def num_classes(self) -> int:
        """The number of classes (`classes`)."""
        return self.classes


def _combos() -> list[tuple[int, int, int]]:
    combos = list(itertools.product(range(len(SHAPES)), range(len(SCENES)), range(len(TONES))))
    np.random.default_rng(_PROTO_SEED).shuffle(combos)
    return combos


_COMBOS = _combos()
MAX_KINETICS_CLASSES = len(_COMBOS)


def kinetics_classes(n: int) -> tuple[str, ...]:
    """Class names, e.g. "star over painter's canvas (warm)": object shape, scene and palette of each class."""
    if not 1 <= n <= MAX_KINETICS_CLASSES:
        raise ValueError(f"kinetics-like supports 1..{MAX_KINETICS_CLASSES} classes, got {n}")
    return tuple(f"{SHAPES[a]} over {SCENES[b]} ({TONES[c]})" for a, b, c in _COMBOS[:n])


def _tone_colors(rng: np.random.Generator, tone: str, n: int) -> np.ndarray:
    lo, hi = _TONE_HUES[tone]
    (s0, s1), (v0, v1) = _TONE_SV[tone]
    return np.stack([rng.uniform(lo, hi, n), rng.uniform(s0, s1, n), rng.uniform(v0, v1, n)], -1)  # HSV


def _prototype(c: int) -> dict:
    """The appearance statistics of kinetics-like class c (independent of the dataset seed)."""
    shape, scene, tone = _COMBOS[c]
    rng = np.random.default_rng([_PROTO_SEED, c])
    return {"shape": SHAPES[shape], "scene": SCENES[scene], "tone": TONES[tone],
            "obj_hsv": _tone_colors(rng, TONES[tone], 3), "bg_hsv": _tone_colors(rng, TONES[(tone + 2) % 5], 2),
            "freq": rng.uniform(3, 9), "angle": rng.uniform(0, np.pi), "tex": int(rng.integers(3, 6)),
            "layout": rng.integers(0, 3, (6, 6))}


def _vary_colors(rng, hsv_: np.ndarray, spread: float) -> np.ndarray:
    noise = rng.normal(0, 1, hsv_.shape) * np.array([0.04, 0.12, 0.12]) * spread
    out = hsv_ + noise
    return hsv(out[..., 0], np.clip(out[..., 1], 0, 1), np.clip(out[..., 2], 0.05, 1))


def _class_thing(rng, proto: dict, spread: float) -> Thing:
    k = proto["tex"]
    palette = _vary_colors(rng, proto["obj_hsv"], spread)
    layout = proto["layout"][:k, :k].copy()
    flips = rng.random(layout.shape) < 0.25 * spread
    layout[flips] = rng.integers(0, 3, flips.sum())
    return Thing(proto["shape"], palette[layout].astype(np.float32))


def render_kinetics(cfg: KineticsConfig, seed: int, index: int, label: int) -> tuple[np.ndarray, int]:
    """Clip `index` of class `label`: (frames uint8 (T, H, W, 3), label)."""
    if not 0 <= label < cfg.classes:
        raise ValueError(f"kinetics-like label must be in 0..{cfg.classes - 1}, got {label}")
    rng = np.random.default_rng([seed, index])
    y = label
    proto = _prototype(y)
    T, H, W = cfg.frames, cfg.height, cfg.width
    S = min(H, W)
    sp = cfg.spread
    ox, oy, m = jitter_offsets(rng, T, cfg.jitter)
    freq = proto["freq"] * np.exp(rng.normal(0, 0.25 * sp))
    ang = proto["angle"] + rng.normal(0, 0.5 * sp)
    world = background(rng, H + 2 * m, W + 2 * m, cfg.clutter, _vary_colors(rng, proto["bg_hsv"], sp),
                       proto["scene"], freq, ang)
    canvas = shaken(world, ox, oy, m, H, W)
    t = np.linspace(0, 1, T, dtype=np.float32)
    for _ in range(cfg.distractors):  # objects that look like another class's
        other = _prototype(int(rng.integers(cfg.classes)))
        thing = _class_thing(rng, other, 1.0)
        draw(canvas, thing, *_random_motion(rng, t, W, H, 0.6 * rng.uniform(*cfg.object_size) * S / 2, cfg.speed,
                                            ox, oy))
    r = rng.uniform(*cfg.object_size) * S / 2
    draw(canvas, _class_thing(rng, proto, sp), *_random_motion(rng, t, W, H, r, cfg.speed, ox, oy))
    return finish(rng, canvas, cfg.noise), y


def _random_motion(rng, t, W, H, r, speed, ox, oy):
    """Label-free motion: a random straight path, spin and zoom. Returns (cx, cy, radius, angle)."""
    p0 = rng.uniform([0.2 * W, 0.2 * H], [0.8 * W, 0.8 * H])
    v = rng.normal(0, 0.25 * speed, 2) * np.array([W, H])
    zoom = np.exp(rng.normal(0, 0.2 * speed) * (t - 0.5))
    return (p0[0] + v[0] * (t - 0.5) - ox, p0[1] + v[1] * (t - 0.5) - oy, r * zoom,
            rng.uniform(0, 2 * np.pi) + rng.normal(0, 1.0 * speed) * t)
