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

* `something` -- the something-like classes, `SomethingConfig`, `MOTION_SETTINGS` and `render_something`;
* `kinetics` -- the kinetics-like classes (shape x scene x tone), `KineticsConfig` and `render_kinetics`;
* `primitives` -- what both share: the settings check, colours, shapes, compositing, scenes, shake and noise.
"""

from .kinetics import MAX_KINETICS_CLASSES, SCENES, TONES, KineticsConfig, kinetics_classes, render_kinetics
from .primitives import SHAPES
from .something import MOTION_SETTINGS, SOMETHING_CLASSES, SOMETHING_FLIP_PAIRS, SomethingConfig, render_something

__all__ = ["MAX_KINETICS_CLASSES", "MOTION_SETTINGS", "SCENES", "SHAPES", "SOMETHING_CLASSES", "SOMETHING_FLIP_PAIRS",
           "TONES", "KineticsConfig", "SomethingConfig", "kinetics_classes", "render_kinetics", "render_something"]
