"""Architecture specification: frozen dataclasses for a 3D CNN of the X3D/E3D family.

A network is a stem, a sequence of stages of 3D inverted-bottleneck blocks, and a head:

    stem    1xkxk conv (spatial stride) [+ depthwise kt x1x1 temporal conv, X3D only], BN, ReLU
    stage   depth x [1x1x1 expand -> BN -> act;  depthwise Kt x K x K (stride on block 0) -> BN -> [SE] -> act;
                     1x1x1 project -> BN;  + residual (identity, or 1x1x1 strided projection + BN);  ReLU]
    head    conv5 1x1x1 -> BN -> ReLU -> global average pool -> FC (2048) -> ReLU -> dropout -> classifier

The fields mirror the paper's Table 9 (E3D) and the X3D paper's Table 1. Everything that changes the analytic
FLOPs/params (SE ratio and placement, FC width, classes) is part of the spec, so that `e3dlib.cost` matches the
model `e3dlib.model.build_model` builds, parameter for parameter.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

ACTIVATIONS = ("relu", "swish")


class SpecError(ValueError):
    """An architecture spec is invalid; the message says which field and why."""


@dataclass(frozen=True)
class StemSpec:
    """Stem: a `kt x k x k` conv from RGB with spatial stride, optionally followed by X3D's depthwise
    `temporal_kernel x 1 x 1` conv (0 = none)."""

    out_channels: int
    k: int = 3
    kt: int = 1
    stride: int = 2
    temporal_kernel: int = 0


@dataclass(frozen=True)
class StageSpec:
    """One stage of `depth` inverted-bottleneck blocks; the first block carries the spatial stride and the
    change of width. `bottleneck` is the number of channels of the depthwise conv (paper: btn)."""

    out_channels: int
    bottleneck: int
    kt: int
    k: int
    stride: int
    depth: int


@dataclass(frozen=True)
class HeadSpec:
    """conv5 (1x1x1, BN, ReLU) -> global pool -> FC of `fc_channels` (no bias, ReLU) -> classifier."""

    conv_channels: int
    fc_channels: int = 2048


@dataclass(frozen=True)
class ArchSpec:
    """A whole network at a given input size (frames x size x size).

    `se_ratio` > 0 puts a squeeze-excitation module after the depthwise conv of every `se_every`-th block of
    each stage (blocks 0, se_every, 2*se_every, ...), as X3D does with ratio 1/16 on every other block;
    `act` is the activation after the depthwise conv (X3D: swish); the other activations are ReLU.
    """

    name: str
    frames: int
    size: int
    stem: StemSpec
    stages: tuple[StageSpec, ...]
    head: HeadSpec
    num_classes: int = 400
    se_ratio: float = 0.0
    se_every: int = 2
    act: str = "relu"
    in_channels: int = 3

    def __post_init__(self) -> None:
        validate(self)

    # --- convenience -------------------------------------------------------------------------
    def with_input(self, frames: int | None = None, size: int | None = None) -> ArchSpec:
        """The same network at another input size."""
        return replace(self, frames=self.frames if frames is None else frames,
                       size=self.size if size is None else size)

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON data (stages a list of dicts); `from_dict` reads it back."""
        d = asdict(self)
        d["stages"] = [dict(s) for s in d["stages"]]
        return d

    @staticmethod
    def network(arch: dict[str, Any], ignore: tuple[str, ...] = ()) -> dict[str, Any]:
        """An architecture dict (`to_dict`, or one read back from JSON) without what a run may change while the
        network stays the same: its name and input size, and the fields in `ignore` (e.g. num_classes, set by the
        data). Two runs are of the same network when these are equal."""
        drop = {"name", "frames", "size", *ignore}
        return {k: v for k, v in json.loads(json.dumps(arch)).items() if k not in drop}

    def to_json(self, indent: int | None = 2) -> str:
        """`to_dict()` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArchSpec:
        """Build a spec from `to_dict()` output; unknown or missing keys raise `SpecError` naming them."""
        if not isinstance(d, dict):
            raise SpecError(f"an architecture must be a JSON object, got {type(d).__name__}")
        d = dict(d)
        try:
            stem = _make(StemSpec, d.pop("stem"), "stem")
            head = _make(HeadSpec, d.pop("head"), "head")
            raw_stages = d.pop("stages")
        except KeyError as e:
            raise SpecError(f"missing field {e.args[0]!r}") from None
        if not isinstance(raw_stages, list) or not raw_stages:
            raise SpecError("field 'stages' must be a non-empty list")
        stages = tuple(_make(StageSpec, s, f"stages[{i}]") for i, s in enumerate(raw_stages))
        return _make(cls, {**d, "stem": stem, "head": head, "stages": stages}, "arch")

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        """A spec from JSON text; malformed JSON raises `SpecError` with its line and column."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        except RecursionError:
            raise SpecError("malformed JSON: nested too deeply") from None
        return cls.from_dict(d)

    def save(self, path: str | Path) -> None:
        """Write `to_json()` and a newline to `path`."""
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ArchSpec:
        """The spec in a JSON spec file (as `save` writes it)."""
        return cls.from_json(Path(path).read_text())


def _make(cls: type, d: Any, where: str) -> Any:
    if not isinstance(d, dict):
        raise SpecError(f"{where} must be an object, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
    try:
        return cls(**d)
    except TypeError as e:
        raise SpecError(f"{where}: {e}") from None


MAX_INT = 100_000  # no field of a buildable network comes near it: widths, depths, frames, sizes, classes


def _int(value: Any, where: str, lo: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where} must be an integer, got {value!r}")
    if not lo <= value <= MAX_INT:
        raise SpecError(f"{where} must be in {lo}..{MAX_INT}, got {value}")


def _odd(value: int, where: str) -> None:
    _int(value, where)
    if value % 2 == 0:
        raise SpecError(f"{where} must be odd (same padding), got {value}")


def _stride(value: Any, where: str) -> None:
    if value not in (1, 2) or isinstance(value, bool):
        raise SpecError(f"{where} must be 1 or 2, got {value!r}")


def validate(spec: ArchSpec) -> None:
    """Raise `SpecError` (one line, naming the field) unless `spec` describes a buildable network."""
    if not isinstance(spec.name, str):
        raise SpecError(f"name must be a string, got {spec.name!r}")
    _int(spec.frames, "frames")
    _int(spec.size, "size")
    _int(spec.in_channels, "in_channels")
    _int(spec.num_classes, "num_classes")
    s = spec.stem
    if not isinstance(s, StemSpec):
        raise SpecError("stem must be a StemSpec")
    _int(s.out_channels, "stem.out_channels")
    _odd(s.k, "stem.k")
    _odd(s.kt, "stem.kt")
    _stride(s.stride, "stem.stride")
    _int(s.temporal_kernel, "stem.temporal_kernel", lo=0)
    if s.temporal_kernel and s.temporal_kernel % 2 == 0:
        raise SpecError(f"stem.temporal_kernel must be odd or 0, got {s.temporal_kernel}")
    if not isinstance(spec.stages, tuple) or not spec.stages:
        raise SpecError("stages must be a non-empty tuple of StageSpec")
    for i, st in enumerate(spec.stages):
        if not isinstance(st, StageSpec):
            raise SpecError(f"stages[{i}] must be a StageSpec")
        _int(st.out_channels, f"stages[{i}].out_channels")
        _int(st.bottleneck, f"stages[{i}].bottleneck")
        _odd(st.kt, f"stages[{i}].kt")
        _odd(st.k, f"stages[{i}].k")
        _stride(st.stride, f"stages[{i}].stride")
        _int(st.depth, f"stages[{i}].depth")
    if not isinstance(spec.head, HeadSpec):
        raise SpecError("head must be a HeadSpec")
    _int(spec.head.conv_channels, "head.conv_channels")
    _int(spec.head.fc_channels, "head.fc_channels")
    if isinstance(spec.se_ratio, bool) or not isinstance(spec.se_ratio, (int, float)) or not (
            0.0 <= spec.se_ratio < 1.0):
        raise SpecError(f"se_ratio must be in [0, 1), got {spec.se_ratio!r}")
    _int(spec.se_every, "se_every")
    if spec.act not in ACTIVATIONS:
        raise SpecError(f"act must be one of {ACTIVATIONS}, got {spec.act!r}")


def conv_out(n: int, k: int, stride: int) -> int:
    """Output length of a conv with 'same' padding (k-1)//2: floor((n + 2p - k)/s) + 1 (never below 1)."""
    return (n + 2 * ((k - 1) // 2) - k) // stride + 1


def round_width(width: float, divisor: int = 8, min_width: int | None = None) -> int:
    """Round a channel count to a multiple of `divisor`, never more than 10% below `width` (MobileNet/X3D)."""
    min_width = min_width or divisor
    out = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if out < 0.9 * width:
        out += divisor
    return int(out)


def se_channels(channels: int, ratio: float) -> int:
    """Bottleneck width of a squeeze-excitation module on `channels` (X3D: round_width(c * 1/16), >= 8)."""
    return round_width(channels * ratio)


def has_se(spec: ArchSpec, block_index: int) -> bool:
    """Whether block `block_index` of a stage has squeeze-excitation: every `se_every`-th, when `se_ratio` > 0."""
    return spec.se_ratio > 0 and block_index % spec.se_every == 0


def num_layers(spec: ArchSpec) -> int:
    """Conv layers of the backbone as the official code counts them: stem (1, +1 with a temporal conv),
    3 per block, conv5 (SE, residual projections and the FC head are not counted). E3D-S has 83."""
    return 1 + (1 if spec.stem.temporal_kernel else 0) + 3 * sum(s.depth for s in spec.stages) + 1
