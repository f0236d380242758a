"""Procedural video benchmarks at CPU scale, every clip a pure function of (seed, index).

something-like   motion-dominated (the role of Something-Something): textured objects of random appearance on
                 cluttered textured backgrounds, with camera jitter, distractor objects and noise. The 20 classes
                 (`SOMETHING_CLASSES`) differ only in how things move over time (direction, order, speed profile,
                 occlusion order): telling them apart needs the order of the frames.
kinetics-like    appearance-dominated (the role of Kinetics): the class fixes the statistics of the object
                 (shape, palette, texture) and of the scene (pattern, palette); motion is random.

`render_something(cfg, seed, index, label)` / `render_kinetics(...)` return (frames uint8 (T, H, W, 3), label);
all randomness comes from `np.random.default_rng([seed, index])` (`generate` derives the label from the index).
Everything is vectorised numpy over (T, H, W): a 16x96x128 clip renders in about 20 ms.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .layouts import DataError

# The motion benchmark's defaults (any of them can still be overridden with --set): the ten pure-motion classes
# (each pair differs only in the order of its frames), no clutter, distractors or camera shake, large objects,
# small frames (studies train at 8x40^2 crops; `ClipConfig`'s training scale 46..57 px of the 48-px short side).
MOTION_SETTINGS = {"classes": "10", "noise": "0.02", "clutter": "0", "distractors": "0", "jitter": "0",
                   "object_size": "0.3,0.45", "height": "48", "width": "64"}

SOMETHING_CLASSES = (
    "Moving something from left to right",            # 0
    "Moving something from right to left",            # 1
    "Moving something up",                            # 2
    "Moving something down",                          # 3
    "Moving something closer to the camera",          # 4
    "Moving something away from the camera",          # 5
    "Turning something clockwise",                    # 6
    "Turning something counterclockwise",             # 7
    "Something appearing",                            # 8
    "Something disappearing",                         # 9
    "Pushing something from left to right until it falls off",  # 10
    "Pushing something from right to left until it falls off",  # 11
    "Passing something in front of something",        # 12
    "Passing something behind something",             # 13
    "Moving something and stopping halfway",          # 14
    "Dropping something",                             # 15
    "Throwing something in the air and catching it",  # 16
    "Moving something closer to something",           # 17
    "Moving something away from something",           # 18
    "Moving something back and forth",                # 19
)
# Horizontal flip turns these classes into each other (and leaves every other class valid).
SOMETHING_FLIP_PAIRS = {0: 1, 1: 0, 6: 7, 7: 6, 10: 11, 11: 10}

SHAPES = ("disk", "square", "diamond", "triangle", "cross", "ring", "ellipse", "star")
SCENES = ("plain", "stripes", "checkerboard", "blobs", "rings", "painter's canvas", "chef's tiles", "waves",
          "dots", "bricks")
TONES = ("warm", "cool", "pastel", "dark", "vivid")
_TONE_HUES = {"warm": (-0.08, 0.14), "cool": (0.45, 0.72), "pastel": (0.0, 1.0), "dark": (0.0, 1.0),
              "vivid": (0.0, 1.0)}
_TONE_SV = {"warm": ((0.5, 0.9), (0.6, 1.0)), "cool": ((0.4, 0.9), (0.5, 1.0)), "pastel": ((0.15, 0.35), (0.85, 1)),
            "dark": ((0.3, 0.8), (0.15, 0.4)), "vivid": ((0.9, 1.0), (0.8, 1.0))}
_PROTO_SEED = 400  # kinetics-like class prototypes do not depend on the dataset seed


@dataclass(frozen=True)
class SomethingConfig:
    """something-like clips. Difficulty: `noise` (pixel noise std, fraction of 255), `clutter` (background shapes),
    `distractors` (objects drifting at random), `jitter` (camera shake, px per frame), `object_size` (object
    diameter range, fraction of the short side), `speed` (scales every motion amplitude); `classes` keeps the
    first N of SOMETHING_CLASSES (10 = the pure-motion ones: directions, depth, rotation, (dis)appearing)."""

    frames: int = 16
    height: int = 96
    width: int = 128
    fps: int = 12
    noise: float = 0.05
    clutter: int = 12
    distractors: int = 2
    jitter: float = 1.0
    object_size: tuple[float, float] = (0.18, 0.3)
    speed: float = 1.0
    classes: int = len(SOMETHING_CLASSES)

    def __post_init__(self) -> None:
        _validate(self)
        if not 2 <= self.classes <= len(SOMETHING_CLASSES):
            raise DataError(f"something-like classes must be in 2..{len(SOMETHING_CLASSES)}, got {self.classes}")

    @property
    def num_classes(self) -> int:
        """The number of classes (`classes`)."""
        return self.classes


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
        _validate(self)
        if not 1 <= self.classes <= MAX_KINETICS_CLASSES:
            raise DataError(f"kinetics-like classes must be in 1..{MAX_KINETICS_CLASSES}, got {self.classes}")

    @property
    def num_classes(self) -> int:
        """The number of classes (`classes`)."""
        return self.classes


def _validate(cfg: SomethingConfig | KineticsConfig) -> None:
    name = type(cfg).__name__
    if cfg.frames < 1 or cfg.fps < 1:
        raise DataError(f"{name}: frames and fps must be >= 1")
    if min(cfg.height, cfg.width) < 16 or cfg.height % 2 or cfg.width % 2:
        raise DataError(f"{name}: height and width must be even and >= 16, got {cfg.height}x{cfg.width}")
    if len(cfg.object_size) != 2 or not 0 < cfg.object_size[0] <= cfg.object_size[1] <= 1:
        raise DataError(f"{name}: object_size must be 0 < lo <= hi <= 1, got {cfg.object_size}")
    if min(cfg.noise, cfg.jitter, cfg.speed, cfg.clutter, cfg.distractors) < 0:
        raise DataError(f"{name}: noise, jitter, speed, clutter and distractors must be >= 0")


# --- drawing primitives --------------------------------------------------------------------------------------------
def _hsv(h, s, v) -> np.ndarray:
    """HSV in [0, 1] (arrays broadcast) -> RGB float in [0, 1], shape (..., 3)."""
    h, s, v = np.broadcast_arrays(np.asarray(h, float) % 1.0, np.asarray(s, float), np.asarray(v, float))
    k = (np.array([5.0, 3.0, 1.0]) + h[..., None] * 6) % 6
    return v[..., None] - v[..., None] * s[..., None] * np.clip(np.minimum(k, 4 - k), 0, 1)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Bilinearly upsampled coarse uniform noise in [0, 1], shape (h, w)."""
    g = rng.random((cells + 1, cells + 1))
    y = np.linspace(0, cells, h, endpoint=False)
    x = np.linspace(0, cells, w, endpoint=False)
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    a, b = g[y0][:, x0], g[y0][:, x0 + 1]
    c, d = g[y0 + 1][:, x0], g[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _sdf(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance (approximate, in object units; < 0 inside) of a unit shape at local coordinates u, v."""
    if shape == "disk":
        return np.sqrt(u * u + v * v) - 1
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) - 0.85
    if shape == "diamond":
        return (np.abs(u) + np.abs(v) - 1) * 0.7071
    if shape == "triangle":
        return np.maximum(np.abs(u) * 0.866 + v * 0.5, -v) - 0.5
    if shape == "cross":
        return np.minimum(np.maximum(np.abs(u) - 1, np.abs(v) - 0.38), np.maximum(np.abs(u) - 0.38, np.abs(v) - 1))
    if shape == "ring":
        return np.abs(np.sqrt(u * u + v * v) - 0.72) - 0.28
    if shape == "ellipse":
        return np.sqrt(u * u + (v / 0.55) ** 2) - 1
    if shape == "star":
        r, a = np.sqrt(u * u + v * v), np.arctan2(v, u)
        return r - (0.68 + 0.32 * np.cos(5 * a))
    raise ValueError(f"unknown shape {shape!r}")


@dataclass
class _Thing:
    """An object's look: a shape and a small texture image (K, K, 3) stretched over it."""

    shape: str
    texture: np.ndarray


def _random_thing(rng: np.random.Generator, shape: str | None = None) -> _Thing:
    shape = shape or SHAPES[rng.integers(len(SHAPES))]
    k = int(rng.integers(3, 7))
    palette = _hsv(rng.random(3), rng.uniform(0.4, 1.0, 3), rng.uniform(0.35, 1.0, 3))
    tex = palette[rng.integers(0, 3, (k, k))]
    tex[: k // 2 + 1, :1] = palette[0] * 0.4  # an asymmetric mark so that every rotation is visible
    return _Thing(shape, tex.astype(np.float32))


def _draw(canvas: np.ndarray, thing: _Thing, cx, cy, radius, angle, alpha=1.0) -> None:
    """Composite `thing` onto canvas (T, H, W, 3) in place; per-frame centre, radius (px), angle (rad, clockwise on
    screen), opacity. Anti-aliased by a one-pixel ramp of the signed distance; only the box that the object
    covers in some frame is computed."""
    t, h, w, _ = canvas.shape
    cx, cy, radius, angle, alpha = (np.broadcast_to(np.asarray(a, np.float32), (t,))[:, None, None]
                                    for a in (cx, cy, radius, angle, alpha))
    ext = radius * 1.1 + 1
    x0, x1 = max(int((cx - ext).min()), 0), min(int(np.ceil((cx + ext).max())) + 1, w)
    y0, y1 = max(int((cy - ext).min()), 0), min(int(np.ceil((cy + ext).max())) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = xs - cx, ys - cy
    cos, sin = np.cos(angle), np.sin(angle)
    u = (cos * dx + sin * dy) / radius
    v = (cos * dy - sin * dx) / radius
    m = (np.clip(0.5 - _sdf(thing.shape, u, v) * radius, 0, 1) * alpha)[..., None]
    k = thing.texture.shape[0]
    iu = np.clip(((u + 1) * (0.5 * k)).astype(np.int32), 0, k - 1)
    iv = np.clip(((v + 1) * (0.5 * k)).astype(np.int32), 0, k - 1)
    box = canvas[:, y0:y1, x0:x1]
    box *= 1 - m
    box += thing.texture[iv, iu] * m


def _background(rng: np.random.Generator, h: int, w: int, clutter: int, colors: np.ndarray | None = None,
                pattern: str | None = None, freq: float = 0.0, angle: float = 0.0) -> np.ndarray:
    """A static textured scene (h, w, 3): two colours mixed by smooth noise and an optional pattern, plus
    `clutter` random shapes."""
    if colors is None:
        colors = _hsv(rng.random(2), rng.uniform(0.1, 0.7, 2), rng.uniform(0.3, 0.95, 2))
    mix = _smooth_noise(rng, h, w, int(rng.integers(2, 6)))
    if pattern is not None and pattern != "plain":
        ys, xs = np.mgrid[0:h, 0:w] / max(h, w)
        p = _pattern(pattern, xs, ys, freq, angle, rng)
        mix = 0.35 * mix + 0.65 * p
    bg = colors[0] * (1 - mix[..., None]) + colors[1] * mix[..., None]
    canvas = bg[None].astype(np.float32)
    for _ in range(clutter):
        thing = _random_thing(rng)
        thing.texture = 0.5 * thing.texture + 0.5 * thing.texture.mean((0, 1))  # muted: scenery, not actors
        _draw(canvas, thing, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.04, 0.14) * min(h, w),
              rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 0.9))
    return canvas[0]


def _pattern(name: str, xs: np.ndarray, ys: np.ndarray, freq: float, angle: float, rng) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    a, b = c * xs + s * ys, c * ys - s * xs
    if name in ("stripes", "painter's canvas"):
        return 0.5 + 0.5 * np.sign(np.sin(2 * np.pi * freq * a))
    if name in ("checkerboard", "chef's tiles"):
        return ((np.floor(freq * a) + np.floor(freq * b)) % 2).astype(float)
    if name == "rings":
        return 0.5 + 0.5 * np.sin(2 * np.pi * freq * np.sqrt((xs - 0.5) ** 2 + (ys - 0.4) ** 2))
    if name == "waves":
        return 0.5 + 0.5 * np.sin(2 * np.pi * freq * (a + 0.08 * np.sin(2 * np.pi * freq * 0.5 * b)))
    if name == "dots":
        return (np.sin(np.pi * freq * a) ** 2 * np.sin(np.pi * freq * b) ** 2 > 0.5).astype(float)
    if name == "bricks":
        row = np.floor(freq * b)
        return ((np.abs(np.sin(np.pi * (freq * 0.5 * a + 0.5 * (row % 2)))) > 0.15)
                & (np.abs(np.sin(np.pi * freq * b)) > 0.15)).astype(float)
    if name == "blobs":
        return (_smooth_noise(rng, *xs.shape, max(2, int(freq))) > 0.5).astype(float)
    raise ValueError(f"unknown pattern {name!r}")


def _jitter_offsets(rng: np.random.Generator, t: int, jitter: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Camera shake: a bounded random walk of integer pixel offsets, and the margin it needs."""
    m = int(np.ceil(3 * jitter))
    walk = np.clip(np.cumsum(rng.normal(0, jitter, (2, t)), axis=1), -m, m) if m else np.zeros((2, t))
    off = np.round(walk).astype(int)
    return off[0], off[1], m


def _finish(rng: np.random.Generator, canvas: np.ndarray, noise: float) -> np.ndarray:
    """Per-frame brightness flicker and pixel noise, then uint8."""
    t = canvas.shape[0]
    canvas *= rng.uniform(0.92, 1.08, (t, 1, 1, 1)).astype(np.float32)
    if noise > 0:
        canvas += rng.standard_normal(canvas.shape, dtype=np.float32) * np.float32(noise)
    return (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)


# --- something-like --------------------------------------------------------------------------------------------------
def render_something(cfg: SomethingConfig, seed: int, index: int, label: int) -> tuple[np.ndarray, int]:
    """Clip `index` of class `label`: (frames uint8 (T, H, W, 3), label)."""
    if not 0 <= label < cfg.classes:
        raise ValueError(f"something-like label must be in 0..{cfg.classes - 1}, got {label}")
    rng = np.random.default_rng([seed, index])
    y = label
    T, H, W = cfg.frames, cfg.height, cfg.width
    S = min(H, W)
    ox, oy, m = _jitter_offsets(rng, T, cfg.jitter)
    world = _background(rng, H + 2 * m, W + 2 * m, cfg.clutter)
    # A table in 60% of all clips (always for the pushing classes, on the side the push starts from).
    table_left, table_edge, table_y = rng.random() < 0.5, rng.uniform(0.5, 0.7) * W, rng.uniform(0.6, 0.75) * H
    if y in (10, 11):
        table_left = y == 10
    if rng.random() < 0.6 or y in (10, 11):
        rows = world[m + int(table_y):]
        region = rows[:, : m + int(table_edge)] if table_left else rows[:, m + W - int(table_edge):]
        top = _random_thing(rng).texture.mean((0, 1)) * rng.uniform(0.6, 0.9)
        region[:] = top * (0.85 + 0.15 * _smooth_noise(rng, *region.shape[:2], 6))[..., None]
    canvas = np.stack([world[m + oy[i]: m + oy[i] + H, m + ox[i]: m + ox[i] + W] for i in range(T)])
    t = np.linspace(0, 1, T, dtype=np.float32)
    sp = cfg.speed
    # Appearance and sizes are drawn the same way for every class: they carry no label information.
    actor, partner = _random_thing(rng), _random_thing(rng)
    r = rng.uniform(*cfg.object_size) * S / 2
    r2 = rng.uniform(*cfg.object_size) * S / 2
    distractors = [(_random_thing(rng), rng.uniform(0.6, 1.0) * r, rng.uniform(0, W, 2), rng.uniform(0, H, 2),
                    rng.uniform(0, 2 * np.pi), rng.normal(0, 0.6)) for _ in range(cfg.distractors)]
    a0, spin = rng.uniform(0, 2 * np.pi), rng.normal(0, 0.15)
    angle = a0 + spin * t
    ease = rng.uniform(0.0, 0.6)  # velocity profile: 0 = constant speed, >0 = ease in/out
    tt = (1 - ease) * t + ease * (3 * t * t - 2 * t ** 3)
    cx = np.full(T, rng.uniform(0.3, 0.7) * W, np.float32)
    cy = np.full(T, rng.uniform(0.3, 0.7) * H, np.float32)
    drift = rng.normal(0, 0.02 * S, 2)
    cx, cy = cx + drift[0] * t, cy + drift[1] * t
    scale, alpha = np.ones(T, np.float32), np.ones(T, np.float32)
    # the partner object: the second "something" of classes 12, 13, 17, 18, standing anywhere in the others
    partner_at = (rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H, r2, False)  # (x, y, radius, in front)
    span_x = min(sp * rng.uniform(0.45, 0.7) * W, W - 2 * r)
    span_y = min(sp * rng.uniform(0.4, 0.6) * H, H - 2 * r)
    if y in (0, 1):
        x0 = rng.uniform(r, max(r, W - r - span_x))  # max: float round-off when the span is capped
        cx = x0 + span_x * (tt if y == 0 else 1 - tt)
    elif y in (2, 3):
        y0 = rng.uniform(r, max(r, H - r - span_y))
        cy = y0 + span_y * (1 - tt if y == 2 else tt)
    elif y in (4, 5):
        k = 1 + sp * rng.uniform(0.7, 1.2)
        s = k ** (tt if y == 4 else 1 - tt)
        scale = (s / np.sqrt(k)).astype(np.float32)
    elif y in (6, 7):
        w_ = sp * rng.uniform(0.6, 1.1) * np.pi * (1 if y == 6 else -1)
        angle = a0 + w_ * tt
    elif y in (8, 9):
        t0, width = rng.uniform(0.3, 0.7), rng.uniform(0.02, 0.12)
        alpha = 1 / (1 + np.exp(-(t - t0) / width))
        alpha = (alpha if y == 8 else 1 - alpha).astype(np.float32)
    elif y in (10, 11):
        # on a table that ends at table_edge, pushed towards the edge, over it, then falling
        edge = table_edge if table_left else W - table_edge
        d = 1 if y == 10 else -1
        t_edge = rng.uniform(0.3, 0.55)
        v = sp * rng.uniform(0.35, 0.55) * W
        cx = edge + d * (r * 0.3 + v * (t - t_edge))
        top = table_y - r
        fall = np.maximum(t - t_edge - 0.05, 0)
        cy = top + 0.5 * rng.uniform(5, 8) * H * fall ** 2
        angle = a0 + d * 2.5 * fall
    elif y in (12, 13):
        bx, by = rng.uniform(0.35, 0.65) * W, rng.uniform(0.35, 0.65) * H
        d = 1 if rng.random() < 0.5 else -1
        span = min(W - 2 * r, sp * (1.4 * (r + r2) + rng.uniform(0.1, 0.3) * W))
        cx = bx + d * span * (tt - 0.5)
        cy = by + rng.normal(0, 0.08) * r2 + np.zeros(T)
        partner_at = (bx, by, r2 * 1.2, y == 13)
    elif y == 14:
        stop, d = rng.uniform(0.35, 0.6), (1 if rng.random() < 0.5 else -1)
        prog = d * (np.minimum(t / stop, 1) - 1) * 0.5  # from -d/2 to 0: half of a full move, then still
        if rng.random() < 0.5:
            cx = W / 2 + span_x * prog
        else:
            cy = H / 2 + span_y * prog
    elif y == 15:
        t0 = rng.uniform(0.0, 0.3)
        y0 = rng.uniform(0.12, 0.35) * H
        cy = y0 + 0.5 * sp * rng.uniform(1.8, 2.6) * H * np.maximum(t - t0, 0) ** 2
    elif y == 16:
        y0, hgt = rng.uniform(0.65, 0.85) * H, sp * rng.uniform(0.35, 0.5) * H
        cy = y0 - 4 * min(hgt, y0 - r) * t * (1 - t)
    elif y in (17, 18):
        bx, by = rng.uniform(0.3, 0.7) * W, rng.uniform(0.3, 0.7) * H
        phi = rng.uniform(0, 2 * np.pi)
        near, far = r + r2, r + r2 + sp * rng.uniform(0.3, 0.45) * S
        dist = near + (far - near) * (1 - tt if y == 17 else tt)
        cx, cy = bx + dist * np.cos(phi), by + dist * np.sin(phi)
        partner_at = (bx, by, r2, False)
    elif y == 19:
        cycles, amp = rng.uniform(1.3, 2.0), sp * rng.uniform(0.15, 0.25) * W
        cx = cx + amp * np.sin(2 * np.pi * cycles * t + rng.uniform(0, 2 * np.pi))
    for thing, rd, xs_, ys_, ang, rot in distractors:  # slow random drifts
        _draw(canvas, thing, xs_[0] + (xs_[1] - xs_[0]) * 0.3 * t - ox, ys_[0] + (ys_[1] - ys_[0]) * 0.3 * t - oy,
              rd, ang + rot * t)
    actor_args = (actor, cx - ox, cy - oy, r * scale, angle, alpha)
    bx, by, rb, partner_in_front = partner_at
    if not partner_in_front:
        _draw(canvas, partner, bx - ox, by - oy, rb, a0 * 0.7)
    _draw(canvas, *actor_args)
    if partner_in_front:
        _draw(canvas, partner, bx - ox, by - oy, rb, a0 * 0.7)
    return _finish(rng, canvas, cfg.noise), y


# --- kinetics-like ---------------------------------------------------------------------------------------------------
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


def _vary_colors(rng, hsv: np.ndarray, spread: float) -> np.ndarray:
    noise = rng.normal(0, 1, hsv.shape) * np.array([0.04, 0.12, 0.12]) * spread
    out = hsv + noise
    return _hsv(out[..., 0], np.clip(out[..., 1], 0, 1), np.clip(out[..., 2], 0.05, 1))


def _class_thing(rng, proto: dict, spread: float) -> _Thing:
    k = proto["tex"]
    palette = _vary_colors(rng, proto["obj_hsv"], spread)
    layout = proto["layout"][:k, :k].copy()
    flips = rng.random(layout.shape) < 0.25 * spread
    layout[flips] = rng.integers(0, 3, flips.sum())
    return _Thing(proto["shape"], palette[layout].astype(np.float32))


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
    ox, oy, m = _jitter_offsets(rng, T, cfg.jitter)
    freq = proto["freq"] * np.exp(rng.normal(0, 0.25 * sp))
    ang = proto["angle"] + rng.normal(0, 0.5 * sp)
    world = _background(rng, H + 2 * m, W + 2 * m, cfg.clutter, _vary_colors(rng, proto["bg_hsv"], sp),
                        proto["scene"], freq, ang)
    canvas = np.stack([world[m + oy[i]: m + oy[i] + H, m + ox[i]: m + ox[i] + W] for i in range(T)])
    t = np.linspace(0, 1, T, dtype=np.float32)
    for _ in range(cfg.distractors):  # objects that look like another class's
        other = _prototype(int(rng.integers(cfg.classes)))
        thing = _class_thing(rng, other, 1.0)
        _draw(canvas, thing, *_random_motion(rng, t, W, H, 0.6 * rng.uniform(*cfg.object_size) * S / 2, cfg.speed,
                                             ox, oy))
    r = rng.uniform(*cfg.object_size) * S / 2
    _draw(canvas, _class_thing(rng, proto, sp), *_random_motion(rng, t, W, H, r, cfg.speed, ox, oy))
    return _finish(rng, canvas, cfg.noise), y


def _random_motion(rng, t, W, H, r, speed, ox, oy):
    """Label-free motion: a random straight path, spin and zoom. Returns (cx, cy, radius, angle)."""
    p0 = rng.uniform([0.2 * W, 0.2 * H], [0.8 * W, 0.8 * H])
    v = rng.normal(0, 0.25 * speed, 2) * np.array([W, H])
    zoom = np.exp(rng.normal(0, 0.2 * speed) * (t - 0.5))
    return (p0[0] + v[0] * (t - 0.5) - ox, p0[1] + v[1] * (t - 0.5) - oy, r * zoom,
            rng.uniform(0, 2 * np.pi) + rng.normal(0, 1.0 * speed) * t)
