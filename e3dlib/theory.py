"""The probability facts behind the entropy bound (paper §3.1-3.2, App. B), as checkable functions.

Notebook 01 walks through them: Theorem 1 (the Gaussian has the largest differential entropy of all
distributions of a given variance), the Gaussian's entropy 1/2 log(2 pi e sigma^2), the product law of
expectations (Theorem 2), the variance of a product (App. B.2) and Bienaymé's identity (Theorem 3).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def gaussian_entropy(variance: float) -> float:
    """Differential entropy (nats) of N(mu, variance): 1/2 log(2 pi e variance) (App. B.1)."""
    return 0.5 * math.log(2 * math.pi * math.e * variance)


def equal_variance_distributions(variance: float = 1.0) -> dict[str, stats.rv_continuous]:
    """Zero-mean distributions scaled to the same variance, to compare their entropies (Theorem 1)."""
    sd = math.sqrt(variance)
    return {
        "Gaussian": stats.norm(scale=sd),
        "Logistic": stats.logistic(scale=sd * math.sqrt(3) / math.pi),
        "Laplace": stats.laplace(scale=sd / math.sqrt(2)),
        "Student-t (5 dof)": stats.t(df=5, scale=sd * math.sqrt(3 / 5)),
        "Uniform": stats.uniform(loc=-sd * math.sqrt(3), scale=2 * sd * math.sqrt(3)),
        "Triangular": stats.triang(c=0.5, loc=-sd * math.sqrt(6), scale=2 * sd * math.sqrt(6)),
    }


def entropies_at_equal_variance(variance: float = 1.0) -> dict[str, tuple[float, float]]:
    """{name: (variance, differential entropy in nats)} computed by scipy (closed form or numerical)."""
    return {name: (float(d.var()), float(d.entropy())) for name, d in equal_variance_distributions(variance).items()}


def product_moments(mean1: float, var1: float, mean2: float, var2: float, n: int,
                    rng: np.random.Generator) -> dict[str, float]:
    """Monte-Carlo vs closed form for the product of two independent Gaussians (Theorem 2, App. B.2):
    E[v1 v2] = E[v1] E[v2];  Var[v1 v2] = Var1 Var2 + Var2 E1^2 + Var1 E2^2."""
    v1 = rng.normal(mean1, math.sqrt(var1), n)
    v2 = rng.normal(mean2, math.sqrt(var2), n)
    p = v1 * v2
    return {"mean_mc": float(p.mean()), "mean_formula": mean1 * mean2,
            "var_mc": float(p.var()), "var_formula": var1 * var2 + var2 * mean1 ** 2 + var1 * mean2 ** 2}


def sum_variance(variances: list[float], n: int, rng: np.random.Generator) -> dict[str, float]:
    """Bienaymé's identity (Theorem 3): the variance of a sum of independent variables is the sum of variances."""
    total = sum(rng.normal(0.0, math.sqrt(v), n) for v in variances)
    return {"var_mc": float(np.var(total)), "var_formula": float(sum(variances))}
