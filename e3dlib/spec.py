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
from typing import Any, NamedTuple

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


class Geometry(NamedTuple):
    """The feature-map side lengths one block sees (the stem, a stage, or the head), in every convention that a
    formula of the library uses. Kernels are odd with 'same' padding, so the sizes depend on the strides only.

    * `h`, `ho`: input and output side of the built model (`conv_out`: rounded up, e.g. 5 -> 3), used by the
      model, `cost.macs`, and STEntr as the paper defines it (Eq. 8: S is the map a layer sees);
    * `res`: input side as the official TinyNAS code counts FLOPs: size / 2^k, a fraction (`cost.tinynas_flops`);
    * `res_int`: the side TinyNAS's STEntr uses for every layer of the block: int(size / 2^k) *after* this
      block's stride (the stem at 160^2 sees 80), the official variant of `scores.st_entr`.
    """

    stride: int
    h: int
    ho: int
    res: float
    res_int: int


def stage_geometry(spec: ArchSpec) -> list[Geometry]:
    """The `Geometry` of every block of `spec`, in order: [stem, stage 1, ..., stage n, head]. This is the one
    walk over the feature-map sizes; every cost, score and layer list reads its sizes from here."""
    s = spec.stem
    h, res, res_int = spec.size, float(spec.size), int(spec.size / s.stride)
    out = [Geometry(s.stride, h, conv_out(h, s.k, s.stride), res, res_int)]
    h, res = out[0].ho, res / s.stride
    for st in spec.stages:
        res_int = int(res_int / st.stride)
        out.append(Geometry(st.stride, h, conv_out(h, st.k, st.stride), res, res_int))
        h, res = out[-1].ho, res / st.stride
    out.append(Geometry(1, h, h, res, res_int))
    return out


def stage_inputs(spec: ArchSpec) -> list[tuple[int, int, int]]:
    """(in_channels, H, W) entering each stage, using the real conv output sizes."""
    widths = [spec.stem.out_channels] + [st.out_channels for st in spec.stages[:-1]]
    return [(c, g.h, g.h) for c, g in zip(widths, stage_geometry(spec)[1:-1], strict=True)]


def final_size(spec: ArchSpec) -> tuple[int, int, int]:
    """(T, H, W) of the map that conv5 sees."""
    g = stage_geometry(spec)[-1]
    return spec.frames, g.h, g.h


def num_layers(spec: ArchSpec) -> int:
    """Conv layers of the backbone as the official code counts them: stem (1, +1 with a temporal conv),
    3 per block, conv5 (SE, residual projections and the FC head are not counted). E3D-S has 83."""
    return 1 + (1 if spec.stem.temporal_kernel else 0) + 3 * sum(s.depth for s in spec.stages) + 1


class ConvLayer(NamedTuple):
    """One conv/linear layer of the built model, repeated `count` times with identical shapes.

    `role` is one of PLAIN_ROLES (the plain network that the entropy scores see) or AUX_ROLES (built for
    training, left out of the entropy analysis as the paper's App. C prescribes). Sizes: input (t, h, w),
    output (t, ho, wo); 1x1x1 for layers after global pooling or on SE's pooled vector.
    """

    name: str
    role: str
    count: int
    cin: int
    cout: int
    groups: int
    kt: int
    kh: int
    kw: int
    stride: int
    t: int
    h: int
    w: int
    ho: int
    wo: int
    bn: bool
    bias: bool


PLAIN_ROLES = ("stem", "stem_t", "expand", "dw", "project", "conv5")
AUX_ROLES = ("shortcut", "se_reduce", "se_expand", "fc", "classifier")


def stem_layers(spec: ArchSpec, g: Geometry, c: int) -> list[ConvLayer]:
    """The stem's layers with `c` output channels (its other fields from `spec.stem`)."""
    s, T, tk = spec.stem, spec.frames, spec.stem.temporal_kernel
    out = [ConvLayer("stem.conv_xy", "stem", 1, spec.in_channels, c, 1, s.kt, s.k, s.k, s.stride,
                     T, g.h, g.h, g.ho, g.ho, not tk, False)]
    if tk:
        out.append(ConvLayer("stem.conv_t", "stem_t", 1, c, c, c, tk, 1, 1, 1, T, g.ho, g.ho, g.ho, g.ho, True, False))
    return out


def stage_layers(spec: ArchSpec, g: Geometry, c: int, o: int, b: int, kt: int, k: int, d: int,
                 name: str = "stage") -> list[ConvLayer]:
    """The layers of one stage: `d` blocks from `c` to `o` channels with bottleneck `b` and depthwise kernel
    kt x k x k; `spec` supplies only the network-wide fields (frames, SE ratio and placement)."""
    T, h, ho = spec.frames, g.h, g.ho
    out = [ConvLayer(f"{name}.block0.expand", "expand", 1, c, b, 1, 1, 1, 1, 1, T, h, h, h, h, True, False),
           ConvLayer(f"{name}.block0.dw", "dw", 1, b, b, b, kt, k, k, g.stride, T, h, h, ho, ho, True, False),
           ConvLayer(f"{name}.block0.project", "project", 1, b, o, 1, 1, 1, 1, 1, T, ho, ho, ho, ho, True, False)]
    if c != o or g.stride != 1:
        out.append(ConvLayer(f"{name}.block0.shortcut", "shortcut", 1, c, o, 1, 1, 1, 1, g.stride,
                             T, h, h, ho, ho, True, False))
    if d > 1:
        out += [ConvLayer(f"{name}.blocks.expand", "expand", d - 1, o, b, 1, 1, 1, 1, 1, T, ho, ho, ho, ho, True,
                          False),
                ConvLayer(f"{name}.blocks.dw", "dw", d - 1, b, b, b, kt, k, k, 1, T, ho, ho, ho, ho, True, False),
                ConvLayer(f"{name}.blocks.project", "project", d - 1, b, o, 1, 1, 1, 1, 1, T, ho, ho, ho, ho, True,
                          False)]
    n_se = sum(1 for j in range(d) if has_se(spec, j))
    if n_se:
        r = se_channels(b, spec.se_ratio)
        out += [ConvLayer(f"{name}.se.reduce", "se_reduce", n_se, b, r, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, False, True),
                ConvLayer(f"{name}.se.expand", "se_expand", n_se, r, b, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, False, True)]
    return out


def head_layers(spec: ArchSpec, g: Geometry, c: int, h: int) -> list[ConvLayer]:
    """conv5 (`c` -> `h` channels), the FC layer and the classifier (their widths from `spec`)."""
    fc, T = spec.head.fc_channels, spec.frames
    return [ConvLayer("head.conv5", "conv5", 1, c, h, 1, 1, 1, 1, 1, T, g.h, g.h, g.h, g.h, True, False),
            ConvLayer("head.fc", "fc", 1, h, fc, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, False, False),
            ConvLayer("head.classifier", "classifier", 1, fc, spec.num_classes, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                      False, True)]


def conv_layers(spec: ArchSpec) -> list[ConvLayer]:
    """Every conv/linear layer of `build_model(spec)`, in forward order, identical repeats merged.

    This is the single description of the network that the analytic costs (`e3dlib.cost`), the entropy
    scores (`e3dlib.scores`), the forward-inference estimate and the model builder agree on. It is the
    concatenation of the block-level lists `stem_layers`, `stage_layers` and `head_layers`.
    """
    geo = stage_geometry(spec)
    out = stem_layers(spec, geo[0], spec.stem.out_channels)
    c = spec.stem.out_channels
    for i, (st, g) in enumerate(zip(spec.stages, geo[1:-1], strict=True)):
        out += stage_layers(spec, g, c, st.out_channels, st.bottleneck, st.kt, st.k, st.depth, f"stage{i + 1}")
        c = st.out_channels
    return out + head_layers(spec, geo[-1], c, spec.head.conv_channels)


def expand_layers(layers: list[ConvLayer]) -> list[ConvLayer]:
    """One entry per physical layer in forward order (repeated blocks unrolled and numbered), for the
    plain forward pass, tables and plots."""
    out: list[ConvLayer] = []
    i = 0
    while i < len(layers):
        L = layers[i]
        if ".blocks." in L.name:  # a run of identical blocks: expand, dw, project (each with count = reps)
            stage = L.name.split(".")[0]
            run = [L]
            while i + len(run) < len(layers) and layers[i + len(run)].name.startswith(stage + ".blocks."):
                run.append(layers[i + len(run)])
            for j in range(L.count):
                out.extend(R._replace(name=f"{stage}.block{j + 1}.{R.name.split('.')[-1]}", count=1) for R in run)
            i += len(run)
            continue
        out.extend([L] if L.count == 1 else [L._replace(name=f"{L.name}[{j}]", count=1) for j in range(L.count)])
        i += 1
    return out
