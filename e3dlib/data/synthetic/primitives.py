"""What the synthetic renderers share: the settings check, colours, shapes and their textures, compositing, static
scenes, camera shake and the final flicker, noise and uint8 conversion. Every function draws from the generator
it is given, in a fixed order: a clip is a pure function of its generator's seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layouts import DataError

SHAPES = ("disk", "square", "diamond", "triangle", "cross", "ring", "ellipse", "star")


def check_config(cfg) -> None:
    """Raise `DataError` unless the settings both configurations share (frames, size, difficulty) are valid."""
    name = type(cfg).__name__
    if cfg.frames < 1 or cfg.fps < 1:
        raise DataError(f"{name}: frames and fps must be >= 1")
    if min(cfg.height, cfg.width) < 16 or cfg.height % 2 or cfg.width % 2:
        raise DataError(f"{name}: height and width must be even and >= 16, got {cfg.height}x{cfg.width}")
    if len(cfg.object_size) != 2 or not 0 < cfg.object_size[0] <= cfg.object_size[1] <= 1:
        raise DataError(f"{name}: object_size must be 0 < lo <= hi <= 1, got {cfg.object_size}")
    if min(cfg.noise, cfg.jitter, cfg.speed, cfg.clutter, cfg.distractors) < 0:
        raise DataError(f"{name}: noise, jitter, speed, clutter and distractors must be >= 0")


def hsv(h, s, v) -> np.ndarray:
    """HSV in [0, 1] (arrays broadcast) -> RGB float in [0, 1], shape (..., 3)."""
    h, s, v = np.broadcast_arrays(np.asarray(h, float) % 1.0, np.asarray(s, float), np.asarray(v, float))
    k = (np.array([5.0, 3.0, 1.0]) + h[..., None] * 6) % 6
    return v[..., None] - v[..., None] * s[..., None] * np.clip(np.minimum(k, 4 - k), 0, 1)


def smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Bilinearly upsampled coarse uniform noise in [0, 1], shape (h, w)."""
    g = rng.random((cells + 1, cells + 1))
    y = np.linspace(0, cells, h, endpoint=False)
    x = np.linspace(0, cells, w, endpoint=False)
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    a, b = g[y0][:, x0], g[y0][:, x0 + 1]
    c, d = g[y0 + 1][:, x0], g[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def sdf(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
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
class Thing:
    """An object's look: a shape and a small texture image (K, K, 3) stretched over it."""

    shape: str
    texture: np.ndarray


def random_thing(rng: np.random.Generator, shape: str | None = None) -> Thing:
    """An object of random shape (unless given) and a random 3-colour texture with an asymmetric mark."""
    shape = shape or SHAPES[rng.integers(len(SHAPES))]
    k = int(rng.integers(3, 7))
    palette = hsv(rng.random(3), rng.uniform(0.4, 1.0, 3), rng.uniform(0.35, 1.0, 3))
    tex = palette[rng.integers(0, 3, (k, k))]
    tex[: k // 2 + 1, :1] = palette[0] * 0.4  # an asymmetric mark so that every rotation is visible
    return Thing(shape, tex.astype(np.float32))


def draw(canvas: np.ndarray, thing: Thing, cx, cy, radius, angle, alpha=1.0) -> None:
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
    m = (np.clip(0.5 - sdf(thing.shape, u, v) * radius, 0, 1) * alpha)[..., None]
    k = thing.texture.shape[0]
    iu = np.clip(((u + 1) * (0.5 * k)).astype(np.int32), 0, k - 1)
    iv = np.clip(((v + 1) * (0.5 * k)).astype(np.int32), 0, k - 1)
    box = canvas[:, y0:y1, x0:x1]
    box *= 1 - m
    box += thing.texture[iv, iu] * m


def background(rng: np.random.Generator, h: int, w: int, clutter: int, colors: np.ndarray | None = None,
               pattern: str | None = None, freq: float = 0.0, angle: float = 0.0) -> np.ndarray:
    """A static textured scene (h, w, 3): two colours mixed by smooth noise and an optional pattern, plus
    `clutter` random shapes."""
    if colors is None:
        colors = hsv(rng.random(2), rng.uniform(0.1, 0.7, 2), rng.uniform(0.3, 0.95, 2))
    mix = smooth_noise(rng, h, w, int(rng.integers(2, 6)))
    if pattern is not None and pattern != "plain":
        ys, xs = np.mgrid[0:h, 0:w] / max(h, w)
        p = scene_pattern(pattern, xs, ys, freq, angle, rng)
        mix = 0.35 * mix + 0.65 * p
    bg = colors[0] * (1 - mix[..., None]) + colors[1] * mix[..., None]
    canvas = bg[None].astype(np.float32)
    for _ in range(clutter):
        thing = random_thing(rng)
        thing.texture = 0.5 * thing.texture + 0.5 * thing.texture.mean((0, 1))  # muted: scenery, not actors
        draw(canvas, thing, rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.04, 0.14) * min(h, w),
             rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 0.9))
    return canvas[0]


def scene_pattern(name: str, xs: np.ndarray, ys: np.ndarray, freq: float, angle: float, rng) -> np.ndarray:
    """The pattern `name` (a scene of `kinetics.SCENES` other than "plain") in [0, 1] at coordinates xs, ys."""
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
        return (smooth_noise(rng, *xs.shape, max(2, int(freq))) > 0.5).astype(float)
    raise ValueError(f"unknown pattern {name!r}")


def jitter_offsets(rng: np.random.Generator, t: int, jitter: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Camera shake: a bounded random walk of integer pixel offsets, and the margin it needs."""
    m = int(np.ceil(3 * jitter))
    walk = np.clip(np.cumsum(rng.normal(0, jitter, (2, t)), axis=1), -m, m) if m else np.zeros((2, t))
    off = np.round(walk).astype(int)
    return off[0], off[1], m


def shaken(world: np.ndarray, ox: np.ndarray, oy: np.ndarray, m: int, h: int, w: int) -> np.ndarray:
    """The frames (T, h, w, 3) that a camera shaken by offsets (ox, oy) sees of a static scene with margin m."""
    return np.stack([world[m + oy[i]: m + oy[i] + h, m + ox[i]: m + ox[i] + w] for i in range(len(ox))])


def finish(rng: np.random.Generator, canvas: np.ndarray, noise: float) -> np.ndarray:
    """Per-frame brightness flicker and pixel noise, then uint8."""
    t = canvas.shape[0]
    canvas *= rng.uniform(0.92, 1.08, (t, 1, 1, 1)).astype(np.float32)
    if noise > 0:
        canvas += rng.standard_normal(canvas.shape, dtype=np.float32) * np.float32(noise)
    return (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)
