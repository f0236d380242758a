"""something-like clips: motion-dominated (the role of Something-Something). Textured objects of random appearance
on cluttered textured backgrounds, with camera jitter, distractor objects and noise; the 20 classes
(`SOMETHING_CLASSES`) differ only in how things move over time (direction, order, speed profile, occlusion
order): telling them apart needs the order of the frames. `MOTION_SETTINGS` is the motion benchmark's preset.

`render_something` draws, from one generator and always in this order: the camera shake, the scene and its table
(`_scene`), the objects' looks and sizes (`_cast`), the motion every class shares (`_motion`), then the class's
own motion (`_CLASS_MOTIONS[label]`), and last the flicker and noise; compositing (`_compose`) draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layouts import DataError
from .primitives import (
    Thing,
    background,
    check_config,
    draw,
    finish,
    jitter_offsets,
    random_thing,
    shaken,
    smooth_noise,
)

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
        check_config(self)
        if not 2 <= self.classes <= len(SOMETHING_CLASSES):
            raise DataError(f"something-like classes must be in 2..{len(SOMETHING_CLASSES)}, got {self.classes}")

    @property
    def num_classes(self) -> int:
        """The number of classes (`classes`)."""
        return self.classes


def render_something(cfg: SomethingConfig, seed: int, index: int, label: int) -> tuple[np.ndarray, int]:
    """Clip `index` of class `label`: (frames uint8 (T, H, W, 3), label)."""
    if not 0 <= label < cfg.classes:
        raise ValueError(f"something-like label must be in 0..{cfg.classes - 1}, got {label}")
    rng = np.random.default_rng([seed, index])
    canvas, ox, oy, table = _scene(rng, cfg, label)
    actor, partner, distractors, r, r2 = _cast(rng, cfg)
    mo = _motion(rng, cfg, r, r2, table)
    _CLASS_MOTIONS[label](rng, label, mo)
    _compose(canvas, mo, actor, partner, distractors, ox, oy)
    return finish(rng, canvas, cfg.noise), label


def _scene(rng: np.random.Generator, cfg: SomethingConfig, y: int):
    """The shaken camera's frames (T, H, W, 3) of a static scene, the offsets (ox, oy) and the table."""
    T, H, W = cfg.frames, cfg.height, cfg.width
    ox, oy, m = jitter_offsets(rng, T, cfg.jitter)
    world = background(rng, H + 2 * m, W + 2 * m, cfg.clutter)
    table = _table(rng, world, m, H, W, y)
    return shaken(world, ox, oy, m, H, W), ox, oy, table


def _table(rng: np.random.Generator, world: np.ndarray, m: int, H: int, W: int, y: int) -> tuple[bool, float, float]:
    """A table in 60% of all clips (always for the pushing classes, on the side the push starts from), painted
    onto `world` in place; returns (on the left, edge x, top y) whether or not it was painted."""
    table_left, table_edge, table_y = rng.random() < 0.5, rng.uniform(0.5, 0.7) * W, rng.uniform(0.6, 0.75) * H
    if y in (10, 11):
        table_left = y == 10
    if rng.random() < 0.6 or y in (10, 11):
        rows = world[m + int(table_y):]
        region = rows[:, : m + int(table_edge)] if table_left else rows[:, m + W - int(table_edge):]
        top = random_thing(rng).texture.mean((0, 1)) * rng.uniform(0.6, 0.9)
        region[:] = top * (0.85 + 0.15 * smooth_noise(rng, *region.shape[:2], 6))[..., None]
    return table_left, table_edge, table_y


def _cast(rng: np.random.Generator, cfg: SomethingConfig):
    """The actor, the partner, the distractors (look, radius, start and end x, start and end y, angle, spin) and
    the actor's and partner's radii. Appearance and sizes are drawn the same way for every class: they carry no
    label information."""
    H, W = cfg.height, cfg.width
    S = min(H, W)
    actor, partner = random_thing(rng), random_thing(rng)
    r = rng.uniform(*cfg.object_size) * S / 2
    r2 = rng.uniform(*cfg.object_size) * S / 2
    distractors = [(random_thing(rng), rng.uniform(0.6, 1.0) * r, rng.uniform(0, W, 2), rng.uniform(0, H, 2),
                    rng.uniform(0, 2 * np.pi), rng.normal(0, 0.6)) for _ in range(cfg.distractors)]
    return actor, partner, distractors, r, r2


@dataclass
class _Motion:
    """One clip's motion: what the class motions read (sizes, time, the shared draws, the table) and the actor's
    per-frame path they overwrite (cx, cy, scale, angle, alpha) and where the partner stands."""

    W: int
    H: int
    S: int
    sp: float  # cfg.speed
    t: np.ndarray  # time 0..1 per frame
    tt: np.ndarray  # eased time
    r: float  # actor radius
    r2: float  # partner radius
    a0: float  # the actor's angle at the start
    span_x: float
    span_y: float
    table: tuple[bool, float, float]  # (on the left, edge x, top y)
    cx: np.ndarray
    cy: np.ndarray
    scale: np.ndarray
    angle: np.ndarray
    alpha: np.ndarray
    partner_at: tuple  # (x, y, radius, in front of the actor)


def _motion(rng: np.random.Generator, cfg: SomethingConfig, r: float, r2: float, table) -> _Motion:
    """The motion every class starts from: a slow drift and spin about a random centre at an eased speed; the
    partner standing anywhere (the second "something" of classes 12, 13, 17, 18)."""
    T, H, W = cfg.frames, cfg.height, cfg.width
    S = min(H, W)
    t = np.linspace(0, 1, T, dtype=np.float32)
    sp = cfg.speed
    a0, spin = rng.uniform(0, 2 * np.pi), rng.normal(0, 0.15)
    angle = a0 + spin * t
    ease = rng.uniform(0.0, 0.6)  # velocity profile: 0 = constant speed, >0 = ease in/out
    tt = (1 - ease) * t + ease * (3 * t * t - 2 * t ** 3)
    cx = np.full(T, rng.uniform(0.3, 0.7) * W, np.float32)
    cy = np.full(T, rng.uniform(0.3, 0.7) * H, np.float32)
    drift = rng.normal(0, 0.02 * S, 2)
    cx, cy = cx + drift[0] * t, cy + drift[1] * t
    scale, alpha = np.ones(T, np.float32), np.ones(T, np.float32)
    partner_at = (rng.uniform(0.2, 0.8) * W, rng.uniform(0.2, 0.8) * H, r2, False)
    span_x = min(sp * rng.uniform(0.45, 0.7) * W, W - 2 * r)
    span_y = min(sp * rng.uniform(0.4, 0.6) * H, H - 2 * r)
    return _Motion(W, H, S, sp, t, tt, r, r2, a0, span_x, span_y, table, cx, cy, scale, angle, alpha, partner_at)


# --- the class motions: each overwrites part of the shared motion, drawing from rng in a fixed order -------------
def _left_right(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """0, 1: moving from left to right / right to left."""
    x0 = rng.uniform(mo.r, max(mo.r, mo.W - mo.r - mo.span_x))  # max: float round-off when the span is capped
    mo.cx = x0 + mo.span_x * (mo.tt if y == 0 else 1 - mo.tt)


def _up_down(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """2, 3: moving up / down."""
    y0 = rng.uniform(mo.r, max(mo.r, mo.H - mo.r - mo.span_y))
    mo.cy = y0 + mo.span_y * (1 - mo.tt if y == 2 else mo.tt)


def _closer_away(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """4, 5: moving closer to / away from the camera (growing / shrinking)."""
    k = 1 + mo.sp * rng.uniform(0.7, 1.2)
    s = k ** (mo.tt if y == 4 else 1 - mo.tt)
    mo.scale = (s / np.sqrt(k)).astype(np.float32)


def _turning(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """6, 7: turning clockwise / counterclockwise."""
    w_ = mo.sp * rng.uniform(0.6, 1.1) * np.pi * (1 if y == 6 else -1)
    mo.angle = mo.a0 + w_ * mo.tt


def _appearing(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """8, 9: appearing / disappearing (a sigmoid fade)."""
    t0, width = rng.uniform(0.3, 0.7), rng.uniform(0.02, 0.12)
    alpha = 1 / (1 + np.exp(-(mo.t - t0) / width))
    mo.alpha = (alpha if y == 8 else 1 - alpha).astype(np.float32)


def _pushed_off(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """10, 11: on a table that ends at its edge, pushed towards the edge, over it, then falling."""
    table_left, table_edge, table_y = mo.table
    t, r = mo.t, mo.r
    edge = table_edge if table_left else mo.W - table_edge
    d = 1 if y == 10 else -1
    t_edge = rng.uniform(0.3, 0.55)
    v = mo.sp * rng.uniform(0.35, 0.55) * mo.W
    mo.cx = edge + d * (r * 0.3 + v * (t - t_edge))
    top = table_y - r
    fall = np.maximum(t - t_edge - 0.05, 0)
    mo.cy = top + 0.5 * rng.uniform(5, 8) * mo.H * fall ** 2
    mo.angle = mo.a0 + d * 2.5 * fall


def _passing(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """12, 13: passing in front of / behind the partner."""
    W, H, r, r2 = mo.W, mo.H, mo.r, mo.r2
    bx, by = rng.uniform(0.35, 0.65) * W, rng.uniform(0.35, 0.65) * H
    d = 1 if rng.random() < 0.5 else -1
    span = min(W - 2 * r, mo.sp * (1.4 * (r + r2) + rng.uniform(0.1, 0.3) * W))
    mo.cx = bx + d * span * (mo.tt - 0.5)
    mo.cy = by + rng.normal(0, 0.08) * r2 + np.zeros(len(mo.t))
    mo.partner_at = (bx, by, r2 * 1.2, y == 13)


def _stopping_halfway(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """14: half of a full move, then still."""
    stop, d = rng.uniform(0.35, 0.6), (1 if rng.random() < 0.5 else -1)
    prog = d * (np.minimum(mo.t / stop, 1) - 1) * 0.5  # from -d/2 to 0
    if rng.random() < 0.5:
        mo.cx = mo.W / 2 + mo.span_x * prog
    else:
        mo.cy = mo.H / 2 + mo.span_y * prog


def _dropping(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """15: falling from rest after a random start."""
    t0 = rng.uniform(0.0, 0.3)
    y0 = rng.uniform(0.12, 0.35) * mo.H
    mo.cy = y0 + 0.5 * mo.sp * rng.uniform(1.8, 2.6) * mo.H * np.maximum(mo.t - t0, 0) ** 2


def _throwing(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """16: thrown up and caught (a parabola)."""
    t = mo.t
    y0, hgt = rng.uniform(0.65, 0.85) * mo.H, mo.sp * rng.uniform(0.35, 0.5) * mo.H
    mo.cy = y0 - 4 * min(hgt, y0 - mo.r) * t * (1 - t)


def _closer_to_partner(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """17, 18: moving closer to / away from the partner."""
    W, H, r, r2 = mo.W, mo.H, mo.r, mo.r2
    bx, by = rng.uniform(0.3, 0.7) * W, rng.uniform(0.3, 0.7) * H
    phi = rng.uniform(0, 2 * np.pi)
    near, far = r + r2, r + r2 + mo.sp * rng.uniform(0.3, 0.45) * mo.S
    dist = near + (far - near) * (1 - mo.tt if y == 17 else mo.tt)
    mo.cx, mo.cy = bx + dist * np.cos(phi), by + dist * np.sin(phi)
    mo.partner_at = (bx, by, r2, False)


def _back_and_forth(rng: np.random.Generator, y: int, mo: _Motion) -> None:
    """19: a horizontal oscillation on top of the shared drift."""
    cycles, amp = rng.uniform(1.3, 2.0), mo.sp * rng.uniform(0.15, 0.25) * mo.W
    mo.cx = mo.cx + amp * np.sin(2 * np.pi * cycles * mo.t + rng.uniform(0, 2 * np.pi))


_CLASS_MOTIONS = (_left_right, _left_right, _up_down, _up_down, _closer_away, _closer_away, _turning, _turning,
                  _appearing, _appearing, _pushed_off, _pushed_off, _passing, _passing, _stopping_halfway,
                  _dropping, _throwing, _closer_to_partner, _closer_to_partner, _back_and_forth)


def _compose(canvas: np.ndarray, mo: _Motion, actor: Thing, partner: Thing, distractors: list, ox: np.ndarray,
             oy: np.ndarray) -> None:
    """Draw the distractors (slow random drifts), then the partner and the actor in the class's depth order."""
    t = mo.t
    for thing, rd, xs_, ys_, ang, rot in distractors:
        draw(canvas, thing, xs_[0] + (xs_[1] - xs_[0]) * 0.3 * t - ox, ys_[0] + (ys_[1] - ys_[0]) * 0.3 * t - oy,
             rd, ang + rot * t)
    bx, by, rb, partner_in_front = mo.partner_at
    if not partner_in_front:
        draw(canvas, partner, bx - ox, by - oy, rb, mo.a0 * 0.7)
    draw(canvas, actor, mo.cx - ox, mo.cy - oy, mo.r * mo.scale, mo.angle, mo.alpha)
    if partner_in_front:
        draw(canvas, partner, bx - ox, by - oy, rb, mo.a0 * 0.7)
