import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from e3dlib import PRESETS, cost, scores
from e3dlib.archfile import load_arch
from e3dlib.cli import main
from e3dlib.search import (
    Evaluator,
    Population,
    SearchConfig,
    SearchError,
    from_spec,
    initial_spec,
    mutate,
    search,
    to_spec,
)
from e3dlib.spec import ArchSpec, SpecError, num_layers

E3D_S = dict(budget_flops=2.0e9, budget_layers=83, variant="tinynas")  # the official E3D-S search budget
SMALL = SearchConfig(**E3D_S, iterations=3000, population=64, trace_every=100)


def random_walk(cfg, n, seed=0):
    """n candidates, each a mutation of the previous one (no budget: every corner of the space)."""
    template = initial_spec(cfg)
    rng = random.Random(seed)
    cand = from_spec(template)
    for _ in range(n):
        cand = mutate(cand, cfg, rng)
        yield template, cand


@pytest.mark.parametrize("cfg", [
    SearchConfig(budget_flops=1e9),
    SearchConfig(budget_flops=1e9, monotone_widths=False, max_depth=(3, 6, 6, 6, 6)),
    SearchConfig(budget_flops=1e9, kernels=((1, 3), (1, 5), (3, 3), (3, 5), (5, 3), (1, 7))),
])
def test_mutation_stays_in_the_space(cfg):
    kernels = set(cfg.kernels) | {(1, 5), (3, 3)}  # the initial structure's kernels
    seen_kernels, seen_depth = set(), 1
    for template, cand in random_walk(cfg, 3000):
        spec = to_spec(cand, template)  # validates
        assert from_spec(spec) == cand
        widths = [spec.stem.out_channels, *(s.out_channels for s in spec.stages), spec.head.conv_channels]
        for c in widths + [s.bottleneck for s in spec.stages]:
            assert c % 8 == 0 and 8 <= c <= 640
        if cfg.monotone_widths:
            assert widths == sorted(widths)
        for i, s in enumerate(spec.stages):
            assert (s.kt, s.k) in kernels and s.depth >= 1 and s.stride == template.stages[i].stride
            if cfg.max_depth:
                assert s.depth <= cfg.max_depth[i]
            seen_kernels.add((s.kt, s.k))
            seen_depth = max(seen_depth, s.depth)
        assert (spec.stem.k, spec.stem.kt, spec.frames, spec.size) == (3, 1, 13, 160)
    assert seen_kernels == set(cfg.kernels) and seen_depth > 3  # the walk does explore


@pytest.mark.parametrize("score, variant", [("st_entr", "paper"), ("st_entr", "tinynas"), ("homo_entr", "paper")])
@pytest.mark.parametrize("frames, size, temporal_stem", [(13, 160, 0), (16, 224, 0), (16, 312, 0), (10, 192, 0),
                                                         (8, 40, 5)])
def test_incremental_cost_and_score_equal_the_library_exactly(score, variant, frames, size, temporal_stem):
    for convention in ("tinynas", "macs"):
        cfg = SearchConfig(frames=frames, size=size, budget_flops=1e9, score=score, variant=variant,
                           flops_convention=convention, temporal_stem=temporal_stem)
        ev = Evaluator(cfg, initial_spec(cfg))
        for template, cand in random_walk(cfg, 400, seed=frames + size):
            spec = to_spec(cand, template)
            parts = ev.parts(cand)
            want = scores.homo_entr(spec) if score == "homo_entr" else scores.st_entr(spec, variant)
            assert ev.costs(parts) == (cost.flops(spec, convention), cost.params(spec), num_layers(spec))
            assert ev.score(cand, parts) == want  # bit for bit, not approx


def test_population_drops_the_lowest_and_ties_drop_the_newest():
    pop = Population(2, [(("a",), 1.0, 0)])
    pop.add(("b",), 2.0, 1)
    pop.add(("c",), 1.0, 2)  # ties with "a" and is newer: it goes
    assert sorted(m[0] for m in pop.members) == [("a",), ("b",)]
    pop.add(("d",), 3.0, 3)  # "a" goes
    assert sorted(m[0] for m in pop.members) == [("b",), ("d",)] and ("a",) not in pop
    assert pop.median() == 2.5


def test_budgets_hold_for_every_member():
    cfg = SearchConfig(budget_flops=1.2e9, flops_convention="macs", budget_params=3.0e6, budget_layers=60,
                       iterations=3000, population=64, seed=3)
    res = search(cfg)
    template = initial_spec(cfg)
    assert len(res.population) == 64
    for cand, score, _birth in res.population:
        spec = to_spec(cand, template)
        assert cost.macs(spec) <= 1.2e9 and cost.params(spec) <= 3.0e6 and num_layers(spec) <= 60
        assert score == scores.st_entr(spec, "paper")
    assert res.best_score == max(s for _, s, _ in res.population) > res.trace[0][1]


def test_same_seed_same_result_other_seed_differs():
    a, b, c = search(SMALL), search(SMALL), search(replace(SMALL, seed=1))
    assert a.best == b.best and a.best_score == b.best_score and a.trace == b.trace
    assert a.population == b.population
    assert a.trace != c.trace


def test_callable_score_matches_the_named_one():
    named = replace(SMALL, score="homo_entr", iterations=500)
    by_function = replace(named, score=scores.homo_entr)
    a, b = search(named), search(by_function)
    assert a.best == b.best and a.trace == b.trace


def test_stop_and_resume_equals_an_uninterrupted_run(tmp_path):
    ref = search(SMALL, tmp_path / "ref", checkpoint_every=1000)
    part = search(SMALL, tmp_path / "run", checkpoint_every=1000, stop_after=1234)
    assert part.iterations == 1234 and not (tmp_path / "run" / "best.json").exists()
    res = search(SMALL, tmp_path / "run", resume=True, checkpoint_every=700)
    assert res.resumed_from == 1234
    assert (res.best, res.best_score, res.trace, res.population) == (ref.best, ref.best_score, ref.trace,
                                                                      ref.population)
    for name in ("best.json", "best.txt", "trace.csv"):
        assert (tmp_path / "run" / name).read_text() == (tmp_path / "ref" / name).read_text()


@pytest.mark.parametrize("sig, code", [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130)])
def test_killed_cli_run_resumes_to_the_same_result(tmp_path, sig, code):
    args = ["search", "--budget-flops", "2e9", "--budget-layers", "83", "--variant", "tinynas", "--population", "64",
            "--iterations", "60000", "--checkpoint-every", "500", "--no-progress"]
    run = tmp_path / "run"
    # SIGINT at its default in the child even when this test runs under nohup or as a background job (which
    # start with SIGINT ignored, so Python would never raise KeyboardInterrupt)
    proc = subprocess.Popen([sys.executable, "-m", "e3dlib", *args, "--out", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while not (run / "checkpoint.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.002)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    if sig == signal.SIGINT:
        assert "--resume" in err and len(err.strip().splitlines()) == 1
    killed_at = json.loads((run / "checkpoint.json").read_text())["iteration"]
    assert 0 < killed_at < 60000 and not (run / "best.json").exists()
    assert main([*args, "--out", str(run), "--resume"]) == 0
    assert main([*args, "--out", str(tmp_path / "ref")]) == 0
    for name in ("best.json", "best.txt", "trace.csv"):
        assert (run / name).read_text() == (tmp_path / "ref" / name).read_text()
    a, b = (json.loads((d / "checkpoint.json").read_text()) for d in (run, tmp_path / "ref"))
    assert (a["members"], a["rng"], a["best"]) == (b["members"], b["rng"], b["best"])
    assert json.loads((run / "run.json").read_text())["resumed_from"] == killed_at


def test_cli_writes_four_files_and_a_json_summary(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["search", "--budget-flops", "1.9e9", "--frames", "13", "--size", "160", "--iterations", "2000",
                 "--population", "32", "--seed", "0", "--out", str(out), "--json", "--kernels", "1x3x3", "3x3x3",
                 "1x7x7", "--score", "homo_entr"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"best_score", "flops_macs", "flops_tinynas", "params", "layers", "iterations", "seconds"}
    assert summary["flops_tinynas"] <= 1.9e9 and summary["iterations"] == 2000
    best = ArchSpec.load(out / "best.json")
    assert scores.homo_entr(best) == summary["best_score"]
    assert from_spec(best) == from_spec(load_arch(out / "best.txt"))
    trace = (out / "trace.csv").read_text().splitlines()
    assert trace[0] == "iteration,best_score,median_score,population" and len(trace) == 1 + 3
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["kernels"] == [[1, 3], [3, 3], [1, 7]] and run["seed"] == 0 and run["seconds"] > 0
    assert {"python", "e3dlib"} <= set(run["versions"])


@pytest.mark.parametrize("args, message", [
    (["--budget-flops", "1e8"], "impossible budget: the initial structure e3d-initial"),
    (["--budget-layers", "10"], "layers 17/10"),
    ([], "give at least one budget"),
    (["--budget-flops", "2e9", "--bogus"], "unrecognized arguments: --bogus"),
    (["--budget-flops", "2e9", "--score", "snip"], "invalid choice"),
    (["--budget-flops", "2e9", "--kernels", "3x3"], "kernel must look like 1x3x3"),
    (["--budget-flops", "2e9", "--frames", "16", "--size", "256"], "D(S, K) is infinite"),
    (["--budget-flops", "2e9", "--max-depth", "3", "6"], "max_depth (3, 6) must give one cap per stage"),
])
def test_bad_search_is_one_line_exit_2(tmp_path, capsys, args, message):
    assert main(["search", *args, "--out", str(tmp_path / "x"), "--iterations", "10"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_refuses_a_directory_holding_another_run(tmp_path, capsys):
    base = ["search", "--budget-flops", "1.9e9", "--iterations", "200", "--population", "16", "--out", str(tmp_path)]
    assert main(base) == 0
    assert main(base) == 2 and "already holds a search run; pass --resume" in capsys.readouterr().err
    assert main([*base, "--seed", "1", "--resume"]) == 2
    assert "holds a different run (seed 0 there vs 1 now)" in capsys.readouterr().err
    assert main([*base, "--resume"]) == 0  # a finished run: just rewrites its outputs


def test_library_errors_are_loud():
    with pytest.raises(SearchError, match="impossible budget"):
        search(SearchConfig(budget_params=1e5))
    with pytest.raises(SpecError, match="infinite"):
        search(SearchConfig(budget_flops=1e10, frames=16, size=256))
    with pytest.raises(ValueError, match="score function returned nan"):
        search(SearchConfig(budget_flops=1e10, score=lambda spec: float("nan"), iterations=1))


def test_beats_the_published_e3d_s_under_its_budget():
    """Under the official E3D-S search budget (2.0 G TinyNAS FLOPs, 83 layers, 13x160^2, official score),
    20k iterations already find a net scoring above the published E3D-S (202.856)."""
    published = scores.st_entr(PRESETS["e3d-s"], "tinynas")
    assert round(published, 3) == 202.856
    res = search(SearchConfig(**E3D_S, iterations=20_000))
    assert res.best_score > published
    assert cost.tinynas_flops(res.best) <= 2.0e9 and num_layers(res.best) <= 83


@pytest.mark.parametrize("args, message", [
    (["--budget-flops", "nan"], "--budget-flops nan: must be a positive finite number"),
    (["--budget-flops", "inf"], "--budget-flops inf: must be a positive finite number"),
    (["--budget-layers", "0"], "--budget-layers 0: must be a positive finite number"),
    (["--budget-flops", "1e9", "--population", "0"], "--population 0: must be >= 1"),
    (["--budget-flops", "1e9", "--score", "zen", "--proxy-input", "0", "8"], "--proxy-input 0 8: frames T"),
])
def test_bad_budgets_and_sizes_are_one_line_errors(args, message, tmp_path, capsys):
    from e3dlib.cli import main

    assert main(["search", *args, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


def test_damaged_search_checkpoints_are_one_line_errors(tmp_path, capsys):
    from e3dlib.cli import main

    args = ["search", "--budget-flops", "2e9", "--population", "8", "--iterations", "300", "--checkpoint-every",
            "100", "--no-progress"]
    good = tmp_path / "good"
    assert main([*args, "--out", str(good)]) == 0
    capsys.readouterr()
    ck = json.loads((good / "checkpoint.json").read_text())
    damaged = {"binary": b"\x80\x81\xff" * 10, "truncated": (good / "checkpoint.json").read_bytes()[:50],
               "list": b"[1, 2]", "no-members": json.dumps({k: v for k, v in ck.items() if k != "members"}).encode(),
               "empty": json.dumps({**ck, "members": []}).encode(), "mistyped": json.dumps({**ck, "rng": 5}).encode()}
    for name, data in damaged.items():
        out = tmp_path / name
        out.mkdir()
        (out / "run.json").write_text((good / "run.json").read_text())
        (out / "checkpoint.json").write_bytes(data)
        assert main([*args, "--out", str(out), "--resume"]) == 2, name
        err = capsys.readouterr().err
        assert "checkpoint.json" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, name


def test_resume_refuses_an_edited_initial_file(tmp_path, capsys):
    from e3dlib import PRESETS
    from e3dlib.cli import main
    from e3dlib.presets import scale_width

    initial = tmp_path / "initial.json"
    scale_width(PRESETS["e3d-initial"], 0.5).save(initial)
    args = ["search", "--budget-flops", "2e9", "--population", "8", "--iterations", "300", "--checkpoint-every",
            "100", "--no-progress", "--initial", str(initial), "--out", str(tmp_path / "run")]
    assert main(args) == 0
    scale_width(PRESETS["e3d-initial"], 0.75).save(initial)  # same path, other content
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "initial_sha256" in err and len(err.strip().splitlines()) == 1


def test_temporal_stem_option_gives_every_candidate_x3ds_stem_conv():
    cfg = replace(SMALL, temporal_stem=5, frames=8, size=40, budget_flops=5e7, iterations=500)
    res = search(cfg)
    assert res.best.stem.temporal_kernel == 5 and num_layers(res.best) == num_layers(replace(
        res.best, stem=replace(res.best.stem, temporal_kernel=0))) + 1
    assert res.best_score == scores.st_entr(res.best, "tinynas")
    plain = search(replace(cfg, temporal_stem=0))
    assert plain.best.stem.temporal_kernel == 0
    for bad in (2, -1, True):
        with pytest.raises(SearchError, match="--temporal-stem"):
            replace(cfg, temporal_stem=bad)
