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

from .layers import PLAIN_ROLES, Geometry, conv_layers, expand_layers, stage_geometry
from .spec import ArchSpec, SpecError

VARIANTS = ("paper", "tinynas")
SCORES = ("st_entr", "homo_entr")  # the analytic scores, by name (the search's `score=`)
# The training-free proxies of `e3dlib.proxies` (torch), named here so that torch-free code can list them.
PROXIES = ("zen", "naswot", "synflow", "gradnorm", "forward_entropy")


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


# --- block level: the terms of the stem, a stage, the head (what the search caches) -----------------------------
#
# Each returns the block's additions to the score in the order the network-level sum adds them; `spec` supplies
# only the network-wide fields (frames, input channels, the stem's kernel), the block's own fields are arguments.
# Eq. 6 / Eq. 8 per layer is log(Kt Kh Kw C_in [* D(S, K)]); a block's identical layers share one log.


def stem_terms(spec: ArchSpec, g: Geometry, score: str = "st_entr", variant: str = "paper") -> tuple[float, ...]:
    """The stem conv (and X3D's temporal conv) of `spec` under `score` ("st_entr" in `variant`, "homo_entr")."""
    s, T = spec.stem, spec.frames
    fan, tk = spec.in_channels * s.kt * s.k * s.k, s.temporal_kernel
    if _which(score, variant) == "homo_entr":
        return (math.log(fan),) + ((math.log(tk),) if tk else ())
    if variant == "tinynas":
        return (0.5 * math.log(fan * tinynas_alpha(g.res_int, T, s.kt, s.k)),) + ((0.5 * math.log(tk),) if tk else ())
    return ((math.log(fan * refinement((T, g.h, g.h), (s.kt, s.k, s.k))),)
            + ((math.log(tk * refinement((T, g.ho, g.ho), (tk, 1, 1))),) if tk else ()))


def stage_terms(spec: ArchSpec, g: Geometry, c: int, o: int, b: int, kt: int, k: int, d: int,
                score: str = "st_entr", variant: str = "paper") -> tuple[float, ...]:
    """A stage of `d` blocks from `c` to `o` channels, bottleneck `b`, depthwise kernel kt x k x k: per block the
    expand (fan-in C_in), depthwise (Kt K K) and project (b) convs; the first block sees the stage's input map,
    the others its output map."""
    T, kk = spec.frames, kt * k * k
    which = _which(score, variant)
    if which == "homo_entr":
        return (math.log(c * kk * b) + (d - 1) * math.log(o * kk * b),)
    if variant == "tinynas":
        dw = kk * tinynas_alpha(g.res_int, T, kt, k) * b
        return (0.5 * (math.log(c * dw) + (d - 1) * math.log(o * dw)),)
    K, S_in, S_out = (kt, k, k), (T, g.h, g.h), (T, g.ho, g.ho)
    one_out = refinement(S_out, _ONE)
    first = (math.log(c * refinement(S_in, _ONE) * kk * refinement(S_in, K) * b * one_out),)
    if d == 1:
        return first
    return first + ((d - 1) * math.log(o * one_out * kk * refinement(S_out, K) * b * one_out),)


def head_terms(spec: ArchSpec, g: Geometry, c: int, h: int, score: str = "st_entr",
               variant: str = "paper") -> tuple[float, ...]:
    """conv5 (1x1x1 from `c` channels); the official variant adds log(C_final) of its `h` outputs."""
    which = _which(score, variant)
    if which == "homo_entr":
        return (math.log(c),)
    if variant == "tinynas":
        return (0.5 * math.log(c), math.log(h))
    return (math.log(c * refinement((spec.frames, g.h, g.h), _ONE)),)


def block_terms(spec: ArchSpec, score: str = "st_entr", variant: str = "paper") -> list[tuple[float, ...]]:
    """The terms of every block of `spec`, [stem, stage 1, ..., stage n, head]."""
    geo = stage_geometry(spec)
    out = [stem_terms(spec, geo[0], score, variant)]
    c = spec.stem.out_channels
    for st, g in zip(spec.stages, geo[1:-1], strict=True):
        out.append(stage_terms(spec, g, c, st.out_channels, st.bottleneck, st.kt, st.k, st.depth, score, variant))
        c = st.out_channels
    return out + [head_terms(spec, geo[-1], c, spec.head.conv_channels, score, variant)]


def total(terms: list[tuple[float, ...]]) -> float:
    """The network's score from its blocks' terms, added one by one in order (the search adds its cached terms
    the same way, so both give identical floats)."""
    out = 0.0
    for block in terms:
        for a in block:
            out += a
    return out


def _which(score: str, variant: str) -> str:
    if score not in SCORES:
        raise ValueError(f"unknown score {score!r}; choose one of {SCORES}")
    if score == "st_entr" and variant not in VARIANTS:
        raise ValueError(f"unknown STEntr variant {variant!r}; choose one of {VARIANTS}")
    return score


# --- network level -------------------------------------------------------------------------------------------------


def homo_entr(spec: ArchSpec) -> float:
    """HomoEntr-Score, paper Eq. 6: sum over conv layers of log(Kt Kh Kw C_{l-1}).

    The sum of the blocks' terms (`stem_terms`, `stage_terms`, `head_terms`); `homo_entr_terms` lists the same
    terms layer by layer and the tests check that both agree.
    """
    return total(block_terms(spec, "homo_entr"))


def st_entr(spec: ArchSpec, variant: str = "paper") -> float:
    """STEntr-Score, paper Eq. 8 (`variant="paper"`) or the official implementation (`"tinynas"`).

    Like `homo_entr`, the sum of the blocks' terms; `st_entr_terms` gives the per-layer terms.
    """
    return total(block_terms(spec, "st_entr", variant))


_ONE = (1, 1, 1)


def homo_entr_terms(spec: ArchSpec) -> list[LayerTerm]:
    """Per-layer terms of HomoEntr (one per physical layer), summing to `homo_entr(spec)`."""
    out = []
    for L in expand_layers(conv_layers(spec)):
        if L.role in PLAIN_ROLES:
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
        if L.role in PLAIN_ROLES:
            S, K = (L.t, L.h, L.w), (L.kt, L.kh, L.kw)
            fan = L.kt * L.kh * L.kw * (L.cin // L.groups)
            D = refinement(S, K)
            out.append(LayerTerm(L.name, L.role, S, K, fan, D, math.log(fan * D)))
    return out


def _tinynas_terms(spec: ArchSpec) -> list[LayerTerm]:
    T, s, geo = spec.frames, spec.stem, stage_geometry(spec)
    out = []

    def add(name: str, role: str, res: int, k: tuple[int, int, int], fan: int) -> None:
        a = tinynas_alpha(res, T, k[0], k[1])
        out.append(LayerTerm(name, role, (T, res, res), k, fan, a, 0.5 * math.log(fan * a)))

    add("stem.conv_xy", "stem", geo[0].res_int, (s.kt, s.k, s.k), spec.in_channels * s.kt * s.k * s.k)
    if s.temporal_kernel:
        add("stem.conv_t", "stem_t", geo[0].res_int, (s.temporal_kernel, 1, 1), s.temporal_kernel)
    c = s.out_channels
    for i, (st, g) in enumerate(zip(spec.stages, geo[1:-1], strict=True)):
        for j in range(st.depth):
            p = f"stage{i + 1}.block{j}"
            add(f"{p}.expand", "expand", g.res_int, (1, 1, 1), c if j == 0 else st.out_channels)
            add(f"{p}.dw", "dw", g.res_int, (st.kt, st.k, st.k), st.kt * st.k * st.k)
            add(f"{p}.project", "project", g.res_int, (1, 1, 1), st.bottleneck)
        c = st.out_channels
    res = geo[-1].res_int
    add("head.conv5", "conv5", res, (1, 1, 1), c)
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
