"""The controls of every trained study: a spatial-only net that cannot see the order of frames, and a temporal
twin at its FLOPs.

`temporal_control(spec)` sets every kernel's temporal extent to 1 (the stem's conv, the stem's X3D temporal conv
removed, every stage's depthwise Kt). Every remaining operation then acts on each frame alone (convs, BN, ReLU) or
on all frames alike (SE's and the head's global average pools), so the network's logits are the same for a clip
and its time reversal: on the motion benchmark, whose classes come in time-reversed pairs, it is right on at most
one clip of each pair, 50 % at the very best. `temporal_twin(spec)` is `spec` itself width-scaled to the control's
FLOPs, so that "temporal beats spatial" is not read off a difference in compute. `check_controls` is the verdict
the studies read first: nothing else is read unless the control stays below that ceiling and the temporal net is
clearly above the control.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .cost import macs
from .power import mean_ci
from .presets import match_flops
from .spec import ArchSpec


def temporal_control(spec: ArchSpec) -> ArchSpec:
    """`spec` with every kernel's Kt set to 1 (and no stem temporal conv): a net blind to the order of frames."""
    return replace(spec, name=f"{spec.name}-spatial",
                   stem=replace(spec.stem, kt=1, temporal_kernel=0),
                   stages=tuple(replace(s, kt=1) for s in spec.stages))


def temporal_twin(spec: ArchSpec) -> ArchSpec:
    """`spec` (its temporal kernels kept) width-scaled so that its FLOPs ("macs") come closest to those of
    `temporal_control(spec)`."""
    twin = match_flops(spec, macs(temporal_control(spec)))
    return replace(twin, name=f"{spec.name}-twin")


def is_temporal(spec: ArchSpec) -> bool:
    """Whether any kernel of `spec` spans more than one frame."""
    return spec.stem.kt > 1 or spec.stem.temporal_kernel > 1 or any(s.kt > 1 for s in spec.stages)


def reversal_asymmetry(model, clips) -> float:
    """How much a network's pooled conv5 features change when its clips are played backwards:
    ||f(x) - f(reverse(x))|| / ||f(x)|| over a batch `clips` (B, C, T, H, W), in the model's current mode.

    0 (up to float rounding) for `temporal_control` nets -- and for any net whose temporal kernels all sit in
    residual branches that are switched off, as X3D's zero-initialised last BN of each branch does at
    initialisation (notebook 07)."""
    import torch

    with torch.no_grad():
        def pooled(x):
            return model.head.conv5(model.forward_features(x)).mean(dim=(2, 3, 4))

        a, b = pooled(clips), pooled(clips.flip(2))
    return float((a - b).norm() / a.norm().clamp_min(1e-12))


@dataclass(frozen=True)
class ControlCheck:
    """The controls' verdict: the spatial control's and the temporal net's mean top-1 with 95 % t-intervals
    (mean, low, high); `ceiling`, the most a net blind to the order of frames can reach where every class has its
    time reversal as a partner (it gives a clip and its reversal the same logits, so at most one of each pair is
    right: 50 %), plus 3 points; `control_ok`: the control stayed at or below it (no leak of frame order);
    `beats`: the temporal net clearly beat the control (its interval above the control's; with fewer than 2 runs on
    a side, its mean above). Nothing else of a study is read unless `holds`."""

    control: tuple[float, float, float]
    temporal: tuple[float, float, float]
    ceiling: float
    control_ok: bool
    beats: bool

    @property
    def holds(self) -> bool:
        """Both conditions: the benchmark measures temporal modelling."""
        return self.control_ok and self.beats


def check_controls(control_top1, temporal_top1, paired_fraction: float = 1.0) -> ControlCheck:
    """`ControlCheck` from the control's top-1 of every run (blind by construction: all runs count) and the
    temporal net's top-1 of its runs that did not collapse. `paired_fraction`: the share of validation clips whose
    class has a time-reversed partner class (1 on the motion benchmark); the blind ceiling is
    1 - paired_fraction / 2 (+ 3 points)."""
    c, t = mean_ci(control_top1), mean_ci(temporal_top1)
    ceiling = 1 - paired_fraction / 2 + 0.03
    both = len(control_top1) > 1 and len(temporal_top1) > 1
    beats = bool(t[1] > c[2]) if both else bool(t[0] > c[0])
    return ControlCheck(c, t, ceiling, bool(c[0] <= ceiling), beats)
