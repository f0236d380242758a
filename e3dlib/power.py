"""Noise floors and sample sizes of the trained studies: designed before anything is run (DEVELOPERS.md).

* `binomial_sd(p, n)` -- the standard deviation of a top-1 accuracy measured on n independent clips;
* `mean_ci(values)` -- the Student-t interval of a mean over seeds;
* `seeds_for(delta, sd)` -- runs per group that a two-sided two-sample t-test needs to detect a difference
  `delta` between group means with the given power, and `detectable_difference(n, sd)` -- its inverse: the
  smallest difference n runs per group detect (what a null result rules out).
"""

from __future__ import annotations

import math

import numpy as np


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
