"""Training-free proxies from the literature, adapted to 3D CNNs, for comparison with HomoEntr/STEntr
(notebook 04; paper App. D / Table 7 compares a few of them).

* Zen-score (Lin et al., ICCV 2021, "Zen-NAS"): log E||f(x) - f(x + a e)||_F of the pre-pooling feature map
  with N(0,1) weights and BN in training mode, plus sum over BN layers of log sqrt(mean batch variance).
* NASWOT (Mellor et al., ICML 2021, "Neural Architecture Search without Training"): log|det K_H| with
  K_H[i,j] = N_A - Hamming(c_i, c_j) over the binary ReLU activation codes c_i of a mini-batch.
* SynFlow (Tanaka et al., NeurIPS 2020): sum |theta * dR/dtheta| with R = sum f(1) on |theta| (float64),
  BN in eval mode; reported as log.
* GradNorm (Abdelfattah et al., ICLR 2021, "Zero-Cost Proxies"): sum over parameters of ||dL/dtheta||_2 for a
  cross-entropy loss on a random mini-batch with random labels.
* Forward entropy (MAE-DET, Sun et al., ICML 2022): Monte-Carlo log-variance of the plain network's output,
  `e3dlib.forward.forward_entropy`.

Each takes a module and an input shape, is seeded, and is also available by name for an `ArchSpec` through
`proxy_score(name, spec)`, which builds the network at a (small) input size.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .forward import forward_entropy
from .model import build_model
from .scores import PROXIES
from .spec import ArchSpec


def _features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model.forward_features(x) if hasattr(model, "forward_features") else model(x)


@torch.no_grad()
def zen_score(model: nn.Module, input_shape: tuple[int, int, int, int], *, batch: int = 8, alpha: float = 0.01,
              seed: int = 0) -> float:
    """Zen-score of `model` ((C, T, H, W) input): weights re-drawn N(0,1), BN in training mode."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.Conv3d, nn.Linear)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=g))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm3d):
            m.reset_running_stats()
            m.momentum = 1.0  # running_var := the last batch's variance
    model.train()
    x = torch.randn(batch, *input_shape, generator=g)
    eps = torch.randn(batch, *input_shape, generator=g)
    delta = (_features(model, x) - _features(model, x + alpha * eps)).flatten(1).norm(dim=1).mean()
    bn_term = 0.0
    _features(model, x)  # BN statistics of the unperturbed batch
    for m in model.modules():
        if isinstance(m, nn.BatchNorm3d):
            bn_term += 0.5 * math.log(float(m.running_var.mean()))
    return math.log(float(delta)) + bn_term


@torch.no_grad()
def naswot_score(model: nn.Module, input_shape: tuple[int, int, int, int], *, batch: int = 16, seed: int = 0) -> float:
    """NASWOT log|det K_H| over the ReLU (and SiLU: sign of its input) activation codes of a mini-batch."""
    g = torch.Generator().manual_seed(seed)
    codes: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        codes.append((inputs[0] > 0).flatten(1).to(torch.float64))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.ReLU, nn.SiLU))]
    try:
        model.train()
        model(torch.randn(batch, *input_shape, generator=g))
    finally:
        for h in handles:
            h.remove()
    if not codes:
        raise ValueError("NASWOT needs ReLU/SiLU modules in the network")
    c = torch.cat(codes, dim=1)
    n_a = c.shape[1]
    k = c @ c.T + (1 - c) @ (1 - c).T  # = N_A - Hamming distance
    sign, logdet = torch.linalg.slogdet(k)
    if sign <= 0:
        raise ValueError(f"NASWOT kernel is singular (two inputs share every activation code; N_A={n_a})")
    return float(logdet)


def synflow_score(model: nn.Module, input_shape: tuple[int, int, int, int], *, seed: int = 0) -> float:
    """log of SynFlow: sum |theta * dR/dtheta| with R = sum(f(ones)) on the absolute-valued weights."""
    torch.manual_seed(seed)
    model = copy.deepcopy(model).double().eval()  # the caller's module keeps its weights and dtype
    with torch.no_grad():
        for p in model.state_dict().values():
            if p.is_floating_point():
                p.abs_()
    r = model(torch.ones(1, *input_shape, dtype=torch.float64)).sum()
    r.backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in model.parameters() if p.grad is not None)
    if total <= 0 or not math.isfinite(total):
        raise ValueError(f"SynFlow is {total}: the network has no path from input to output (or overflows)")
    return math.log(total)


def grad_norm_score(model: nn.Module, input_shape: tuple[int, int, int, int], *, batch: int = 8,
                    num_classes: int | None = None, seed: int = 0) -> float:
    """GradNorm: sum of per-parameter gradient L2 norms of cross-entropy on random inputs and labels."""
    g = torch.Generator().manual_seed(seed)
    model.train()
    model.zero_grad()
    x = torch.randn(batch, *input_shape, generator=g)
    logits = model(x)
    y = torch.randint(num_classes or logits.shape[1], (batch,), generator=g)
    F.cross_entropy(logits, y).backward()
    return float(sum(p.grad.norm() for p in model.parameters() if p.grad is not None))


# --- by name, for an ArchSpec -----------------------------------------------------------------------------------

PROXY_NAMES = PROXIES  # named in e3dlib.scores, so that torch-free code (the CLI) can list them


def proxy_score(name: str, spec: ArchSpec, *, frames: int | None = None, size: int | None = None,
                seed: int = 0) -> float:
    """Score `spec` with a proxy from PROXY_NAMES, building the network at frames x size (default: the spec's)."""
    spec = spec.with_input(frames, size)
    shape = (spec.in_channels, spec.frames, spec.size, spec.size)
    if name == "forward_entropy":
        return float(forward_entropy(spec, repeats=1, seed=seed)[0])
    if name not in PROXY_NAMES:
        raise ValueError(f"unknown proxy {name!r}; choose one of {', '.join(PROXY_NAMES)}")
    torch.manual_seed(seed)
    model = build_model(spec, dropout=0.0)
    fn: Callable[..., float] = {"zen": zen_score, "naswot": naswot_score, "synflow": synflow_score,
                                "gradnorm": grad_norm_score}[name]
    return fn(model, shape, seed=seed)


@dataclass(frozen=True)
class ProxyScore:
    """A proxy as a search score: `search(SearchConfig(score=ProxyScore("zen", 4, 32)))`."""

    name: str
    frames: int | None = None
    size: int | None = None
    seed: int = 0

    def __call__(self, spec: ArchSpec) -> float:
        """The proxy's score of `spec`, built at (`frames`, `size`) with `seed`."""
        return proxy_score(self.name, spec, frames=self.frames, size=self.size, seed=self.seed)


def timed_proxy_score(name: str, spec: ArchSpec, **kwargs) -> tuple[float, float]:
    """(score, seconds) -- notebook 04 reports the cost of each proxy per architecture."""
    t = time.perf_counter()
    value = proxy_score(name, spec, **kwargs)
    return value, time.perf_counter() - t



def _analytic_seconds(fn: Callable[[ArchSpec], float], spec: ArchSpec, repeat: int = 200) -> float:
    t = time.perf_counter()
    for _ in range(repeat):
        fn(spec)
    return (time.perf_counter() - t) / repeat


def score_architectures(specs: list[ArchSpec], cache_root: str | Path, *, seed: int = 0) -> pd.DataFrame:
    """Every proxy of PROXY_NAMES and the time each takes, plus the time of the analytic scores, for each spec
    (notebook 04): one row per spec with `model`, the scores, `seconds[<score>]`, and `error[<proxy>]` where a
    proxy is undefined (e.g. a singular NASWOT kernel: NaN, said out loud, not dropped). Rows are cached as
    `cache_root/<spec name>/scores.json` and re-used while the spec, the seed and the proxies are unchanged."""
    from .scores import homo_entr, st_entr

    analytic = {"st_entr": st_entr, "homo_entr": homo_entr, "st_entr_tinynas": lambda s: st_entr(s, "tinynas")}
    rows = []
    for spec in specs:
        path = Path(cache_root) / spec.name / "scores.json"
        cached = json.loads(path.read_text()) if path.is_file() else None
        key = {"spec": json.loads(spec.to_json()), "seed": seed, "proxies": list(PROXY_NAMES)}
        if cached is None or {k: cached.get(k) for k in key} != key:  # another net, seed or set of proxies
            cached = {"model": spec.name, **key}
            for name in PROXY_NAMES:
                try:
                    cached[name], cached[f"seconds[{name}]"] = timed_proxy_score(name, spec, seed=seed)
                except (ValueError, RuntimeError) as e:  # e.g. a singular NASWOT kernel, a non-finite SynFlow
                    cached[name], cached[f"seconds[{name}]"], cached[f"error[{name}]"] = math.nan, math.nan, str(e)
            for name, fn in analytic.items():
                try:
                    cached[f"seconds[{name}]"] = _analytic_seconds(fn, spec)
                except ValueError:  # D infinite for this spec (describe() shows NaN)
                    cached[f"seconds[{name}]"] = math.nan
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(cached, indent=1))
        rows.append(cached)
    return pd.DataFrame(rows).drop(columns=["spec", "seed", "proxies"])
