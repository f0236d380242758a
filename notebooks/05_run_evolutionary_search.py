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
# # 05 · The evolutionary search: E3D-S/M/L from scratch
#
# E3D finds its networks by maximising a training-free score under a budget (paper §3.4, App. E):
# $$F^* = \arg\max_{F\in\mathcal S}\ \mathrm{STEntr}(F)\quad\text{s.t.}\quad \mathrm{FLOPs}(F)\le B,\
#   \mathrm{layers}(F)\le L .$$
# Algorithm 1 is a plain evolutionary loop: start from a small net $F_0$ (Table 8), and for $M$ iterations
# draw a member of the population $P$ uniformly, mutate two of its blocks, and if the child is within budget,
# score it and insert it, dropping the lowest score once $|P|>N$. The paper uses $N=512$, $M=500{,}000$.
#
# | mutation (one per block, uniformly) | choices |
# | --- | --- |
# | depthwise kernel | $\{1\times3\times3,\ 1\times5\times5,\ 3\times3\times3\}$ (replaced by a different one) |
# | output width | $\times\{2.0, 1.5, 1.25, 0.8, 0.6, 0.5\}$, rounded to a multiple of 8 in $[8, 640]$ |
# | bottleneck | ratio $\in\{1.5, \dots, 4.0\}$ of the output width |
# | depth | $\pm1$ or $\pm2$ blocks |
#
# The stem and conv5 ("conv 1 and conv 7", App. F) mutate their width only. `e3dlib.search` implements this
# with per-block cached cost and score terms (bit-identical to `e3dlib.cost`/`e3dlib.scores`), so a full
# 500k-iteration search takes seconds on one core; it is deterministic per seed and resumable
# (`python -m e3dlib search ... --out DIR [--resume]`). Where the paper is silent we follow the official code
# (widths never decrease through the net; bottleneck = ratio × *output* width); the module docstring lists the
# few places where we depart from it.
#
# Two readings of the paper's "maximal depth $L$" appear below: a **layers budget only** (Algorithm 1 as
# written: $L = 83$ for S/M, $167$ for L, the published nets' layer counts), and the **official code's
# per-stage depth caps** (3 for stage 2 of Table 9, $\lfloor L/3/4\rfloor$ for the others: 6 for S/M, 13 for L).

# %% tags=["parameters"]
scale = "smoke"
seed = 0
device = "cpu"
data_root = "data/generated"
figures_dir = "figures"
population = 512

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown
from matplotlib.patches import Patch, Rectangle

from e3dlib import PRESETS, homo_entr, macs, num_layers, params, st_entr, tinynas_flops
from e3dlib.deploy import latency_table
from e3dlib.notebooks import pick, plot_style, save_figure, save_table
from e3dlib.paths import at_root
from e3dlib.search import SearchConfig, search

at_root()  # data_root, runs_dir, figures_dir are relative to the repository root, also from JupyterLab

plot_style()
iterations = pick(scale, smoke=2_000, proxy=500_000)
PAPER_ITERATIONS = 500_000
FAMILY = {  # paper budgets (G TinyNAS FLOPs), input, maximal layers, official per-stage depth caps
    "S": dict(budget_flops=1.9e9, frames=13, size=160, budget_layers=83, caps=(3, 6, 6, 6, 6)),
    "M": dict(budget_flops=4.7e9, frames=16, size=224, budget_layers=83, caps=(3, 6, 6, 6, 6)),
    "L": dict(budget_flops=18.4e9, frames=16, size=312, budget_layers=167, caps=(3, 13, 13, 13, 13)),
}


def config(member: str, capped: bool, **kw) -> SearchConfig:
    f = dict(FAMILY[member])
    caps = f.pop("caps")
    base = dict(variant="tinynas", iterations=iterations, population=population, seed=seed,
                max_depth=caps if capped else None)
    return SearchConfig(**{**f, **base, **kw})


def row(name: str, spec, budget: float | None = None) -> dict:
    stages = " | ".join(f"{s.out_channels}/{s.bottleneck} {s.kt}x{s.k}x{s.k} x{s.depth}" for s in spec.stages)
    return {"net": name, "input": f"{spec.frames}x{spec.size}", "GFLOPs_tinynas": tinynas_flops(spec) / 1e9,
            "budget_G": budget / 1e9 if budget else None, "GMACs": macs(spec) / 1e9, "params_M": params(spec) / 1e6,
            "layers": num_layers(spec), "STEntr_tinynas": st_entr(spec, "tinynas"), "STEntr_paper": st_entr(spec),
            "HomoEntr": homo_entr(spec), "stem": spec.stem.out_channels, "conv5": spec.head.conv_channels,
            "stages (out/btn kernel xdepth)": stages}


# %% [markdown]
# ## 1. Searching the family
#
# Six searches: E3D-S/M/L budgets, each with the layers budget only and with the official depth caps. The score
# is the official STEntr (`variant="tinynas"`), the one that produced the published nets, so that the
# published E3D-S/M/L are a fair yardstick. Note that the published nets slightly exceed the paper's quoted
# budgets (1.953 / 4.863 / 18.493 G TinyNAS FLOPs against 1.9 / 4.7 / 18.4 G): the official configs used
# 2.0 / 5.0 / 18.5 G. Section 2 repeats E3D-S under the official budget for a like-for-like comparison.

# %%
runs = {}
for member in FAMILY:
    for capped in (False, True):
        runs[(member, capped)] = search(config(member, capped))
per_run = pd.DataFrame([{"net": m, "depth caps": c, "iterations": r.iterations, "seconds": r.seconds,
                         "iterations_per_s": r.iterations / r.seconds, "best": r.best_score}
                        for (m, c), r in runs.items()])
per_run.round(3)

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for ax, member in zip(axes, FAMILY, strict=True):
    for capped, color in ((False, "C0"), (True, "C1")):
        tr = pd.DataFrame(runs[(member, capped)].trace, columns=["iteration", "best", "median", "size"])
        tr = tr[tr["iteration"] > 0]
        label = "depth caps" if capped else "layers budget only"
        ax.plot(tr["iteration"], tr["best"], color=color, label=f"best ({label})")
        ax.plot(tr["iteration"], tr["median"], color=color, ls="--", alpha=0.6, label=f"median ({label})")
    for preset, style in ((f"e3d-{member.lower()}", "k-"), (f"x3d-{member.lower()}", "k:")):
        ax.axhline(st_entr(PRESETS[preset], "tinynas"), color="k", ls=style[1:], lw=1, label=preset)
    ax.set_xscale("log")
    ax.set_xlabel("iteration")
    ax.set_title(f"E3D-{member}: {FAMILY[member]['budget_flops'] / 1e9:.1f} G, "
                 f"{FAMILY[member]['frames']}x{FAMILY[member]['size']}²")
axes[0].set_ylabel("STEntr (official)")
axes[0].legend(fontsize=7)
save_figure(fig, "05_convergence", figures_dir)

# %% [markdown]
# **Reading.** The score climbs steeply over the first ~20k iterations (the initial net scores about 45) and
# then creeps; once the population is full, the median trails the best by little, which is what the truncation
# selection of Algorithm 1 produces. At proxy scale (500k iterations), with the layers budget only, the searched
# nets score well above the published E3D-S/M/L and X3D-S/M/L (horizontal lines) although the budgets are
# smaller than the published nets' FLOPs. With the depth caps they end near the published values: just below
# for S and M (whose published nets use 3-4% more FLOPs than the budget here) and above for L.
#
# ## 2. Found nets against the published E3D and X3D

# %%
family = pd.DataFrame(
    [row(f"found-{m} ({'caps' if c else 'layers only'})", r.best, FAMILY[m]["budget_flops"])
     for (m, c), r in runs.items()]
    + [row(n, PRESETS[n]) for n in ("e3d-s", "e3d-m", "e3d-l", "x3d-s", "x3d-m", "x3d-l")])
save_table(family, "05_found_vs_published", figures_dir)
family.round(3)

# %%
KERNEL_COLORS = {(1, 3): "#9ecae1", (1, 5): "#3182bd", (3, 3): "#fd8d3c", (3, 5): "#e6550d", (5, 3): "#a63603",
                 (1, 7): "#08519c"}


def draw_net(ax, y, spec, label):
    """One row: stem, stages (length = depth, colour = kernel, text = width), conv5."""
    x = 0.0
    ax.add_patch(Rectangle((x, y - 0.35), 1, 0.7, color="0.8"))
    ax.text(x + 0.5, y, spec.stem.out_channels, ha="center", va="center", fontsize=6)
    x += 1.2
    for s in spec.stages:
        ax.add_patch(Rectangle((x, y - 0.35), s.depth, 0.7, color=KERNEL_COLORS.get((s.kt, s.k), "0.5"), ec="k",
                               lw=0.3))
        ax.text(x + s.depth / 2, y, s.out_channels, ha="center", va="center", fontsize=6)
        x += s.depth + 0.2
    ax.add_patch(Rectangle((x, y - 0.35), 1, 0.7, color="0.8"))
    ax.text(x + 0.5, y, spec.head.conv_channels, ha="center", va="center", fontsize=6)
    ax.text(-0.5, y, label, ha="right", va="center", fontsize=8)
    return x + 1


fig, axes = plt.subplots(3, 1, figsize=(13, 7.5))
for ax, member in zip(axes, FAMILY, strict=True):
    nets = [("found (layers only)", runs[(member, False)].best), ("found (caps)", runs[(member, True)].best),
            (f"E3D-{member}", PRESETS[f"e3d-{member.lower()}"]), (f"X3D-{member}", PRESETS[f"x3d-{member.lower()}"])]
    right = max(draw_net(ax, -i, spec, name) for i, (name, spec) in enumerate(nets))
    ax.set_xlim(-9, right + 1)
    ax.set_ylim(-len(nets) + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(f"E3D-{member} budget: stem | stages (length = depth, text = output width) | conv5", fontsize=9)
fig.legend(handles=[Patch(color=c, label=f"{kt}x{k}x{k}") for (kt, k), c in KERNEL_COLORS.items()],
           ncol=6, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 0.02), title="depthwise kernel")
save_figure(fig, "05_stage_diagram", figures_dir)

# %% [markdown]
# **Reading.** Two things stand out.
#
# * **Kernels.** Every search, with or without caps, puts $1\times5\times5$ in the first stage (and at 312 px
#   sometimes in the second) and $3\times3\times3$ afterwards — E3D's pattern. The refinement factor $D(S,K)$ decides this:
#   at $13\times40\times40$ the flat kernel is better aligned with the feature map, at $13\times5\times5$ the cube.
# * **Depth.** With a layers budget only, the search spends almost the whole depth budget on the last stage
#   (tens of blocks on $5\times5$ maps, where a block is cheap in FLOPs and the official STEntr's refinement
#   factor for $3\times3\times3$ is largest). The balanced depths of the published nets (3/6/6/6/6) come from the
#   official code's per-stage caps, not from the score: with the caps the search recovers them. The conv5 width
#   goes to 640 in every searched net (the published nets keep 512: the official code never mutates conv5,
#   while the paper says conv 7 participates).
#
# Under the official E3D-S budget (2.0 G TinyNAS FLOPs, 83 layers) the comparison with the published E3D-S is
# like for like:

# %%
official = {label: search(config("S", capped, budget_flops=2.0e9))
            for label, capped in (("layers only", False), ("caps", True))}
e3d_s = st_entr(PRESETS["e3d-s"], "tinynas")
head_to_head = pd.DataFrame([row(f"found, 2.0 G ({k})", r.best, 2.0e9) for k, r in official.items()]
                            + [row("e3d-s (published)", PRESETS["e3d-s"])])
head_to_head["minus_e3d_s"] = head_to_head["STEntr_tinynas"] - e3d_s
save_table(head_to_head, "05_e3d_s_head_to_head", figures_dir)
head_to_head.round(3)

# %% [markdown]
# ## 3. HomoEntr- vs STEntr-guided search (paper Table 11)
#
# Table 11 trains E3D searched with HomoEntr (Eq. 6, kernel-shape blind) and with STEntr (Eq. 8) and reports
# +1.3% top-1 on Sth-Sth V1 for STEntr. Without training we can compare what the two scores *choose*: same
# budget (E3D-S, 1.9 G, 83 layers, depth caps), three guides: HomoEntr, STEntr as in the paper (Eq. 8), STEntr
# as in the official code.

# %%
guides = {"HomoEntr": config("S", True, score="homo_entr"),
          "STEntr (paper Eq. 8)": config("S", True, variant="paper"),
          "STEntr (official)": config("S", True)}
guided = {name: runs[("S", True)] if name == "STEntr (official)" else search(cfg) for name, cfg in guides.items()}
table11 = pd.DataFrame([row(f"guided by {name}", r.best, 1.9e9) for name, r in guided.items()])
table11["kernels"] = [" ".join(f"{s.kt}x{s.k}x{s.k}" for s in r.best.stages) for r in guided.values()]
save_table(table11, "05_table11_homo_vs_st", figures_dir)
table11[["net", "kernels", "GFLOPs_tinynas", "layers", "HomoEntr", "STEntr_paper", "STEntr_tinynas",
         "stages (out/btn kernel xdepth)"]].round(3)

# %% [markdown]
# **Reading.** HomoEntr only sees the kernel *volume* ($\log K_tK_hK_w$), so it prefers $3\times3\times3$ (27)
# over $1\times5\times5$ (25) everywhere, including the first stage; both STEntr variants choose the flat
# $1\times5\times5$ there. Widths and depths barely differ (the caps fix the depths), so the guides disagree
# mainly on kernels, and the scores of the three nets differ by a few nats at most. Each guide's net is best
# or within a hair of best on its own metric: an evolutionary search finds near-optima, not optima. Whether
# the STEntr net also trains better (the paper's +1.3%) is a question for training, not for this notebook.
#
# ## 4. A larger kernel space (paper Table 12)
#
# Table 12 widens the kernel choices and reports +0.2% top-1. `SearchConfig.kernels` is a field, so we add
# $3\times5\times5$, $5\times3\times3$ and $1\times7\times7$ to the three of the paper.

# %%
big_kernels = ((1, 3), (1, 5), (3, 3), (3, 5), (5, 3), (1, 7))
wide = search(config("S", True, kernels=big_kernels))
table12 = pd.DataFrame([row("3 kernels (paper)", runs[("S", True)].best, 1.9e9), row("6 kernels", wide.best, 1.9e9)])
table12["kernels"] = [" ".join(f"{s.kt}x{s.k}x{s.k}" for s in r.stages) for r in (runs[("S", True)].best, wide.best)]
save_table(table12, "05_table12_kernel_space", figures_dir)
table12[["net", "kernels", "GFLOPs_tinynas", "STEntr_tinynas", "stages (out/btn kernel xdepth)"]].round(3)

# %% [markdown]
# **Reading.** The larger space contains the smaller one, so the best score can only rise (given enough
# iterations), and the search does use the new kernels: temporal-heavy $5\times3\times3$ late, where the maps
# are small in space but still 13 frames long, and $3\times5\times5$ early; $1\times7\times7$ is never kept.
# At proxy scale the score gain (about 10 nats) dwarfs the gap between the HomoEntr- and STEntr-guided nets
# (about 1.5 nats), while the paper's accuracy gains go the other way (+0.2% for the larger space, +1.3% for
# STEntr over HomoEntr): score differences are not accuracy differences.
#
# ## 5. Seeds and determinism
#
# Different seeds give different trajectories; the same seed gives bit-identical ones (the search draws every
# random number from one `random.Random(seed)`).

# %%
seeds = {s: runs[("S", True)] if s == seed else search(config("S", True, seed=s)) for s in (seed, seed + 1, seed + 2)}
run_a = search(config("S", True, iterations=min(iterations, 5_000)))
run_b = search(config("S", True, iterations=min(iterations, 5_000)))
spread = pd.DataFrame([{"seed": s, "best": r.best_score, "stages": row("", r.best)["stages (out/btn kernel xdepth)"]}
                       for s, r in seeds.items()])
print(f"same seed twice: identical trace = {run_a.trace == run_b.trace}, identical best = {run_a.best == run_b.best}")
spread.round(3)

# %% [markdown]
# ## 6. Search cost (paper Table 13)
#
# The paper reports three hours on a desktop CPU per E3D model; MoViNet's search took 24 hours on 64 TPUs.
# Ours, measured in this notebook (one Python process, one core):

# %%
s_run = runs[("S", True)]
per_iteration = s_run.seconds / s_run.iterations
cost = pd.DataFrame([
    {"method": "MoViNet (NAS with training)", "hardware": "64 TPUs", "hours": 24.0, "device_hours": 24.0 * 64,
     "measured_here": False},
    {"method": "E3D (paper, 500k iterations)", "hardware": "desktop CPU", "hours": 3.0, "device_hours": 3.0,
     "measured_here": False},
    {"method": f"e3dlib ({s_run.iterations:,} iterations, measured)", "hardware": "1 CPU core",
     "hours": s_run.seconds / 3600, "device_hours": s_run.seconds / 3600, "measured_here": True},
])
if s_run.iterations < PAPER_ITERATIONS:
    cost.loc[len(cost)] = {"method": "e3dlib (projected to 500k iterations)", "hardware": "1 CPU core",
                           "hours": per_iteration * PAPER_ITERATIONS / 3600,
                           "device_hours": per_iteration * PAPER_ITERATIONS / 3600, "measured_here": False}
cost["seconds"] = cost["hours"] * 3600
save_table(cost, "05_table13_search_cost", figures_dir)
print(f"{1 / per_iteration:,.0f} iterations/s; a 500k-iteration search ≈ {per_iteration * PAPER_ITERATIONS:.1f} s")
cost.round(4)

# %% [markdown]
# **Reading.** The analytic score makes the search cheap, as the paper says; caching per-block terms (a
# mutation changes two blocks, the rest of the net is unchanged) makes it cheaper still — about three orders of
# magnitude below the paper's three CPU-hours for the same 500k iterations, and about six below MoViNet's
# TPU-hours. The search is no longer the bottleneck of E3D: training the found network is.
#
# ## 7. FLOPs are a proxy: latency on this CPU
#
# E3D's case is efficiency: at equal FLOPs it should be more accurate than X3D. But FLOPs are not time. Depthwise
# 3D convolutions and squeeze-excitation move much memory per FLOP, so two nets of equal FLOPs can run at very
# different speeds, and E3D's nets differ from X3D's exactly there (E3D-S has wide 1×5×5 depthwise kernels early,
# deeper stages). We measure what a user pays: inference time per clip at batch 1, at each net's published input,
# with one thread and with every core, channels-last-3d, eager PyTorch and frozen TorchScript; the median of
# repeated passes after warm-up (`e3dlib.deploy.latency_table`; random weights: time does not depend on values).
# Numbers depend on the machine and on what else runs on it; this render was made on the machine named in the
# README's facts (2 cores), with nothing else running.

# %%
lat_nets = [PRESETS[n] for n in ("x3d-xs", "x3d-s", "x3d-m", "x3d-l", "e3d-s", "e3d-m", "e3d-l")]
threads = pick(scale, smoke=[1], proxy=sorted({1, os.cpu_count() or 1}))
if scale == "smoke":
    lat_nets = [n.with_input(2, 32) for n in lat_nets]
lat = pd.DataFrame(latency_table(lat_nets, threads=threads, channels_last=(True,),
                                 warmup=pick(scale, smoke=1, proxy=2), repeats=pick(scale, smoke=1, proxy=5)))
lat["family"] = lat["arch"].str[:3].str.upper()
save_table(lat, "05_latency", figures_dir)
lat.pivot_table(index=["arch", "gmacs"], columns=["mode", "threads"], values="ms_per_clip").round(1)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
for ax, (mode, part) in zip(axes, lat.groupby("mode"), strict=True):
    for (fam, th), g in part.groupby(["family", "threads"]):
        ax.plot(g["gmacs"], g["ms_per_clip"], marker="o" if fam == "E3D" else "s", ls="-" if th == 1 else "--",
                color="C3" if fam == "E3D" else "C0", label=f"{fam}, {th} thread{'s' if th > 1 else ''}")
        for r in g.itertuples():
            ax.annotate(r.arch.split("-")[1].upper(), (r.gmacs, r.ms_per_clip), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set(xscale="log", yscale="log", xlabel="GMACs per clip", title=f"{mode}, batch 1, channels-last-3d")
axes[0].set_ylabel("ms per clip")
axes[0].legend(fontsize=8)
save_figure(fig, "05_latency_vs_flops", figures_dir)

# %%
pairs = [("e3d-s", "x3d-s"), ("e3d-m", "x3d-m"), ("e3d-l", "x3d-l")]
t = lat.set_index(["arch", "mode", "threads"])["ms_per_clip"]
g = lat.groupby("arch")["gmacs"].first()
ratios = pd.DataFrame([{"pair": f"{e} / {x}", "FLOPs ratio": g[e] / g[x], "mode": m, "threads": th,
                        "time ratio": t[e, m, th] / t[x, m, th]}
                       for e, x in pairs for m in ("eager", "torchscript") for th in sorted(lat["threads"].unique())])
save_table(ratios, "05_latency_ratios", figures_dir)
slower = ratios[ratios["time ratio"] > 1.05 * ratios["FLOPs ratio"]]
faster = ratios[ratios["time ratio"] < 0.95 * ratios["FLOPs ratio"]]
reading = ("E3D's FLOPs parity does not survive as time here: it runs slower than X3D." if len(slower) > len(ratios) / 2
           else "At equal FLOPs E3D runs faster than X3D here: its efficiency survives as time, and grows."
           if len(faster) > len(ratios) / 2 else "E3D's time follows its FLOPs here, no better and no worse than X3D's.")
Markdown(f"Over {len(ratios)} (pair, mode, threads) settings, E3D takes {ratios['time ratio'].min():.2f}–"
         f"{ratios['time ratio'].max():.2f}× X3D's time at FLOPs ratios {ratios['FLOPs ratio'].min():.2f}–"
         f"{ratios['FLOPs ratio'].max():.2f}×: more than 5 % faster than its FLOPs predict in {len(faster)} of them, "
         f"more than 5 % slower in {len(slower)}. {reading} (One machine, one run, batch 1; why — how much memory each "
         "net's depthwise and SE layers move per FLOP — is not measured here.)")

# %% [markdown]
# ## Claims checked by this notebook

# %%
for (member, capped), r in runs.items():
    f = FAMILY[member]
    assert tinynas_flops(r.best) <= f["budget_flops"] and num_layers(r.best) <= f["budget_layers"]
    assert not capped or all(s.depth <= c for s, c in zip(r.best.stages, f["caps"], strict=True))
    assert r.best_score > r.trace[0][1]
assert run_a.trace == run_b.trace and run_a.best == run_b.best, "same seed, same search"
if scale != "smoke":  # these need the paper's 500k iterations
    assert table11.loc[0, "HomoEntr"] >= table11.loc[2, "HomoEntr"] and table11.loc[2, "STEntr_tinynas"] >= \
        table11.loc[0, "STEntr_tinynas"], "each guide wins on its own score"
    assert head_to_head["minus_e3d_s"].iloc[:2].min() > 0, "beats the published E3D-S under its own budget"
    assert (table11["kernels"].iloc[0].split() == ["3x3x3"] * 5
            and all(r.best.stages[0].k == 5 and r.best.stages[0].kt == 1 for n, r in guided.items() if n != "HomoEntr"))
    assert wide.best_score >= runs[("S", True)].best_score
    assert s_run.seconds < 60, "a full E3D-S search within a minute on one core"
assert set(lat["arch"]) == {n.name for n in lat_nets} and lat["ms_per_clip"].gt(0).all()  # every net measured
assert len(ratios) == len(pairs) * 2 * lat["threads"].nunique()
print("all claims hold")
