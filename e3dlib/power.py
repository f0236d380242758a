"""Noise floors and sample sizes of the trained studies: designed before anything is run (DEVELOPERS.md).

* `binomial_sd(p, n)` -- the standard deviation of a top-1 accuracy measured on n independent clips;
* `mean_ci(values)` -- the Student-t interval of a mean over seeds;
* `seeds_for(delta, sd)` -- runs per group that a two-sided two-sample t-test needs to detect a difference
  `delta` between group means with the given power, and `detectable_difference(n, sd)` -- its inverse: the
  smallest difference n runs per group detect (what a null result rules out);
* `mean_std(rows, by, metrics)` -- per-group means, sds, counts and t-intervals over the runs that did not
  collapse; `welch_ci(a, b)` -- the difference of two group means with its Welch interval and p-value;
* `holm(pvalues)` -- Holm's step-down adjustment for a family of tests, `format_p(p)` -- how a verdict quotes it;
* `kendall_null_se(n)`, `kendall_power(tau, n)` -- what a Kendall tau over n models can resolve.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def binomial_sd(p: float, n: int) -> float:
    """sd of an accuracy p estimated from n independent clips: sqrt(p (1 - p) / n)."""
    if n < 1 or not 0 <= p <= 1:
        raise ValueError(f"need n >= 1 and 0 <= p <= 1, got p={p}, n={n}")
    return math.sqrt(p * (1 - p) / n)


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval of the mean of `values` (NaN bounds for fewer than 2)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    m = float(v.mean()) if len(v) else float("nan")
    if len(v) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, m - half, m + half


def _power(n: int, delta: float, sd: float, alpha: float) -> float:
    """Power of the two-sided two-sample t-test with n runs per group (noncentral t)."""
    from scipy import stats

    df = 2 * n - 2
    nc = delta / (sd * math.sqrt(2 / n))
    crit = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def seeds_for(delta: float, sd: float, *, alpha: float = 0.05, power: float = 0.8, most: int = 1000) -> int:
    """Smallest runs per group (>= 2) for which a two-sample t-test detects a true difference `delta` between
    two group means (per-run sd `sd`) with probability `power` at level `alpha`."""
    if delta <= 0 or sd <= 0:
        raise ValueError(f"need delta > 0 and sd > 0, got delta={delta}, sd={sd}")
    for n in range(2, most + 1):
        if _power(n, delta, sd, alpha) >= power:
            return n
    raise ValueError(f"more than {most} runs per group needed for delta={delta}, sd={sd}")


def detectable_difference(n: int, sd: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """The difference between group means that n runs per group detect with probability `power` (bisection)."""
    if n < 2 or sd <= 0:
        raise ValueError(f"need n >= 2 and sd > 0, got n={n}, sd={sd}")
    lo, hi = 0.0, 100 * sd
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _power(n, mid, sd, alpha) < power else (lo, mid)
    return hi


def mean_std(rows: list[dict[str, Any]] | pd.DataFrame, by: list[str], metrics: list[str], *,
             ci: float | None = None) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1) and count (`runs`) of `metrics` per group, over the runs that did not
    collapse; `collapsed` counts the runs left out (rows without the flag count as not collapsed). With `ci`
    (e.g. 0.95), also the Student-t interval of each mean (`<metric>_lo`, `<metric>_hi`; NaN below 2 runs)."""
    df = pd.DataFrame(rows)
    bad = df["collapsed"].fillna(False).astype(bool) if "collapsed" in df else pd.Series(False, index=df.index)
    ok = df[~bad].groupby(by, sort=False)
    g = ok[metrics]
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).add_suffix("_std")).join(g.size().rename("runs"))
    if ci is not None and len(out):
        for m in metrics:
            out = out.join(ok[[m]].apply(lambda v, m=m: pd.Series(mean_ci(v[m], ci)[1:], index=[f"{m}_lo", f"{m}_hi"])))
    lost = df.assign(collapsed=bad).groupby(by, sort=False)["collapsed"].sum()
    out = out.join(lost, how="outer")
    for m in metrics if ci is not None else []:
        out[f"{m}_lo"] = out.get(f"{m}_lo", np.nan)
        out[f"{m}_hi"] = out.get(f"{m}_hi", np.nan)
    out["runs"] = out["runs"].fillna(0).astype(int)
    out["collapsed"] = out["collapsed"].fillna(0).astype(int)
    return out.reset_index()


def welch_ci(a, b, level: float = 0.95) -> dict[str, float]:
    """mean(a) - mean(b) with its Welch (unequal-variance) t-interval, the t statistic and two-sided p-value:
    {"diff", "lo", "hi", "t", "p", "df"}; all but "diff" NaN where a group has fewer than 2 runs or neither group
    varies (no interval can be given: the caller says "not testable", never "no difference")."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    out = {"diff": float(a.mean() - b.mean()) if len(a) and len(b) else float("nan")}
    if len(a) < 2 or len(b) < 2 or (np.ptp(a) == 0 and np.ptp(b) == 0):  # untestable: too few runs, or no spread
        return {**out, "lo": float("nan"), "hi": float("nan"), "t": float("nan"), "p": float("nan"), "df": float("nan")}
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    t = out["diff"] / se
    return {**out, "lo": out["diff"] - half, "hi": out["diff"] + half, "t": t, "p": float(2 * stats.t.sf(abs(t), df)),
            "df": df}


def format_p(p: float, name: str = "p") -> str:
    """A p-value as a verdict quotes it: "p = 0.023", "p < 0.001" (never "p = 0.000"), "p n/a" when there is none."""
    if not np.isfinite(p):
        return f"{name} n/a"
    return f"{name} < 0.001" if p < 0.001 else f"{name} = {p:.3f}"


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control over the tests given; NaN stays NaN and is
    not counted as a test)."""
    p = np.asarray(pvalues, float)
    out = np.full_like(p, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m, running = len(idx), 0.0
    for rank, i in enumerate(idx[np.argsort(p[idx], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def kendall_null_se(n: int) -> float:
    """Standard error of Kendall's tau over n untied pairs when there is no association: sqrt(2(2n+5) / 9n(n-1))."""
    if n < 2:
        raise ValueError(f"need n >= 2 models, got {n}")
    return math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))


def kendall_power(tau: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided test of tau = 0 over n models to detect a true `tau` (normal approximation with the
    null standard error): 0.64 for tau 0.3 at n = 30, 0.92 at n = 60."""
    from scipy import stats

    z, se = stats.norm.ppf(1 - alpha / 2), kendall_null_se(n)
    return float(stats.norm.sf(z - abs(tau) / se) + stats.norm.cdf(-z - abs(tau) / se))


def kendall_detectable(n: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true tau that the two-sided test of tau = 0 over n models detects with `power` (the normal
    approximation of `kendall_power`, ignoring the far tail): (z_{1-alpha/2} + z_power) * null SE. What a null tau
    rules out: notebook 04, section 8."""
    from scipy import stats

    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * kendall_null_se(n))
