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
# # 02 · Analytic score vs forward inference
#
# MAE-DET and Zen-NAS estimate a network's output entropy by *sampling*: draw Gaussian weights and input, run
# the network, measure the variance. E3D replaces the sampling by the closed form of Eq. 5–6,
# $\log D^2(x^L) = \sum_l \log(K_t^lK_h^lK_w^lC_{l-1})$ (`e3dlib.homo_entr`). The paper's Fig. 4 argues that the
# closed form (a) agrees with forward inference, (b) has no sampling noise and (c) costs constant time. Here we
# reproduce Fig. 4 and then test the claim where it is harder: deep E3D/X3D networks with depthwise convs,
# strides and zero padding, where the i.i.d. assumption behind Eq. 5 does not hold at the borders.
#
# Three quantities appear throughout (all in nats of log-variance; the entropy bound is
# $\tfrac12\log(2\pi e) + \tfrac12\log D^2$, a monotone function of it):
#
# * **analytic** — Eq. 5–6, `e3dlib.forward.analytic_log_variance` (= `homo_entr` for a whole network);
# * **forward** — Monte-Carlo forward inference, `e3dlib.forward.forward_log_variance`;
# * **padding-aware** — the exact expectation with zero padding, `e3dlib.forward.padded_log_variance`.

# %% tags=["parameters"]
scale = "smoke"
seed = 0
device = "cpu"
data_root = "data/generated"
figures_dir = "figures"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from e3dlib import PRESETS, homo_entr
from e3dlib.forward import (
    analytic_log_variance,
    forward_log_variance,
    padded_log_variance,
    plain_layers,
    plain_stack,
    time_analytic_vs_forward,
)
from e3dlib.notebooks import pick, plot_style, save_figure, save_table
from e3dlib.paths import at_root

at_root()  # data_root, runs_dir, figures_dir are relative to the repository root, also from JupyterLab

plot_style()
evaluations = pick(scale, smoke=50, proxy=1000)
channels = [16, 32, 64, 128]

# %% [markdown]
# ## 1. Fig. 4a — the paper's three-layer network
#
# Input 5×5×5, kernels 1×1×1, 3×3×3, 1×1×1 (stride 1, zero padding), every layer with $C$ channels,
# $C\in\{16,32,64,128\}$. Forward inference is repeated with fresh weights and input each time.

# %%
rows, samples = [], {}
for i, C in enumerate(channels):
    net = plain_stack(C, [(1, 1, 1), (3, 3, 3), (1, 1, 1)])
    mc = forward_log_variance(net, (5, 5, 5), repeats=evaluations, seed=seed + i, device=device)
    samples[C] = mc
    rows.append({"C": C, "analytic": analytic_log_variance(net), "padding_aware": padded_log_variance(net, (5, 5, 5)),
                 "forward_mean": mc.mean(), "forward_std": mc.std(), "forward_min": mc.min(), "forward_max": mc.max()})
fig4a = pd.DataFrame(rows)
fig4a["analytic_minus_forward"] = fig4a["analytic"] - fig4a["forward_mean"]
save_table(fig4a, "02_fig4a_three_layer", figures_dir)
fig4a.round(3)

# %%
fig, ax = plt.subplots(figsize=(7, 3.8))
pos = np.arange(len(channels))
ax.violinplot([samples[C] for C in channels], positions=pos, showextrema=True)
ax.plot(pos, fig4a["analytic"], "r_", ms=30, mew=2, label="analytic (Eq. 6)")
ax.plot(pos, fig4a["padding_aware"], "k_", ms=30, mew=1.5, ls="none", label="padding-aware expectation")
ax.set_xticks(pos, [f"C={C}" for C in channels])
ax.set_ylabel(r"$\log D^2(x^3)$ [nats]")
ax.set_title(f"Fig. 4a: {evaluations} forward inferences (violins) vs the closed form, input 5x5x5")
ax.legend(loc="upper left")
save_figure(fig, "02_fig4a_forward_vs_analytic", figures_dir)

# %%
print(f"gap analytic - forward = {fig4a['analytic_minus_forward'].mean():.2f} nats (mean over C); "
      f"forward std = {fig4a['forward_std'].mean():.3f} nats")
slope_forward = np.polyfit(np.log2(channels), fig4a["forward_mean"], 1)[0]
slope_analytic = np.polyfit(np.log2(channels), fig4a["analytic"], 1)[0]
print(f"per doubling of C: analytic +{slope_analytic:.3f}, forward +{slope_forward:.3f} (3 log 2 = {3 * np.log(2):.3f})")

# %% [markdown]
# **Reading.** The forward samples spread around their mean by the standard deviation printed above — that spread is the
# sampling noise the closed form does not have. The paper draws the analytic value inside the forward range;
# here it sits **above** the forward mean for every $C$ by the printed gap (several forward standard deviations):
# on a 5×5×5 map, 98 of 125 output positions of the 3×3×3 layer touch the zero padding and receive fewer
# than 27 taps. The padding-aware expectation (black) lands in the middle of the violins, so the discrepancy is
# entirely the border effect. Because it does not depend on $C$, differences between widths are reproduced
# exactly: analytic and forward both grow by $3\log 2$ per doubling of $C$ (each of the three layers has $C$
# input channels; the input itself has $C$ channels, as in the paper's setting).

# %% [markdown]
# ## 2. Fig. 4b — time for repeated evaluations
#
# The paper times $10^3$ evaluations: constant for the formula, growing with $C$ for forward inference. We time
# the same here on this machine's CPU (2 cores), `evaluations` times each.

# %%
timing = pd.DataFrame([{"C": C, **time_analytic_vs_forward(plain_stack(C, [(1, 1, 1), (3, 3, 3), (1, 1, 1)]),
                                                           (5, 5, 5), evaluations, seed=seed)}
                       for C in channels])
save_table(timing, "02_fig4b_timing", figures_dir)
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(channels, timing["forward_s"], "o-", label="forward inference")
ax.plot(channels, timing["analytic_s"], "s-", label="analytic (Eq. 6)")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("channels C")
ax.set_ylabel(f"seconds for {evaluations} evaluations")
ax.set_title("Fig. 4b: cost of the score")
ax.legend()
save_figure(fig, "02_fig4b_timing", figures_dir)
timing.round(5)

# %%
print("speed-up of the closed form over forward inference: " +
      ", ".join(f"C={r.C}: {r.speedup:,.0f}x" for r in timing.itertuples()))

# %% [markdown]
# **Reading.** The closed form costs microseconds whatever $C$; forward inference costs milliseconds and grows
# with $C$. The printed speed-ups are measured in this run (they vary with the machine, not the conclusion).
#
# ## 3. Beyond Fig. 4: deep E3D/X3D networks
#
# The real networks add what the three-layer toy lacks: depthwise 3×3×3 and 1×5×5 convs, spatial strides that
# shrink maps to 5×5 (13×160² input) or 7×7, and 80+ layers. Each padded layer loses some variance at the
# borders, so the gap between the closed form and forward inference *accumulates with depth*. How large does it
# get, and does it change which network scores higher?

# %%
nets = ["x3d-s", "e3d-s", "x3d-m", "e3d-m", "e3d-initial"]
inputs = pick(scale, smoke={n: (4, 32) for n in nets}, proxy={n: (PRESETS[n].frames, PRESETS[n].size) for n in nets})
reps = pick(scale, smoke=2, proxy=10)
deep_rows, curves = [], {}
for i, name in enumerate(nets):
    T, S = inputs[name]
    spec = PRESETS[name].with_input(T, S)
    layers = plain_layers(spec)
    mc = forward_log_variance(layers, (T, S, S), repeats=reps, seed=seed + i, device=device, per_layer=True)
    pad = padded_log_variance(layers, (T, S, S), per_layer=True)
    iid = analytic_log_variance(layers, per_layer=True)
    curves[name] = (iid, pad, mc.mean(0))
    deep_rows.append({"net": name, "input": f"{T}x{S}x{S}", "layers": len(layers), "analytic": homo_entr(spec),
                      "padding_aware": pad[-1], "forward_mean": mc[:, -1].mean(), "forward_std": mc[:, -1].std(),
                      "analytic_minus_forward": homo_entr(spec) - mc[:, -1].mean(),
                      "padding_aware_minus_forward": pad[-1] - mc[:, -1].mean()})
deep = pd.DataFrame(deep_rows)
save_table(deep, "02_deep_networks", figures_dir)
deep.round(3)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for name, (iid, pad, mc) in curves.items():
    axes[0].plot(iid - mc, label=name)
    axes[1].plot(pad - mc, label=name)
axes[0].set_title("analytic (i.i.d.) minus forward, cumulative")
axes[1].set_title("padding-aware minus forward, cumulative")
for ax in axes:
    ax.set_xlabel("layer index (stem → conv5)")
    ax.set_ylabel("nats of log-variance")
    ax.legend(fontsize=8)
save_figure(fig, "02_deep_drift", figures_dir)

# %% [markdown]
# **Reading.** Left: the i.i.d. closed form drifts above forward inference layer by layer; the drift is
# small in the first stages (large maps, few border positions) and steep in the last stage, where a 3×3 or 5×5
# kernel on a 5×5 or 7×7 map loses a large fraction of its taps at every layer. Right: the padding-aware
# expectation stays within sampling noise of forward inference all the way, so the drift is explained by zero
# padding alone, not by correlations between positions. The final gaps are in the table above
# (`analytic_minus_forward`).
#
# Does the drift change rankings? Below, the rank correlation between the closed form and forward inference
# across these networks.

# %%
tau = stats.kendalltau(deep["analytic"], deep["forward_mean"]).statistic
rho = stats.spearmanr(deep["analytic"], deep["forward_mean"]).statistic
print(f"across {len(deep)} networks: Kendall tau = {tau:.3f}, Spearman rho = {rho:.3f} (analytic vs forward)")
print(f"largest final gap: {deep['analytic_minus_forward'].max():.2f} nats "
      f"({deep.loc[deep['analytic_minus_forward'].idxmax(), 'net']}); "
      f"forward std across draws: {deep['forward_std'].max():.3f} nats")

# %% [markdown]
# **Verdict.** The paper's claims (b) and (c) hold outright: the closed form is noise-free and orders of
# magnitude cheaper. Claim (a) holds for *ranking* at a fixed input size (the correlations printed above) but
# not for absolute values: the i.i.d. formula overestimates the log-variance of padded networks by the amounts
# in the tables, growing with depth and with smaller final maps. Networks with many layers on small maps are
# flattered slightly by HomoEntr/STEntr relative to what forward inference would measure.
#
# ## Claims checked by this notebook

# %%
assert (fig4a["forward_std"] > 0).all() and abs(slope_analytic - 3 * np.log(2)) < 1e-9
assert abs(slope_forward - slope_analytic) < pick(scale, smoke=0.1, proxy=0.03)
assert (fig4a["analytic_minus_forward"] > 0).all(), "zero padding can only remove variance"
assert (abs(fig4a["padding_aware"] - fig4a["forward_mean"]) < 3 * fig4a["forward_std"] + 0.02).all()
assert (timing["speedup"] > 10).all()
assert (deep["analytic_minus_forward"] > 0).all()
assert (abs(deep["padding_aware_minus_forward"]) < abs(deep["analytic_minus_forward"])).all()
print("all claims hold")
