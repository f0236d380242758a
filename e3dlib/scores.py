"""Training-free entropy scores of a 3D CNN: HomoEntr (paper Eq. 6) and STEntr (Eq. 7-8).

The plain network (App. C: no BN, no activation, no residual, no SE, zero bias, N(0,1) weights and input) is
a linear map, and each output element is a sum of Kt*Kh*Kw*C_{l-1} independent products, so its variance
multiplies by that fan-in at every layer (Eq. 4-5). The Gaussian upper bound on the output's differential
entropy, 1/2 log(2 pi e sigma^2), therefore ranks networks by

    HomoEntr = sum_l log(Kt Kh Kw C_{l-1})                                   (Eq. 6, C_{l-1} = 1 for depthwise)
    STEntr   = sum_l log(Kt Kh Kw C_{l-1} * D(S_l, K_l)),  D(S, K) = -log(1 - S.K / (|S||K|))   (Eq. 7-8)

with S_l = [T, H, W] the feature map entering layer l and K_l = [Kt, Kh, Kw] its kernel. Notebook 01 derives
both; notebook 02 checks HomoEntr against forward inference (`e3dlib.forward`).

`variant="tinynas"` reproduces the official implementation (TinyNAS `compute_stentr.py` + `get_stentr_forward`
of its 3D blocks) number for number. It departs from the equations in four ways:

1. every term is halved (it sums log-std, not log-variance);
2. D is replaced by 1 for kernels with spatial size 1 (all 1x1x1 convs), instead of D(S, [1,1,1]);
3. S uses, for every block of a stage, the stage's *output* size computed as int(size / 2^k) -- also for the
   strided first block and for the stem (so the stem sees 80, not 160, at 160^2);
4. the final conv's output width adds log(C_final) (the `nas_score_feat` term of the last stage).

The stem's X3D temporal conv, absent from TinyNAS, is scored like any other layer in both variants.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from .spec import ArchSpec, SpecError, conv_layers, conv_out, expand_layers

VARIANTS = ("paper", "tinynas")


def refinement(S: tuple[float, float, float], K: tuple[float, float, float]) -> float:
    """Spatio-temporal refinement factor D(S, K) = -log(1 - cos(S, K)) (paper Eq. 7).

    Large when the kernel's shape is parallel to the feature map's, e.g. 3x3x3 on 13x5x5 beats 1x5x5 there.
    Undefined (infinite) when S and K are exactly parallel: that raises `SpecError`.
    """
    t, h, w = S
    kt, kh, kw = K
    cos = (t * kt + h * kh + w * kw) / (math.sqrt(t * t + h * h + w * w) * math.sqrt(kt * kt + kh * kh + kw * kw))
    gap = 1.0 - cos
    if gap <= 1e-12:
        raise SpecError(f"D(S, K) is infinite: feature map {tuple(S)} is parallel to kernel {tuple(K)}; "
                        "change the input size or the kernel")
    return -math.log(gap)


def tinynas_alpha(res: int, frames: int, kt: int, k: int) -> float:
    """The official code's refinement factor: D([frames, res, res], [kt, k, k]), or 1 when k == 1."""
    if k == 1:
        return 1.0
    return refinement((frames, res, res), (kt, k, k))


class LayerTerm(NamedTuple):
    """One layer's contribution to a score (for plots and tables)."""

    name: str
    role: str
    S: tuple[int, int, int]
    K: tuple[int, int, int]
    fan_in: int
    D: float
    value: float


def homo_entr(spec: ArchSpec) -> float:
    """HomoEntr-Score, paper Eq. 6: sum over conv layers of log(Kt Kh Kw C_{l-1}).

    Computed stage by stage (blocks after the first of a stage are identical); `homo_entr_terms` lists the
    same terms layer by layer and the tests check that both agree.
    """
    s = spec.stem
    total = math.log(spec.in_channels * s.kt * s.k * s.k)
    if s.temporal_kernel:
        total += math.log(s.temporal_kernel)
    c = s.out_channels
    for st in spec.stages:
        kk = st.kt * st.k * st.k
        total += math.log(c * kk * st.bottleneck) + (st.depth - 1) * math.log(st.out_channels * kk * st.bottleneck)
        c = st.out_channels
    return total + math.log(c)


def st_entr(spec: ArchSpec, variant: str = "paper") -> float:
    """STEntr-Score, paper Eq. 8 (`variant="paper"`) or the official implementation (`"tinynas"`).

    Like `homo_entr`, computed stage by stage; `st_entr_terms` gives the per-layer terms.
    """
    if variant == "tinynas":
        return _tinynas_total(spec)
    if variant != "paper":
        raise ValueError(f"unknown STEntr variant {variant!r}; choose one of {VARIANTS}")
    T = spec.frames
    s = spec.stem
    h = w = spec.size
    total = math.log(spec.in_channels * s.kt * s.k * s.k * refinement((T, h, w), (s.kt, s.k, s.k)))
    h, w = conv_out(h, s.k, s.stride), conv_out(w, s.k, s.stride)
    if s.temporal_kernel:
        total += math.log(s.temporal_kernel * refinement((T, h, w), (s.temporal_kernel, 1, 1)))
    c = s.out_channels
    for st in spec.stages:
        K = (st.kt, st.k, st.k)
        kk = st.kt * st.k * st.k
        ho, wo = conv_out(h, st.k, st.stride), conv_out(w, st.k, st.stride)
        one_out = refinement((T, ho, wo), _ONE)
        total += math.log(c * refinement((T, h, w), _ONE) * kk * refinement((T, h, w), K)
                          * st.bottleneck * one_out)
        if st.depth > 1:
            total += (st.depth - 1) * math.log(st.out_channels * one_out * kk * refinement((T, ho, wo), K)
                                               * st.bottleneck * one_out)
        c, h, w = st.out_channels, ho, wo
    return total + math.log(c * refinement((T, h, w), _ONE))


_ONE = (1, 1, 1)
_PLAIN = frozenset(("stem", "stem_t", "expand", "dw", "project", "conv5"))


def homo_entr_terms(spec: ArchSpec) -> list[LayerTerm]:
    """Per-layer terms of HomoEntr (one per physical layer), summing to `homo_entr(spec)`."""
    out = []
    for L in expand_layers(conv_layers(spec)):
        if L.role in _PLAIN:
            fan = L.kt * L.kh * L.kw * (L.cin // L.groups)
            out.append(LayerTerm(L.name, L.role, (L.t, L.h, L.w), (L.kt, L.kh, L.kw), fan, 1.0, math.log(fan)))
    return out


def st_entr_terms(spec: ArchSpec, variant: str = "paper") -> list[LayerTerm]:
    """Per-layer terms of STEntr, summing to `st_entr(spec, variant)`."""
    if variant == "tinynas":
        return _tinynas_terms(spec)
    if variant != "paper":
        raise ValueError(f"unknown STEntr variant {variant!r}; choose one of {VARIANTS}")
    out = []
    for L in expand_layers(conv_layers(spec)):
        if L.role in _PLAIN:
            S, K = (L.t, L.h, L.w), (L.kt, L.kh, L.kw)
            fan = L.kt * L.kh * L.kw * (L.cin // L.groups)
            D = refinement(S, K)
            out.append(LayerTerm(L.name, L.role, S, K, fan, D, math.log(fan * D)))
    return out


def _tinynas_total(spec: ArchSpec) -> float:
    T = spec.frames
    s = spec.stem
    res = int(spec.size / s.stride)
    total = 0.5 * math.log(spec.in_channels * s.kt * s.k * s.k * tinynas_alpha(res, T, s.kt, s.k))
    if s.temporal_kernel:
        total += 0.5 * math.log(s.temporal_kernel)
    c = s.out_channels
    for st in spec.stages:
        res = int(res / st.stride)
        dw = st.kt * st.k * st.k * tinynas_alpha(res, T, st.kt, st.k) * st.bottleneck
        total += 0.5 * (math.log(c * dw) + (st.depth - 1) * math.log(st.out_channels * dw))
        c = st.out_channels
    return total + 0.5 * math.log(c) + math.log(spec.head.conv_channels)


def _tinynas_terms(spec: ArchSpec) -> list[LayerTerm]:
    T = spec.frames
    s = spec.stem
    res = int(spec.size / s.stride)
    out = []

    def add(name: str, role: str, k: tuple[int, int, int], fan: int) -> None:
        a = tinynas_alpha(res, T, k[0], k[1])
        out.append(LayerTerm(name, role, (T, res, res), k, fan, a, 0.5 * math.log(fan * a)))

    add("stem.conv_xy", "stem", (s.kt, s.k, s.k), spec.in_channels * s.kt * s.k * s.k)
    if s.temporal_kernel:
        add("stem.conv_t", "stem_t", (s.temporal_kernel, 1, 1), s.temporal_kernel)
    c = s.out_channels
    for i, st in enumerate(spec.stages):
        res = int(res / st.stride)
        for j in range(st.depth):
            p = f"stage{i + 1}.block{j}"
            add(f"{p}.expand", "expand", (1, 1, 1), c if j == 0 else st.out_channels)
            add(f"{p}.dw", "dw", (st.kt, st.k, st.k), st.kt * st.k * st.k)
            add(f"{p}.project", "project", (1, 1, 1), st.bottleneck)
        c = st.out_channels
    add("head.conv5", "conv5", (1, 1, 1), c)
    C = spec.head.conv_channels
    out.append(LayerTerm("final_channels", "final", (T, res, res), (1, 1, 1), C, 1.0, math.log(C)))
    return out


def departure_ladder(spec: ArchSpec) -> list[tuple[str, float]]:
    """STEntr from the paper's Eq. 8 to the official implementation, one departure at a time (notebook 01).

    Rungs: paper; (1) halved; (2) D = 1 for 1x1 kernels; (3) feature-map sizes by the official rule
    (stage output, int(size / 2^k)); (4) + log C_final = the official value.
    """
    paper = st_entr_terms(spec, "paper")
    official = _tinynas_terms(spec)
    r1 = 0.5 * sum(t.value for t in paper)
    r2 = 0.5 * sum(math.log(t.fan_in * (1.0 if t.K[1] == 1 else t.D)) for t in paper)
    r3 = sum(t.value for t in official if t.role != "final")
    r4 = r3 + sum(t.value for t in official if t.role == "final")
    return [("paper Eq. 8", sum(t.value for t in paper)), ("(1) x 1/2: log-std", r1),
            ("(2) D = 1 for 1x1 kernels", r2), ("(3) official feature-map sizes", r3),
            ("(4) + log C_final = official", r4)]
