import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from e3dlib import PRESETS
from e3dlib.cli import main
from e3dlib.power import mean_std
from e3dlib.presets import scale_width
from e3dlib.recipe import TrainConfig
from e3dlib.study import describe, train_and_test


def test_describe_and_summaries():
    row = describe(PRESETS["e3d-s"].with_input(8, 56))
    assert set(row) >= {"arch", "gmacs", "mparams", "homo_entr", "st_entr", "st_entr_tinynas"}
    assert np.isnan(describe(PRESETS["e3d-s"].with_input(8, 64))["st_entr"])  # 8x8x8 maps: D infinite
    rows = [{"net": "a", "acc": 0.5}, {"net": "a", "acc": 0.7}, {"net": "b", "acc": 0.2}]
    s = mean_std(rows, ["net"], ["acc"]).set_index("net")
    assert s.loc["a", "acc_mean"] == pytest.approx(0.6) and s.loc["a", "runs"] == 2
    assert s.loc["a", "acc_std"] == pytest.approx(np.std([0.5, 0.7], ddof=1))


def test_train_and_test_caches_its_result(tmp_path):
    root = tmp_path / "data"
    assert main(["data", "generate", "kinetics-like", "--out", str(root / "kinetics-like"), "--videos", "30",
                 "--workers", "1"]) == 0
    cfg = TrainConfig(frames=4, size=32, epochs=1, batch_size=8, workers=0)
    spec = PRESETS["e3d-initial"].with_input(4, 32)
    row = train_and_test(tmp_path / "run", cfg, spec, "kinetics-like", root, ["1x1", "1x3"])
    assert {"top1[1-Center]", "top1[1-LeftCenterRight]", "top5[1-Center]", "spec", "recipe"} <= set(row)
    assert row["test_clips"] == 3 and row["recipe"]["data"] == "kinetics-like"
    stamp = (tmp_path / "run" / "result.json").stat().st_mtime_ns
    again = train_and_test(tmp_path / "run", cfg, spec, "kinetics-like", root, ["1x1", "1x3"])
    assert again == json.loads(json.dumps(row)) and (tmp_path / "run" / "result.json").stat().st_mtime_ns == stamp
    # the same network and recipe at another spec input size or on another device is the same run
    assert train_and_test(tmp_path / "run", replace(cfg, workers=1), spec.with_input(8, 64), "kinetics-like", root,
                          ["1x1"]) == again
    with pytest.raises(ValueError, match="another network"):
        train_and_test(tmp_path / "run", cfg, scale_width(spec, 2.0), "kinetics-like", root, ["1x1"])
    with pytest.raises(ValueError, match=r"another recipe \(epochs differ\)"):
        train_and_test(tmp_path / "run", replace(cfg, epochs=2), spec, "kinetics-like", root, ["1x1"])
    # a view not yet tested is evaluated from the checkpoint and added to the cached row
    more = train_and_test(tmp_path / "run", cfg, spec, "kinetics-like", root, ["1x1", "2x1"])
    assert "top1[2-Center]" in more and more["top1[1-Center]"] == row["top1[1-Center]"]
    assert "top1[2-Center]" in json.loads((tmp_path / "run" / "result.json").read_text())
    # more videos generated into the same folder: the cached run no longer describes this data
    assert main(["data", "generate", "kinetics-like", "--out", str(root / "kinetics-like"), "--videos", "40",
                 "--workers", "1"]) == 0
    with pytest.raises(ValueError, match="other data .train_videos 24, now 32"):
        train_and_test(tmp_path / "run", cfg, spec, "kinetics-like", root, ["1x1"])


def test_make_benchmark_is_the_motion_subset(tmp_path):
    from e3dlib.data import load_annotations
    from e3dlib.data.synthetic import SOMETHING_CLASSES
    from e3dlib.study import MOTION, make_benchmark

    root = make_benchmark(tmp_path, 20, workers=1)
    assert root == tmp_path / "motion-0304"
    train = load_annotations(f"ssv2:{root / 'something-like'}", "train")
    assert train.classes == SOMETHING_CLASSES[:MOTION["classes"]] and len(train) == 16
    assert make_benchmark(tmp_path, 20, workers=1) == root  # idempotent: the same settings are accepted


def test_mean_std_leaves_collapsed_runs_out_and_counts_them():
    rows = [{"net": "a", "acc": 0.5, "collapsed": False}, {"net": "a", "acc": 0.1, "collapsed": True},
            {"net": "a", "acc": 0.7, "collapsed": False}, {"net": "b", "acc": 0.1, "collapsed": True}]
    s = mean_std(rows, ["net"], ["acc"]).set_index("net")
    assert s.loc["a", "acc_mean"] == pytest.approx(0.6) and (s.loc["a", "runs"], s.loc["a", "collapsed"]) == (2, 1)
    assert np.isnan(s.loc["b", "acc_mean"]) and (s.loc["b", "runs"], s.loc["b", "collapsed"]) == (0, 1)
    c = mean_std(rows, ["net"], ["acc"], ci=0.95).set_index("net")
    assert c.loc["a", "acc_hi"] - 0.6 == pytest.approx(12.706205 * np.std([0.5, 0.7], ddof=1) / np.sqrt(2))
    assert c.loc["a", "acc_lo"] + c.loc["a", "acc_hi"] == pytest.approx(1.2) and np.isnan(c.loc["b", "acc_lo"])


@pytest.mark.parametrize("processes", [1, 2])
def test_train_grid_runs_every_net_and_seed_once(tmp_path, processes):
    from e3dlib.study import train_grid

    root = tmp_path / "data"
    assert main(["data", "generate", "motion", "--out", str(root / "motion"), "--videos", "20", "--workers", "1",
                 "--quiet", "--set", "frames=8", "--set", "height=32", "--set", "width=32"]) == 0
    cfg = TrainConfig(frames=4, size=24, epochs=1, batch_size=8, workers=0)
    nets = {"tiny a": PRESETS["e3d-initial"], "b": scale_width(PRESETS["e3d-initial"], 0.5)}
    df = train_grid(tmp_path / "runs", cfg, nets, {"tiny a": [0, 1], "b": [3]}, "motion", root, ["1x1"],
                    processes=processes)
    assert list(zip(df["net"], df["seed"], strict=True)) == [("tiny a", 0), ("tiny a", 1), ("b", 3)]
    assert (tmp_path / "runs" / "tiny-a" / "seed1" / "result.json").is_file()
    assert {"collapsed", "curve", "top1[1-Center]"} <= set(df.columns)
    again = train_grid(tmp_path / "runs", cfg, nets, {"tiny a": [0, 1], "b": [3]}, "motion", root, ["1x1"])
    assert again.drop(columns="curve").equals(df.drop(columns="curve"))


def test_long_views_carries_the_protocol_as_data():
    from e3dlib.study import long_views

    rows = pd.DataFrame({"net": ["a", "b"], "seed": [0, 1], "top1[2-Center]": [0.5, 0.6],
                         "top5[2-Center]": [0.9, 0.95], "top1[2-LeftCenterRight]": [0.55, 0.65],
                         "top5[2-LeftCenterRight]": [0.91, 0.96]})
    long = long_views(rows, ["net", "seed"])
    assert list(long.columns) == ["net", "seed", "views", "top1", "top5"] and len(long) == 4
    assert long.set_index(["net", "views"]).loc[("b", "2-LeftCenterRight"), "top1"] == 0.65
    with pytest.raises(ValueError, match="no top1"):
        long_views(rows[["net", "seed"]], ["net"])


def _committed_rows():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "data" / "results"
    return sorted(root.glob("**/result.json"))


def test_every_committed_result_row_is_still_a_cache_hit():
    """Rows written while TrainConfig spelt "the architecture's" as act "" / se -1.0 must still match the
    configuration that wrote them, as read today and as a notebook builds it today (act, se left at None)."""
    from e3dlib.spec import ArchSpec
    from e3dlib.study import _check_same_run

    paths = _committed_rows()
    assert len(paths) >= 40  # notebook 07's grid; a lost folder fails here
    legacy = 0
    for path in paths:
        row = json.loads(path.read_text())
        spec = ArchSpec.from_dict(row["spec"])
        sizes = {k: row[k] for k in ("train_videos", "val_videos") if k in row}
        legacy += (row["recipe"]["act"], row["recipe"]["se"]) == ("", -1.0)
        today = TrainConfig(**{k: v for k, v in row["recipe"].items() if k not in ("act", "se")})
        for cfg in (TrainConfig.from_dict(row["recipe"]), today):
            assert (cfg.act, cfg.se) == (None, None)
            _check_same_run(path, row, spec, cfg, sizes)
        with pytest.raises(ValueError, match=r"another recipe \(act differ\)"):
            _check_same_run(path, row, spec, replace(today, act="relu"), sizes)
    assert legacy >= 40  # notebook 07's rows, written with the old spellings: what the normalisation is for


def test_seed_sds_per_run_folder_not_per_spec_name():
    from pathlib import Path

    from e3dlib.study import read_rows, seed_sds

    rows = read_rows(Path(__file__).resolve().parents[1] / "data" / "results" / "07" / "proxy")
    sds = seed_sds(rows, "top1[1-Center]")
    assert {"E3D-S", "E3D-S-t-stem"} <= set(sds.index)  # the same spec name, two nets: never pooled
    both = rows[rows["net"].isin(["E3D-S", "E3D-S-t-stem"])]
    assert sds["E3D-S"] < both["top1[1-Center]"].std()  # pooling them would inflate the sd
    assert seed_sds(pd.DataFrame(), "x").empty
