# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Kernel selection: S-N and T-N (paper Table 1, Fig. 1, Fig. 2)
#
# The observation that motivates STEntr: take X3D-S, cut its 11-block stage 4 into 5 + 6 blocks so that it has
# five stages, and give the depthwise convs of **one** stage a different kernel.
#
# * **S-N** — stage N uses $1\times5\times5$, every other stage $3\times3\times3$;
# * **T-N** — stage N uses $3\times3\times3$, every other stage $1\times5\times5$.
#
# All eleven networks (with X3D-S itself) cost about the same and have almost the same HomoEntr (Eq. 6), because
# $\log(1\cdot5\cdot5) \approx \log(3\cdot3\cdot3)$. Yet on Something-Something V1 the paper finds the S-series
# better than the T-series, S-2/S-3 better than X3D-S — which HomoEntr cannot explain. STEntr (Eq. 8) weights
# every layer by $D(S,K) = -\log(1-\cos(S,K))$, large when the kernel's shape is parallel to the feature map's.
#
# This notebook (1) computes Table 1's analytic columns with `e3dlib.families.kernel_selection_family` and
# `e3dlib.study.describe`, (2) draws Fig. 1 (feature-map vs kernel shapes per stage), (3) trains every variant on
# our motion-dominated benchmark at proxy scale over several seeds, and (4) draws Fig. 2 and says, from the numbers,
# whether the S-series beats the T-series.

# %% tags=["parameters"]
scale = "smoke"
seed = 0
device = "cpu"
data_root = "data/generated"
figures_dir = "figures"
runs_dir = "runs/03"

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e3dlib.correlation import correlations
from e3dlib.families import kernel_selection_family
from e3dlib.notebooks import pick, plot_style, save_figure, save_table
from e3dlib.paths import at_root
from e3dlib.presets import scale_width
from e3dlib.recipe import TrainConfig, with_recipe
from e3dlib.scores import refinement, st_entr_terms
from e3dlib.study import MOTION, describe, make_benchmark, mean_std, train_and_test, welch_t

at_root()  # data_root, runs_dir, figures_dir are relative to the repository root, also from JupyterLab

plot_style()
P = pick(scale,
         smoke=dict(videos=40, frames=5, size=48, width=0.25, epochs=1, seeds=[seed], batch=8, views=["2x1"],
                    variants=["X3D-S", "S-1", "S-2", "T-1", "T-5"]),
         proxy=dict(videos=MOTION["videos"], frames=8, size=56, width=0.35, epochs=MOTION["epochs"],
                    seeds=[seed, seed + 1, seed + 2], batch=16, views=["2x1"], variants=None))
family = kernel_selection_family()
names = P["variants"] or list(family)
series = {n: ("X3D" if n == "X3D-S" else n[0]) for n in family}
colors = {"X3D": "k", "S": "C3", "T": "C0"}

# %% [markdown]
# ## 1. Table 1, analytic columns, at the paper's input (13 × 160²)
#
# GMACs (multiply-adds, the paper's "FLOPs"), parameters, HomoEntr and STEntr (Eq. 8, and the official code's
# variant) of each network at X3D-S's input. The paper reports accuracy next to these; ours follows in §3.

# %%
table1 = pd.DataFrame([{"variant": n, "series": series[n],
                        "kernels": " ".join(f"{s.kt}x{s.k}x{s.k}" for s in spec.stages), **describe(spec)}
                       for n, spec in family.items()]).drop(columns="arch")
save_table(table1, "03_table1_analytic", figures_dir)
table1.round(3)

# %% [markdown]
# HomoEntr barely moves across the family (its spread is the $\log(27/25)$ per depthwise layer), while STEntr
# separates the variants: it rises whenever a stage's kernel is more nearly parallel to that stage's feature map.
#
# ## 2. Fig. 1: feature-map shape vs kernel shape, layer by layer
#
# STEntr weights each layer by $D(S_l, K_l)$, with $S_l=[T,H,W]$ the map the layer sees. The first block of a stage
# sees the stage's input (twice the size in space, it carries the stride); the other blocks see the stage's output.
# Below: $D$ of every depthwise layer (the only layers whose kernel differs across the family, taken from
# `e3dlib.scores.st_entr_terms`) for S-2, T-5 and X3D-S — the three nets of the paper's Fig. 1 — and, shaded, what
# $D$ would be with $1\times5\times5$ or $3\times3\times3$ there; at the paper's input and at our training input.

# %%
def depthwise_terms(spec):
    terms = [t for t in st_entr_terms(spec) if t.role == "dw"]
    stage = [i + 1 for i, st in enumerate(spec.stages) for _ in range(st.depth)]
    return pd.DataFrame([{"layer": j, "stage": stage[j], "T": t.S[0], "H": t.S[1], "W": t.S[2],
                          "kernel": "x".join(map(str, t.K)), "D": t.D, "D(1x5x5)": refinement(t.S, (1, 5, 5)),
                          "D(3x3x3)": refinement(t.S, (3, 3, 3))} for j, t in enumerate(terms)])


proxy_input = (P["frames"], P["size"])
fig, axes = plt.subplots(1, 2, figsize=(15, 4))
for ax, (T, size) in zip(axes, [(13, 160), proxy_input], strict=True):
    g = depthwise_terms(family["X3D-S"].with_input(T, size))
    ax.plot(g["layer"], g["D(1x5x5)"], color="C3", lw=7, alpha=0.2, label="D if 1x5x5")
    ax.plot(g["layer"], g["D(3x3x3)"], color="C0", lw=7, alpha=0.2, label="D if 3x3x3")
    for n, marker, color in (("S-2", "o", "C3"), ("T-5", "s", "C0"), ("X3D-S", "^", "k")):
        d = depthwise_terms(family[n].with_input(T, size))
        ax.plot(d["layer"], d["D"], marker=marker, ms=4, color=color, label=n)
    starts = g.groupby("stage")["layer"].min()
    for x in starts.iloc[1:]:
        ax.axvline(x - 0.5, color="gray", lw=0.8)
    ax.set_xticks(starts + (g.groupby("stage").size() - 1) / 2,
                  [f"stage {k}\n{T}x{r.H}x{r.W} →" for k, r in zip(starts.index, g.loc[starts].itertuples(),
                                                                   strict=True)], fontsize=8)
    ax.set_title(f"D(S, K) of each depthwise layer at {T}x{size}²")
    ax.set_ylabel("D(S, K) = -log(1 - cos(S, K))")
    ax.legend(fontsize=7)
save_figure(fig, "03_fig1_featuremap_vs_kernel", figures_dir)
stage_view = depthwise_terms(family["X3D-S"]).groupby("stage").agg(
    first_map=("H", "first"), other_maps=("H", "last"), **{"mean D(1x5x5)": ("D(1x5x5)", "mean"),
                                                           "mean D(3x3x3)": ("D(3x3x3)", "mean")})
stage_view["STEntr prefers"] = np.where(stage_view["mean D(1x5x5)"] > stage_view["mean D(3x3x3)"], "1x5x5", "3x3x3")
stage_view.round(2)

# %% [markdown]
# **Reading.** (At 13 × 160².) $1\times5\times5$ is the more parallel kernel only where the maps are large in
# space: on the 80² and 40² maps of stage 1 and on the first block of stage 2. Everywhere else — the small, 13-frame
# deep maps — $3\times3\times3$ has the larger $D$. So STEntr's preferred layout is "1×5×5 in stage 1, 3×3×3
# after", i.e. S-1, then X3D-S; it places S-2 just below X3D-S and puts every T variant below every S variant
# (Table 1 above). Note also the fan-in: 25 taps instead of 27 lowers HomoEntr's and STEntr's $\log K_tK_hK_w$ term.
# At our 8 × 56² input the maps are 8 frames deep and 28² → 2² in space; the same ordering holds (see `describe`
# in §3): S-1 first, X3D-S second, every T variant below every S variant.
#
# ## 3. Training every variant on the motion benchmark
#
# The motion-dominated benchmark is `e3dlib.study.MOTION`: the ten pure-motion classes of *something-like*
# (left/right, up/down, closer/away, clockwise/counter-clockwise, appearing/disappearing — every pair differs only
# in the order of frames), with a plain scene, so that a few minutes of CPU training learn it. Every variant is
# X3D-S-shaped but width-scaled so that a run takes about a minute; the kernels are exactly Table 1's.
# Runs are cached in `runs_dir` (one `result.json` per run) and re-used.

# %%
gen_root = Path(data_root) / scale
bench_root = make_benchmark(gen_root, P["videos"], seed=seed)
cache_dir = gen_root / "cache"
recipe = with_recipe(TrainConfig(), "proxy")
T, S = proxy_input
rows = []
for n in names:
    spec = scale_width(family[n].with_input(T, S), P["width"])
    for s in P["seeds"]:
        cfg = TrainConfig(**{**recipe.__dict__, "frames": T, "size": S, "epochs": P["epochs"], "seed": s,
                             "batch_size": P["batch"], "device": device, "workers": 2})
        row = train_and_test(Path(runs_dir) / scale / f"{n}-seed{s}", cfg, spec, "something-like", bench_root,
                             P["views"], cache_dir=cache_dir)
        rows.append({"variant": n, "series": series[n], **row})
results = pd.DataFrame(rows)
top1 = next(c for c in results.columns if c.startswith("top1["))
save_table(results[["variant", "series", "seed", "gmacs", "mparams", "homo_entr", "st_entr", "st_entr_tinynas",
                    "train_top1", top1, "seconds"]], "03_runs", figures_dir)
summary = mean_std(results, ["variant", "series"], [top1, "gmacs", "homo_entr", "st_entr", "st_entr_tinynas"])
summary = summary.drop(columns=[c for c in summary.columns if c.endswith("_std") and not c.startswith("top1")])
save_table(summary, "03_table1_trained", figures_dir)
summary.round(3)

# %% [markdown]
# ## 4. Fig. 2: top-1 vs STEntr and vs HomoEntr
#
# Scores are computed at the input the networks were trained at (STEntr depends on it). Error bars are the
# standard deviation over seeds; the Kendall τ is over variants (mean top-1), with a bootstrap 95 % interval.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=True)
taus = {}
for ax, score in zip(axes, ["st_entr", "st_entr_tinynas", "homo_entr"], strict=True):
    for r in summary.itertuples():
        ax.errorbar(getattr(r, f"{score}_mean"), 100 * summary.loc[r.Index, f"{top1}_mean"], yerr=100 * np.nan_to_num(summary.loc[r.Index, f"{top1}_std"]), fmt="o",
                    color=colors[r.series], capsize=3)
        ax.annotate(r.variant, (getattr(r, f"{score}_mean"), 100 * summary.loc[r.Index, f"{top1}_mean"]),
                    fontsize=8, xytext=(3, 3), textcoords="offset points")
    if summary[f"{top1}_mean"].notna().sum() >= 3:  # collapsed runs are left out of the means (smoke: all)
        taus[score] = correlations(summary[f"{score}_mean"], summary[f"{top1}_mean"], n_boot=1000, seed=seed)
        c = taus[score]
        ax.set_title(f"{score}: Kendall τ = {c['kendall']:.2f} [{c['kendall_lo']:.2f}, {c['kendall_hi']:.2f}]")
    ax.set_xlabel(f"{score} at {T}x{S}²")
axes[0].set_ylabel(f"top-1 {top1[5:-1]} [%]")
for s_, c_ in colors.items():
    axes[0].plot([], [], "o", color=c_, label=f"{s_} series" if s_ != "X3D" else "X3D-S")
axes[0].legend(fontsize=8)
save_figure(fig, "03_fig2_top1_vs_scores", figures_dir)

# %% [markdown]
# ## 5. Verdict
#
# Computed from the runs above: mean top-1 of the S-series vs the T-series (every run of every variant of a
# series pooled, Welch's t-test), the best variant, and whether the best variant beats X3D-S.

# %%
s_runs = results.loc[results["series"] == "S", top1].to_numpy()
t_runs = results.loc[results["series"] == "T", top1].to_numpy()
t_stat, p_value = welch_t(s_runs, t_runs)
best = summary.sort_values(f"{top1}_mean", ascending=False).iloc[0]
x3d_mean = summary.loc[summary["variant"] == "X3D-S", f"{top1}_mean"].iloc[0]
verdict = pd.DataFrame([{"s_mean": s_runs.mean(), "t_mean": t_runs.mean(), "s_minus_t": s_runs.mean() - t_runs.mean(),
                         "welch_t": t_stat, "p_value": p_value, "best": best["variant"],
                         "best_mean": best[f"{top1}_mean"], "x3d_mean": x3d_mean,
                         **{f"kendall[{k}]": v["kendall"] for k, v in taus.items()}}])
save_table(verdict, "03_verdict", figures_dir)
word = ("cannot be told apart (too few runs, or no variance) from" if np.isnan(p_value) else
        ("beats" if s_runs.mean() > t_runs.mean() else "trails") if p_value < 0.05 else "is indistinguishable from")
print(f"S-series {100 * s_runs.mean():.1f}% vs T-series {100 * t_runs.mean():.1f}%: the S-series {word} the "
      f"T-series (Welch p = {p_value:.3f}); best variant {best['variant']} at {100 * best[f'{top1}_mean']:.1f}% "
      f"(X3D-S {100 * x3d_mean:.1f}%)")
for k, v in taus.items():
    print(f"Kendall tau of mean top-1 with {k}: {v['kendall']:+.2f} [{v['kendall_lo']:+.2f}, {v['kendall_hi']:+.2f}]")
verdict.round(3)

# %% [markdown]
# **Reading.** The printed lines are this run's verdict. In the rendered proxy run (11 variants × 3 seeds, 2 epochs
# on 1,600 clips, 200 validation clips, ~55 s per run) every variant learned the 10-class motion task only weakly —
# 20–24 % top-1 against 10 % chance — and **the S-series and the T-series tie** (21.6 % vs 21.7 %, Welch p = 0.91).
# The "best" variant (S-5, 23.7 %) is 1.4 seed-standard-deviations above X3D-S and not a finding. STEntr orders the
# family exactly as it does at the paper's input (S-1 and X3D-S on top, every T below every S), but over the 11
# variants neither STEntr (Kendall τ = +0.04, interval −0.45…+0.51) nor HomoEntr (τ = 0.00) tracks top-1.
#
# So **Table 1 / Fig. 2 do not reproduce at this scale**, and this scale cannot refute them either: the paper's
# spread between variants is a few points at ~45 % top-1 after full training on 86k Sth-Sth videos, while here
# the seed-to-seed standard deviation (2–5 points on 200 clips) is as large as any difference between variants.
# What the notebook does establish at any scale is the analytic half: at equal FLOPs and (nearly) equal HomoEntr,
# STEntr separates the S- from the T-series (by 8–24 nats at 8×56², 2–22 at 13×160²), in the direction the paper
# reports for accuracy. A decisive test needs far longer training (tens of epochs, thousands of clips per class),
# i.e. a GPU.
#
# ## Claims checked by this notebook
#
# What holds at any scale: the family is Table 1's (five stages, depths 3/5/5/6/7, one stage differs), its members
# cost within 10 % of X3D-S, HomoEntr varies far less across the family than STEntr, and every run finished and
# was tested. At proxy scale every variant must also have learned the motion task (above 1.5 × chance).

# %%
assert [s.depth for s in family["X3D-S"].stages] == [3, 5, 5, 6, 7]
assert (table1["gmacs"] / table1.loc[table1["variant"] == "X3D-S", "gmacs"].iloc[0]).between(0.9, 1.0).all()
assert table1["homo_entr"].std() < table1["st_entr"].std()
assert results[top1].notna().all() and (results["test_clips"] > 0).all()
assert (results.groupby("variant")["seed"].nunique() == len(P["seeds"])).all()
if scale != "smoke":
    assert (summary[f"{top1}_mean"] > 1.5 / MOTION["classes"]).all(), "every variant should learn the motion task"
print("all claims hold")
