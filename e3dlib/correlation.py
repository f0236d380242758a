"""Rank correlation of training-free scores with trained accuracy, with bootstrap confidence intervals
(notebook 04; the paper's Fig. 2/3 show such scatters without a statistic).

Kendall tau-b (concordant minus discordant pairs, normalised for ties: "does the score order two models as
training does?"), Spearman rho (Pearson on ranks) and Pearson r (linear), each with a percentile bootstrap interval
over models resampled with replacement. Resamples in which a column is constant (correlation undefined) are left
out; `boot_used` says how many remained. `paired_difference` compares two scores on the same resamples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

METHODS = ("kendall", "spearman", "pearson")


def _corr(method: str, x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")  # undefined for a constant sample (a degenerate bootstrap draw)
    if method == "kendall":
        return float(stats.kendalltau(x, y).statistic)
    if method == "spearman":
        return float(stats.spearmanr(x, y).statistic)
    return float(np.corrcoef(x, y)[0, 1])


def correlations(x: Sequence[float], y: Sequence[float], *, n_boot: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict[str, float]:
    """Kendall tau, Spearman rho and Pearson r of (x, y) with `level` percentile-bootstrap intervals
    ("kendall", "kendall_lo", "kendall_hi", ...) and "n", the number of pairs where both are finite."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = len(x)
    out: dict[str, float] = {"n": n}
    if n < 3:
        raise ValueError(f"need at least 3 finite pairs for a correlation, got {n}")
    draws = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    a = (1 - level) / 2
    for m in METHODS:
        out[m] = _corr(m, x, y)
        boot = np.array([_corr(m, x[i], y[i]) for i in draws])
        boot = boot[np.isfinite(boot)]
        out[f"{m}_lo"], out[f"{m}_hi"] = (np.quantile(boot, [a, 1 - a]) if len(boot) else (np.nan, np.nan))
        out["boot_used"] = min(out.get("boot_used", n_boot), len(boot))
    return out


def paired_difference(df: pd.DataFrame, target: str, a: str, b: str, *, method: str = "kendall",
                      n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """corr(a, target) - corr(b, target) with a percentile-bootstrap interval from the *same* resampled models
    for both scores (overlapping marginal intervals do not show that two scores rank equally well), and `p`, the
    two-sided bootstrap p-value of a zero difference (twice the smaller share of resampled differences on either
    side of 0, at least 1 / resamples)."""
    x, y, t = (df[c].to_numpy(float) for c in (a, b, target))
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(t)
    x, y, t = x[keep], y[keep], t[keep]
    n = len(t)
    if n < 3:
        raise ValueError(f"need at least 3 models where {a}, {b} and {target} are finite, got {n}")
    diffs = np.array([_corr(method, x[i], t[i]) - _corr(method, y[i], t[i])
                      for i in np.random.default_rng(seed).integers(0, n, size=(n_boot, n))])
    diffs = diffs[np.isfinite(diffs)]
    lo, hi = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2]) if len(diffs) else (np.nan, np.nan)
    p = min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())) if len(diffs) else np.nan
    return {"a": a, "b": b, "method": method, "n": n, "difference": _corr(method, x, t) - _corr(method, y, t),
            "lo": float(lo), "hi": float(hi), "p": max(float(p), 1 / max(len(diffs), 1)), "boot_used": len(diffs)}


def correlation_table(df: pd.DataFrame, target: str, scores: Sequence[str], *, n_boot: int = 1000,
                      seed: int = 0) -> pd.DataFrame:
    """One row per score column: its correlations with `target`, sorted by Kendall tau (best first; a score with
    fewer than 3 finite values gets NaN correlations and its count `n`, last)."""
    rows = [{"score": s, **_defined(df[s], df[target], n_boot, seed)} for s in scores]
    return pd.DataFrame(rows).sort_values("kendall", ascending=False, ignore_index=True, na_position="last")


def _defined(x: Sequence[float], y: Sequence[float], n_boot: int, seed: int) -> dict[str, float]:
    """`correlations`, or NaN with the count of finite pairs where there are fewer than 3 (a table row that says
    the correlation is undefined instead of failing the whole table)."""
    try:
        return correlations(x, y, n_boot=n_boot, seed=seed)
    except ValueError:
        n = int((np.isfinite(np.asarray(x, float)) & np.isfinite(np.asarray(y, float))).sum())
        nan = float("nan")
        return {"n": n, **{k: nan for m in METHODS for k in (m, f"{m}_lo", f"{m}_hi")}, "boot_used": 0}


def band_correlations(df: pd.DataFrame, target: str, scores: Sequence[str], by: str, bands: int, *,
                      n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The same correlations within `bands` equal-count bands of column `by` (e.g. FLOPs): does a score still
    rank models of about equal cost? One row per (band, score) with the band's range of `by`."""
    order = np.argsort(df[by].to_numpy(), kind="stable")
    rows = []
    for b, idx in enumerate(np.array_split(order, bands)):
        sub = df.iloc[idx]
        lo, hi = float(sub[by].min()), float(sub[by].max())
        for s in scores:
            rows.append({"band": b, f"{by}_lo": lo, f"{by}_hi": hi, "score": s,
                         **_defined(sub[s], sub[target], n_boot, seed)})
    return pd.DataFrame(rows)


def tau_verdict(score: str, tau: float, lo: float, hi: float, n: int, target: str = "trained top-1") -> str:
    """One Markdown sentence read from a Kendall tau and its 95 % interval over n models: an association where the
    interval excludes 0 (and the tau it rules out), otherwise a null with the tau it would have detected at 80 %
    power (`power.kendall_detectable`). Notebook 04, section 8."""
    from .power import kendall_detectable

    ci = f"τ = {tau:+.2f} [{lo:+.2f}, {hi:+.2f}] over {n} models"
    if lo > 0:
        return f"**{score} predicts {target}**: {ci}; the interval excludes 0 and rules out a τ below {lo:+.2f}."
    if hi < 0:
        return f"**{score} ranks against {target}**: {ci}; the interval excludes 0 and rules out a τ above {hi:+.2f}."
    return (f"**No association of {score} with {target} shown**: {ci}; a true τ beyond "
            f"{kendall_detectable(max(n, 2)):.2f} would have been detected with 80 % power.")
