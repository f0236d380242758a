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
# # 06 · Training E3D vs X3D at equal FLOPs (paper Tables 2 and 11)
#
# The paper's claim is about accuracy per FLOP *after training*: E3D-S (1.9 G) beats X3D-S (1.96 G) on
# Something-Something V1 (Table 2), and the STEntr-searched net beats the HomoEntr-searched one (Table 11, +1.3 %).
# The real experiment needs 8 GPUs for days. Here the same comparison runs at a scale that fits 2 CPU cores, with a
# design stated before any run is read:
#
# * **data** — two benchmarks of 8000 training / 1000 validation clips at 48 × 64: notebook 07's `motion` benchmark
#   (ten pure-motion classes in time-reversed pairs: temporal modelling or nothing) and `kinetics-like` (twenty
#   appearance-defined classes, playing backwards changes nothing);
# * **networks** — searched *at the training input* (8 × 40²; STEntr depends on the feature-map sizes) by
#   `e3dlib.search` with STEntr (official variant) and with HomoEntr, under the FLOPs of X3D-S × 0.35 there. The
#   search space carries X3D's temporal stem conv (`temporal_stem=5`): notebook 07 found that without it the E3D nets
#   stay on the plateau at this scale, so both searched nets have it — a departure from the paper's space, stated
#   here. X3D-S is width-scaled to the STEntr net's FLOPs (`e3dlib.presets.match_flops`);
# * **recipe** — notebook 07's proxy recipe (X3D's, lr scaled linearly to batch 16, branch γ = 0.1), ≥ 5 seeds;
# * **testing** — the paper's two protocols, K-Center and K-LeftCenterRight (here K = 2), on the validation split.

# %% tags=["parameters"]
scale = "smoke"
seed = 0
device = "cpu"
data_root = "data/generated"
figures_dir = "figures"
runs_dir = "data/results/06"

# %%
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown

from e3dlib import PRESETS, macs
from e3dlib.controls import check_controls, temporal_control
from e3dlib.data.generate import generate, make_config
from e3dlib.data.transforms import Views
from e3dlib.notebooks import pick, plot_style, save_design, save_figure, save_table
from e3dlib.paths import at_root
from e3dlib.power import binomial_sd, detectable_difference, format_p, holm, mean_std, welch_ci
from e3dlib.presets import match_flops, scale_width
from e3dlib.recipe import TrainConfig, with_recipe
from e3dlib.search import SearchConfig, search
from e3dlib.study import describe, long_views, read_rows, seed_sds, train_grid

at_root()  # data_root, runs_dir, figures_dir are relative to the repository root, also from JupyterLab
plot_style()
small = {"frames": "8", "height": "32", "width": "40"}
P = pick(scale,
         smoke=dict(videos=60, settings={"motion": small, "kinetics-like": small}, frames=5, size=24, epochs=1,
                    batch=8, seeds=[seed, seed + 1], control_seeds=[seed], iterations=2_000, views=["1x1", "1x3"],
                    processes=1),
         proxy=dict(videos=10_000, settings={"motion": {}, "kinetics-like": {"height": "48", "width": "64"}}, frames=8,
                    size=40, epochs=None, batch=16, seeds=[seed + i for i in range(5)],
                    control_seeds=[seed + i for i in range(3)], iterations=200_000, views=["2x1", "2x3"],
                    processes=2))
T, S = P["frames"], P["size"]
benchmarks = {name: Path(data_root) / scale / name for name in P["settings"]}

# %% [markdown]
# ## 1. Design, before any run is read
#
# **Question.** At equal FLOPs, does the STEntr-searched net beat the width-matched X3D-S, and the HomoEntr-searched
# net, on each benchmark and each view protocol? The paper's gains are a few points (Table 2: E3D-S 47.1 % vs X3D-S
# 44.6 % on Sth-Sth V1 would be such a gap; Table 11: +1.3 %). **Tests:** 2 comparisons × 2 benchmarks × 2 view
# protocols = 8 Welch tests, Holm-corrected as one family. **Noise floor and power:** the seed sd measured on the
# motion benchmark in notebook 07 and the binomial sd of 1000 clips give the smallest difference 5 seeds per net
# can detect — what a null here rules out.

# %%
sds07 = seed_sds(read_rows("data/results/07/proxy"), "top1[1-Center]")  # per net (run folder)
seed_sd = float(sds07.median()) if len(sds07) else 0.08  # 07's median seed sd; an assumed 0.08 without its rows
n_tests = 2 * 2 * len(benchmarks)
alpha = 0.05 / n_tests  # Holm never demands more than Bonferroni: the sizes below hold under it
n = len(P["seeds"])
resolves = detectable_difference(n, seed_sd, alpha=alpha) if n > 1 else float("nan")
Markdown(f"Seed sd from notebook 07: **{100 * seed_sd:.1f} points**; binomial sd of a top-1 near 70 % on 1000 clips: "
         f"{100 * binomial_sd(0.7, 1000):.1f} points. With {n} seeds per net a two-sided test at α = {alpha:.4f} "
         f"({n_tests} tests) detects a true difference of **{100 * resolves:.1f} points** with 80 % power" + (": a few-point effect like the paper's is below what this design resolves, and a null "
                          "says so." if resolves > 0.03 else "."))

# %% [markdown]
# **Controls.** On the motion benchmark, the STEntr net's spatial control (every Kt = 1, no temporal stem conv)
# gives a clip and its reversal the same logits, so it is right on at most one clip of each pair: it must stay at or
# below 50 % + 3 points, and the STEntr net must clearly beat it; otherwise the motion benchmark's lines are not
# read. Collapsed runs are counted and left out of every mean.
#
# ## 2. The networks

# %%
x3d = replace(scale_width(PRESETS["x3d-s"].with_input(T, S), 0.35), num_classes=10)
initial = Path(runs_dir) / scale / "initial_half.json"
initial.parent.mkdir(parents=True, exist_ok=True)
replace(scale_width(PRESETS["e3d-initial"], 0.5), num_classes=10).save(initial)
common = dict(frames=T, size=S, budget_flops=macs(x3d), flops_convention="macs", max_depth=(3, 6, 6, 6, 6),
              iterations=P["iterations"], population=512, seed=seed, initial=str(initial), temporal_stem=5)
nets = {"E3D (STEntr)": search(SearchConfig(score="st_entr", variant="tinynas", **common)).best,
        "E3D (HomoEntr)": search(SearchConfig(score="homo_entr", **common)).best}
nets["X3D-S (matched)"] = replace(match_flops(x3d, macs(nets["E3D (STEntr)"])), name="x3d-s-matched")
table = pd.DataFrame([{"net": k, **describe(v)} for k, v in nets.items()])
save_table(table, "06_networks", figures_dir)
table.round(4)

# %% [markdown]
# Latency beside FLOPs (`e3dlib.deploy.latency`: median ms per clip, batch 1, one thread, eager, on this machine
# while the notebook runs — read it as a rough ratio, notebook 05 §7 measures it properly):

# %%
from e3dlib.deploy import latency  # noqa: E402  (torch only from here on)
from e3dlib.model import build_model  # noqa: E402

table["latency_ms"] = [1e3 * latency(build_model(v).eval(), (1, 3, T, S, S), threads=1, repeats=20) for v in nets.values()]
table[["net", "gmacs", "mparams", "latency_ms"]].round(4)

# %% [markdown]
# ## 3. The runs
#
# Every (benchmark, net, seed) is trained once and tested on the whole validation split with both protocols; the
# spatial control on the motion benchmark only. Result rows are committed under `data/results/06/`.

# %%
recipe = with_recipe(TrainConfig(), "proxy")
cfg = replace(recipe, frames=T, size=S, epochs=P["epochs"] or recipe.epochs, batch_size=P["batch"], device=device,
              workers=0)
control = {"E3D (STEntr) spatial control": temporal_control(nets["E3D (STEntr)"])}
runs = []
for name, root in benchmarks.items():
    generate(name, root, P["videos"], seed=seed, workers=2, progress=False, cfg=make_config(name, P["settings"][name]))
    grid = {**nets, **(control if name == "motion" else {})}
    seeds = {k: P["control_seeds"] if k in control else P["seeds"] for k in grid}
    runs.append(train_grid(Path(runs_dir) / scale / name, cfg, grid, seeds, f"{name}:{root}", None, P["views"],
                           cache_dir=Path(data_root) / scale / "cache", processes=P["processes"]).assign(bench=name))
runs = pd.concat(runs, ignore_index=True)
long = long_views(runs, ["bench", "net", "seed", "gmacs", "collapsed", "seconds"])
save_table(long, "06_runs", figures_dir)
long.round(3)

# %% [markdown]
# ## 4. Controls first

# %%
chance = {name: 1 / runs.loc[runs["bench"] == name, "spec"].iloc[0]["num_classes"] for name in benchmarks}
view0 = Views.parse(P["views"][0]).name  # the K-Center protocol
m = long[(long["bench"] == "motion") & (long["views"] == view0)]
stentr = m[(m["net"] == "E3D (STEntr)") & ~m["collapsed"].astype(bool)]
check = check_controls(m.loc[m["net"].isin(control), "top1"], stentr["top1"])  # every motion class is paired
motion_readable = check.holds
(c, c_lo, c_hi), (e, e_lo, e_hi) = check.control, check.temporal
Markdown(f"Spatial control ({view0}): {100 * c:.1f} % [{100 * c_lo:.1f}, {100 * c_hi:.1f}] — "
         f"{'at or below' if check.control_ok else 'ABOVE'} what a net blind to frame order can reach "
         f"({100 * check.ceiling:.0f} %); E3D (STEntr): {100 * e:.1f} % [{100 * e_lo:.1f}, {100 * e_hi:.1f}] — "
         f"{'clearly above' if check.beats else 'NOT clearly above'} it. **The motion benchmark's lines "
         f"{'are read' if motion_readable else 'are NOT read'}.**")

# %% [markdown]
# ## 5. Accuracy per net, benchmark and protocol (95 % intervals over seeds)

# %%
studied = long[~long["net"].isin(control)]
summary = mean_std(studied, ["bench", "views", "net"], ["top1", "gmacs"], ci=0.95)
save_table(summary, "06_summary", figures_dir)
colors = {"E3D (STEntr)": "C3", "E3D (HomoEntr)": "C1", "X3D-S (matched)": "C0"}
fig, axes = plt.subplots(1, len(benchmarks), figsize=(13, 4))
for ax, name in zip(np.atleast_1d(axes), benchmarks, strict=True):
    for i, r in enumerate(summary[summary["bench"] == name].itertuples()):
        ax.errorbar(i, 100 * r.top1_mean, yerr=[[100 * (r.top1_mean - r.top1_lo)], [100 * (r.top1_hi - r.top1_mean)]],
                    fmt="o" if r.views == view0 else "s", color=colors[r.net], capsize=4, label=f"{r.net}, {r.views}")
    ax.axhline(100 * chance[name], color="gray", ls=":", label="chance")
    ax.set_title(f"{name}: top-1 (mean, 95 % CI over seeds)")
    ax.set_xticks([])
    ax.set_ylabel("top-1 [%]")
np.atleast_1d(axes)[0].legend(fontsize=7)
save_figure(fig, "06_accuracy", figures_dir)

# %%
summary.pivot_table(index=["bench", "net"], columns="views", values="top1_mean").join(
    summary.groupby(["bench", "net"])["gmacs_mean"].first()).round(4)

# %% [markdown]
# Training curves (loss every 25 steps, one line per run; colour = net):

# %%
fig, axes = plt.subplots(1, len(benchmarks), figsize=(13, 3.5))
for ax, name in zip(np.atleast_1d(axes), benchmarks, strict=True):
    for r in runs[(runs["bench"] == name) & ~runs["net"].isin(control)].itertuples():
        c = np.array(r.curve) if len(r.curve) else np.zeros((0, 2))
        ax.plot(c[:, 0], c[:, 1], color=colors[r.net], alpha=0.6, label=r.net if r.seed == P["seeds"][0] else None)
    ax.set_title(name)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7)
save_figure(fig, "06_training_curves", figures_dir)

# %% [markdown]
# ## 6. Verdicts, with intervals, Holm-corrected over the 8 tests

# %%
tests, simul = [], 1 - 0.05 / n_tests  # simul: the level at which all the tests' intervals hold together
for (name, views), g in studied.groupby(["bench", "views"], sort=False):
    g = g[~g["collapsed"].astype(bool)]  # collapsed runs are counted above, never averaged in
    for other in ("X3D-S (matched)", "E3D (HomoEntr)"):
        a, b = g.loc[g["net"] == "E3D (STEntr)", "top1"], g.loc[g["net"] == other, "top1"]
        both = welch_ci(a, b, level=simul)
        tests.append({"bench": name, "views": views, "test": f"E3D (STEntr) − {other}", **welch_ci(a, b),
                      "lo_simul": both["lo"], "hi_simul": both["hi"]})
verdict = pd.DataFrame(tests)
verdict["p_holm"] = holm(verdict["p"])
verdict["read"] = verdict["bench"].ne("motion") | motion_readable
save_table(verdict, "06_verdict", figures_dir)
verdict[["bench", "views", "test", "diff", "lo", "hi", "p", "p_holm", "read"]].round(4)

# %%
def line(r):
    what = ("not read (controls failed)" if not r.read else "not testable (fewer than 2 usable runs on a side)"
            if not np.isfinite(r.p) else "a difference" if r.p_holm < 0.05 else "cannot be told apart")
    return (f"* {r.bench}, {r.views}: **{r.test} = {100 * r.diff:+.1f} points** [{100 * r.lo:+.1f}, {100 * r.hi:+.1f}],"
            f" {format_p(r.p_holm, 'Holm p')}: {what}.")


Markdown("\n".join(line(r) for r in verdict.itertuples())
         + f"\n\nBy design (seed sd {100 * seed_sd:.1f} points from notebook 07, {n} seeds per net), each null rules "
           f"out, with 80 % power at α = {alpha:.4f}, a true difference of ≥ {100 * resolves:.1f} points. What the "
           "runs themselves rule out follows.")

# %% [markdown]
# **What the measured intervals rule out.** The design assumed notebook 07's seed sd; the seed sd measured here is
# below. Widened so that all 8 hold together (Bonferroni), each interval's upper bound is the largest advantage of the
# STEntr net over the other that these runs leave open. For scale: the paper's Table 2 gap, E3D-S 47.1 % against
# X3D-S 44.6 % on Something-Something V1 (full scale, another benchmark), is 2.5 points.

# %%
paper_gap = 0.471 - 0.446
sd_here = studied[~studied["collapsed"].astype(bool)].groupby(["bench", "views", "net"])["top1"].std()
vs_x3d = verdict[verdict["test"].str.endswith("X3D-S (matched)")]
excl = vs_x3d[vs_x3d["read"] & (vs_x3d["hi_simul"] < paper_gap)]
Markdown(f"Seed sd measured here: median **{100 * sd_here.median():.1f} points** over nets, benchmarks and protocols "
         f"({100 * sd_here.min():.1f}–{100 * sd_here.max():.1f}). Intervals at {100 * simul:.2f} % each "
         "(jointly 95 %):\n\n" + "\n".join(
             f"* {r.bench}, {r.views}, {r.test}: [{100 * r.lo_simul:+.1f}, {100 * r.hi_simul:+.1f}]; an STEntr advantage "
             f"above {100 * r.hi_simul:+.1f} points is ruled out" for r in verdict[verdict["read"]].itertuples())
         + f"\n\n{len(excl)} of the {len(vs_x3d)} comparisons with the width-matched X3D-S rule out an advantage as "
           f"large as the paper's {100 * paper_gap:.1f} points"
         + (f" (on {', '.join(sorted(set(excl['bench'])))}): at this scale, there, the STEntr net does not "
            "beat X3D-S by the paper's margin." if len(excl) else "."))

# %% [markdown]
# ## Claims checked by this notebook
#
# The final cell asserts the design, not the outcome: the three nets cost the same (within 5 %), the searched
# ones within the budget; every (benchmark, net, seed) ran and was tested with both protocols; collapsed runs are
# counted; the control ran; 8 tests were Holm-corrected; at proxy scale ≥ 1000 validation clips, ≥ 5 seeds and a
# median top-1 ≥ 3 × chance on the motion benchmark. The design record is `figures/06_design.json`.

# %%
g = table.set_index("net")["gmacs"]
motion_ok = studied[(studied["bench"] == "motion") & ~studied["collapsed"].astype(bool)]
record = save_design("06_design", figures_dir, val_clips=int(runs["val_videos"].min()),
                     train_clips=int(runs["train_videos"].min()), seeds=n, models=len(nets),
                     runs=int(len(runs[~runs["net"].isin(control)])),
                     collapsed_runs=int(runs.loc[~runs["net"].isin(control), "collapsed"].sum()),
                     chance=chance["motion"], median_top1=float(motion_ok["top1"].median()),
                     views=sorted(long["views"].unique()), benchmarks=list(benchmarks), tests=len(verdict),
                     correction="holm", controls_hold=motion_readable, seed_sd_design=seed_sd,
                     alpha_design=alpha, train_core_hours=round(float(runs["seconds"].sum()) / 3600, 2))
assert abs(g["X3D-S (matched)"] / g["E3D (STEntr)"] - 1) < 0.05 and g.iloc[:2].max() <= macs(x3d) / 1e9 * 1.0001
assert runs.groupby(["bench", "net"])["seed"].nunique().drop(list(control), level="net").eq(n).all()
assert long["top1"].notna().all() and len(verdict) == n_tests
if scale != "smoke":  # (a 2000-iteration smoke search need not fill the budget)
    assert abs(g["E3D (HomoEntr)"] / g["E3D (STEntr)"] - 1) < 0.05, "the three nets must cost the same"
    assert record["val_clips"] >= 1000 and record["seeds"] >= 5 and record["median_top1"] >= 3 * chance["motion"]
record
