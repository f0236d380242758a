"""The network as the formulas see it: the feature-map sizes of each block (`stage_geometry`, every size
convention named) and the per-layer list of every convolution (`conv_layers`, built block by block).

`e3dlib.cost`, `e3dlib.scores`, `e3dlib.forward`, the search's cache and the model builder all read the network
through these two, so a size or a layer is described in one place.
"""

from __future__ import annotations

from typing import NamedTuple

from .spec import ArchSpec, conv_out, has_se, se_channels


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


def final_size(spec: ArchSpec) -> tuple[int, int, int]:
    """(T, H, W) of the map that conv5 sees."""
    g = stage_geometry(spec)[-1]
    return spec.frames, g.h, g.h


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
