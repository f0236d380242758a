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
# # 06 · Training E3D vs X3D at equal FLOPs
#
# The paper's claim is about accuracy per FLOP *after training*: E3D-S (1.9 G) beats X3D-S (1.96 G) on
# Something-Something V1 by several points (Table 2), and the STEntr-searched net beats the HomoEntr-searched one
# (Table 11, +1.3 %). The real experiment needs 8 GPUs for days. Here we run the same comparison at a scale that
# fits 2 CPU cores, honestly labelled:
#
# * **data** — the synthetic benchmarks of `e3dlib.data`: *something-like* (20 classes defined by motion
#   direction and temporal order, like Sth-Sth) and *kinetics-like* (20 classes defined by appearance), written
#   as real SSv2 / Kinetics-400 datasets and read by the same loaders a user points at the real data;
# * **input** — 8 frames (stride 2) at 56². Not 64²: there the third stage's maps are 8×8×8, exactly parallel
#   to a 3×3×3 kernel, where $D(S,K)$ is infinite and STEntr cannot rank anything (notebook 01, §4);
# * **networks** — searched *at that input size* with `e3dlib.search` (STEntr, official variant, and HomoEntr)
#   under a proxy budget, because STEntr depends on the feature-map sizes it is evaluated at; X3D-S is scaled in
#   width (`e3dlib.presets.match_flops`) to the FLOPs of the STEntr-searched net;
# * **recipe** — SGD + momentum, warm-up + cosine, label smoothing (`e3dlib.recipe.RECIPES["proxy"]`), a few
#   epochs, ≥ 3 seeds for E3D and X3D on each benchmark;
# * **testing** — the paper's two protocols, K-Center and K-LeftCenterRight, on the validation split (as the
#   paper reports; the synthetic test splits, like Something-Something's, carry no labels).
#
# Every run is cached under `runs_dir` (one `result.json` per run), so re-running re-uses finished runs and an
# interrupted notebook resumes.

# %% tags=["parameters"]
scale = "smoke"
seed = 0
device = "cpu"
data_root = "data/generated"
figures_dir = "figures"
runs_dir = "runs/06"
budget_gmacs = 0.05

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e3dlib import PRESETS, macs, num_layers
from e3dlib.data.generate import generate
from e3dlib.notebooks import pick, plot_style, save_figure, save_table
from e3dlib.paths import at_root
from e3dlib.presets import match_flops, scale_width
from e3dlib.recipe import TrainConfig, with_recipe
from e3dlib.search import SearchConfig, search
from e3dlib.study import describe, mean_std, train_and_test, welch_t

at_root()  # data_root, runs_dir, figures_dir are relative to the repository root, also from JupyterLab

plot_style()
P = pick(scale,
         smoke=dict(videos=40, frames=5, size=48, epochs=1, seeds=[seed], homo_seeds=[seed], iterations=2_000,
                    views=["2x1", "2x3"], batch=8),
         proxy=dict(videos=1000, frames=8, size=56, epochs=8, seeds=[seed, seed + 1, seed + 2], homo_seeds=[seed],
                    iterations=200_000, views=["4x1", "4x3"], batch=16))
benchmarks = ["something-like", "kinetics-like"]
run_root = Path(runs_dir) / scale
gen_root = Path(data_root) / scale  # the generated benchmarks of this scale (smoke and proxy sizes differ)
cache_dir = gen_root / "cache"

# %% [markdown]
# ## 1. Data
#
# Both benchmarks are generated once (idempotently) under `data_root/<scale>/`. Clips are 16 frames at 96×128; every clip
# is a pure function of (seed, index), 80 % train / 10 % val / 10 % test with balanced labels.

# %%
for name in benchmarks:
    generate(name, gen_root / name, P["videos"], seed=seed, workers=2, progress=False)
print({name: sorted(p.name for p in (gen_root / name).iterdir())[:4] for name in benchmarks})

# %% [markdown]
# ## 2. The networks
#
# The search starts from Table 8's initial net at half width (the full-width one already costs
# 0.048 GMACs at 8×56²) and runs Algorithm 1 under the proxy budget, with the official per-stage depth caps
# (3, 6, 6, 6, 6). X3D-S is width-scaled to the FLOPs of the STEntr net.

# %%
T, S = P["frames"], P["size"]
budget = budget_gmacs * 1e9 * (T * S * S) / (8 * 56 * 56)  # the proxy budget, rescaled to the smoke input
initial = Path(runs_dir) / "initial_half.json"
initial.parent.mkdir(parents=True, exist_ok=True)
scale_width(PRESETS["e3d-initial"], 0.5).save(initial)
common = dict(frames=T, size=S, budget_flops=budget, flops_convention="macs", max_depth=(3, 6, 6, 6, 6),
              iterations=P["iterations"], population=512, seed=seed, initial=str(initial))
found = {"e3d (STEntr)": search(SearchConfig(score="st_entr", variant="tinynas", **common)).best,
         "e3d (HomoEntr)": search(SearchConfig(score="homo_entr", **common)).best}
found["x3d-s (scaled)"] = match_flops(PRESETS["x3d-s"].with_input(T, S), macs(found["e3d (STEntr)"]))
nets = pd.DataFrame([{"net": k, **describe(v), "layers": num_layers(v),
                      "kernels": " ".join(f"{s.kt}x{s.k}x{s.k}" for s in v.stages),
                      "depths": " ".join(str(s.depth) for s in v.stages),
                      "widths": " ".join(str(s.out_channels) for s in v.stages)} for k, v in found.items()])
save_table(nets, "06_networks", figures_dir)
nets.round(3)

# %% [markdown]
# All three cost the same within a few percent (the searched ones sit just under the budget). The STEntr net
# scores highest in STEntr by construction; whether that buys accuracy is what training tells.
#
# ## 3. Training and testing
#
# `train_and_test` trains one (net, benchmark, seed) and tests it on the validation split with both view protocols;
# finished runs are read back from `runs_dir`.

# %%
recipe = with_recipe(TrainConfig(), "proxy")
slug = {"e3d (STEntr)": "e3d-stentr", "e3d (HomoEntr)": "e3d-homoentr", "x3d-s (scaled)": "x3d-s-scaled"}
rows = []
for bench in benchmarks:
    for net, spec in found.items():
        for s in (P["homo_seeds"] if "HomoEntr" in net else P["seeds"]):
            cfg = TrainConfig(**{**recipe.__dict__, "frames": T, "size": S, "epochs": P["epochs"], "seed": s,
                                 "batch_size": P["batch"], "device": device, "workers": 2})
            run = run_root / bench / f"{slug[net]}-seed{s}"
            rows.append({"net": net, **train_and_test(run, cfg, spec, bench, gen_root, P["views"],
                                                        cache_dir=cache_dir)})
results = pd.DataFrame(rows)
view_cols = [c for c in results.columns if c.startswith("top1[") or c.startswith("top5[")]
save_table(results[["net", "data", "seed", "gmacs", "mparams", "st_entr_tinynas", "homo_entr", "train_top1",
                    "val_top1", *view_cols, "seconds"]], "06_runs", figures_dir)
summary = mean_std(results, ["data", "net"], ["gmacs", *view_cols, "train_top1"])
save_table(summary, "06_summary", figures_dir)
summary.round(3)

# %%
k_center, k_lcr = (c for c in view_cols if c.startswith("top1["))
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=False)
colors = {"e3d (STEntr)": "C3", "e3d (HomoEntr)": "C1", "x3d-s (scaled)": "C0"}
for ax, bench in zip(axes, benchmarks, strict=True):
    sub = results[results["data"] == bench]
    for net, g in sub.groupby("net", sort=False):
        for col, marker in ((k_center, "o"), (k_lcr, "s")):
            ax.errorbar(g["gmacs"].mean(), 100 * g[col].mean(), yerr=100 * g[col].std(ddof=1) if len(g) > 1 else 0,
                        fmt=marker, color=colors[net], capsize=4, ms=8, label=f"{net}, {col[5:-1]}")
    ax.set_title(f"{bench}: top-1 vs FLOPs (mean ± std over seeds)")
    ax.set_xlabel("GMACs per clip at the proxy input")
    ax.set_ylabel("top-1 [%]")
    ax.locator_params(axis="x", nbins=4)
    ax.axhline(100 / 20, color="gray", ls=":", label="chance (20 classes)")
axes[0].legend(fontsize=7)
save_figure(fig, "06_accuracy_vs_flops", figures_dir)

# %% [markdown]
# Training curves (validation top-1 after each epoch, one line per run):

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for ax, bench in zip(axes, benchmarks, strict=True):
    for r in results[results["data"] == bench].itertuples():
        run = run_root / bench / f"{slug[r.net]}-seed{r.seed}"
        hist = pd.read_json(run / "metrics.json")
        ax.plot(hist["epoch"], 100 * hist["val_top1"], color=colors[r.net], alpha=0.7)
    ax.set_title(bench)
    ax.set_xlabel("epoch")
    ax.set_ylabel("val top-1 [%]")
save_figure(fig, "06_training_curves", figures_dir)

# %% [markdown]
# ## 4. Verdict
#
# The numbers below are computed from the runs above: the difference in mean top-1 (K-Center and
# K-LeftCenterRight) between the STEntr-searched E3D and the equal-FLOPs X3D-S, with Welch's t-test over seeds.

# %%
verdict = []
for bench in benchmarks:
    sub = results[results["data"] == bench]
    for col in (k_center, k_lcr):
        e = sub.loc[sub["net"] == "e3d (STEntr)", col].to_numpy()
        x = sub.loc[sub["net"] == "x3d-s (scaled)", col].to_numpy()
        h = sub.loc[sub["net"] == "e3d (HomoEntr)", col].to_numpy()
        t, p = welch_t(e, x)
        verdict.append({"data": bench, "views": col[5:-1], "e3d_mean": e.mean(), "x3d_mean": x.mean(),
                        "homo_mean": h.mean(), "e3d_minus_x3d": e.mean() - x.mean(), "welch_t": t, "p_value": p,
                        "seeds": len(e)})
verdict = pd.DataFrame(verdict)
save_table(verdict, "06_verdict", figures_dir)
for r in verdict.itertuples():
    if np.isnan(r.p_value):
        word = "cannot be tested (a single seed)"
    elif r.p_value < 0.05:
        word = "beats" if r.e3d_minus_x3d > 0 else "loses to"
    else:
        word = "is indistinguishable from"
    print(f"{r.data:15s} {r.views:18s}: E3D {100 * r.e3d_mean:5.1f}% vs X3D {100 * r.x3d_mean:5.1f}% "
          f"(HomoEntr net {100 * r.homo_mean:5.1f}%): E3D {word} X3D at equal FLOPs (p = {r.p_value:.3f})")
verdict.round(3)

# %% [markdown]
# **Reading.** The printed lines are the verdict of this run. The rendered notebook's numbers come from the proxy
# scale (1000 clips per benchmark, 8 epochs): far from the paper's 100 epochs on 86k–169k videos, so differences
# of a few points are within seed noise, and a claim that does not show up here is *not reproduced at our
# scale* rather than refuted. Read the p-values before the means.
#
# In the rendered run (see the tables): **no network learned the motion-dominated benchmark** in 8 epochs —
# every run sits at chance (5 %), so this scale cannot test the paper's Sth-Sth claim at all; a real test needs
# far more training (the data generator's own calibration needed ~50k clip-steps for 55 % with a small 3D CNN).
# On the appearance-dominated benchmark the STEntr-searched E3D **trailed** the width-matched X3D-S and the
# HomoEntr-searched net, which learned equally well: at this scale the paper's claim (E3D > X3D at equal FLOPs,
# STEntr > HomoEntr) **does not reproduce**. One visible reason: at 8×56² the STEntr search chose a very narrow
# stem (8 channels) and 3×3×3 kernels everywhere, spending its budget on depth.
#
# ## Claims checked by this notebook
#
# What must hold at any scale: the compared networks cost the same and every run finished and was tested with
# both protocols. At proxy scale the appearance benchmark must also be learned (test top-1 above twice chance for
# every run); the motion benchmark is not asserted, because at this budget it may not be learned at all -- the
# tables above say whether it was.

# %%
g = nets.set_index("net")["gmacs"]
assert abs(g["x3d-s (scaled)"] / g["e3d (STEntr)"] - 1) < 0.05
assert g[["e3d (STEntr)", "e3d (HomoEntr)"]].max() <= budget / 1e9
assert results[view_cols].notna().all().all() and (results["test_clips"] > 0).all()
assert (results.groupby("net")["seed"].nunique().loc[["e3d (STEntr)", "x3d-s (scaled)"]] == len(P["seeds"])).all()
if scale != "smoke":
    appearance = results[results["data"] == "kinetics-like"]
    assert (appearance[k_center] > 2 / 20).all(), "every kinetics-like run should beat twice chance"
print("all claims hold")
