"""Synthetic generators: determinism, idempotency, real layouts read back, and the `data` CLI."""

import json

import numpy as np
import pytest

from e3dlib.cli import main
from e3dlib.data import DataError, load_annotations
from e3dlib.data.generate import generate, label_of, make_config, plan, split_of
from e3dlib.data.synthetic import SOMETHING_CLASSES, KineticsConfig, SomethingConfig, render_kinetics, render_something
from e3dlib.data.video import read_clip

TINY = {"frames": "8", "height": "32", "width": "32"}
S_CFG = make_config("something-like", TINY)
K_CFG = make_config("kinetics-like", {**TINY, "classes": "4"})


def test_render_is_a_function_of_seed_and_index():
    for fn, cfg in ((render_something, S_CFG), (render_kinetics, K_CFG)):
        a, ya = fn(cfg, 5, 7, 2)
        b, yb = fn(cfg, 5, 7, 2)
        assert a.shape == (8, 32, 32, 3) and a.dtype == np.uint8 and np.array_equal(a, b) and ya == yb == 2
        assert not np.array_equal(a, fn(cfg, 6, 7, 2)[0]) and not np.array_equal(a, fn(cfg, 5, 8, 2)[0])


def test_every_something_class_renders_and_moves():
    cfg = SomethingConfig(frames=8, height=32, width=48, noise=0.0, jitter=0.0, distractors=0)
    for y in range(len(SOMETHING_CLASSES)):
        clip, label = render_something(cfg, 0, y, y)
        assert label == y and clip.std(0).mean() > 0.5, SOMETHING_CLASSES[y]  # something changes over time
    assert KineticsConfig().num_classes == 20


def test_splits_and_labels_are_balanced_and_stable():
    assert [split_of(i) for i in range(10)] == ["train"] * 8 + ["val", "test"]
    for split in ("train", "val"):
        labels = [label_of(i, 20) for i in range(400) if split_of(i) == split]
        assert np.bincount(labels, minlength=20).min() == np.bincount(labels).max()
    assert plan("kinetics-like", 5, 0, K_CFG)[:3] == plan("kinetics-like", 50, 0, K_CFG)[:3]


@pytest.fixture(scope="module")
def something(tmp_path_factory):
    out = tmp_path_factory.mktemp("something")
    counts = generate("something-like", out, 10, seed=3, workers=2, cfg=S_CFG, progress=False)
    assert counts == {"written": 10, "kept": 0, "repaired": 0}
    return out


def test_something_like_in_ssv2_layout(something):
    train = load_annotations(f"ssv2:{something}", "train")
    assert train.classes == SOMETHING_CLASSES and len(train) == 8 and len(load_annotations(
        f"ssv2:{something}", "test")) == 1
    assert [r.label for r in train.records] == list(range(8))
    assert train.records[0].path.endswith("20bn-something-something-v2/1.webm")
    assert np.array_equal(read_clip(train.records[3].path).shape, (8, 32, 32, 3))


def test_generate_is_idempotent_deterministic_and_repairs(something, tmp_path):
    assert generate("something-like", something, 10, seed=3, cfg=S_CFG, progress=False)["kept"] == 10
    bad = something / "20bn-something-something-v2" / "4.webm"
    bad.write_bytes(bad.read_bytes()[:200])  # truncated
    assert generate("something-like", something, 10, seed=3, cfg=S_CFG, progress=False)["repaired"] == 1
    generate("something-like", tmp_path, 10, seed=3, workers=1, cfg=S_CFG, progress=False)
    for i in (1, 4, 10):  # same seed, other worker count -> identical decoded clips
        a = read_clip(something / "20bn-something-something-v2" / f"{i}.webm")
        assert np.array_equal(a, read_clip(tmp_path / "20bn-something-something-v2" / f"{i}.webm"))
    with pytest.raises(DataError, match="seed differ"):
        generate("something-like", something, 10, seed=4, cfg=S_CFG, progress=False)


def test_kinetics_like_flat_layout(tmp_path):
    generate("kinetics-like", tmp_path, 10, seed=1, workers=1, cfg=K_CFG, flat=True, progress=False)
    train = load_annotations(f"k400:{tmp_path}", "train")
    assert len(train) == 8 and not train.missing and len(train.classes) == 4
    assert all(p.parent.name in ("train", "val", "test") for p in tmp_path.glob("*/*.mp4"))
    head = (tmp_path / "train.csv").read_text().splitlines()[0]
    assert head == "label,youtube_id,time_start,time_end,split"


def test_cli_generate_and_inspect_json(tmp_path, capsys):
    out = tmp_path / "k"
    sets = [a for k, v in {**TINY, "classes": "3"}.items() for a in ("--set", f"{k}={v}")]
    assert main(["data", "generate", "kinetics-like", "--out", str(out), "--videos", "10", "--seed", "2",
                 "--workers", "2", "--quiet", *sets]) == 0
    assert "10 videos" in capsys.readouterr().out
    (out / "train" / "bad.mp4").write_bytes(b"")  # not annotated: ignored
    victim = load_annotations(f"k400:{out}", "val").records[0].path
    open(victim, "wb").close()
    assert main(["data", "inspect", f"k400:{out}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["splits"]) == {"train", "val", "test"} and report["classes"] == 3
    val = report["splits"]["val"]
    assert (val["videos"], val["decodable"], val["skipped"], val["reasons"]) == (1, 0, 1, {"empty file": 1})
    train = report["splits"]["train"]
    assert (train["videos"], train["decodable"], train["skipped"], train["classes"]) == (8, 8, 0, 3)
    assert train["frames"] == {"min": 8, "mean": 8.0, "max": 8} and train["resolutions"] == {"32x32": 8}
    assert main(["data", "inspect", f"k400:{out}", "--split", "train"]) == 0
    assert "decodable" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["data", "inspect", f"ssv2:{tmp_path / 'nope'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope is not a directory" in err
    assert main(["data", "generate", "something-like", "--out", str(tmp_path), "--videos", "2",
                 "--set", "colour=red"]) == 2
    assert "no setting 'colour'" in capsys.readouterr().err
    for args, message in ((["generate", "motion", "--videos", "0"], "--videos: must be >= 1"),
                          (["generate", "motion", "--videos", "2", "--workers", "0"], "--workers: must be >= 1"),
                          (["inspect", f"ssv2:{tmp_path}", "--limit", "-3"], "--limit: must be >= 1")):
        assert main(["data", *args, "--out", str(tmp_path / "o")] if args[0] == "generate" else ["data", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "e3d-synthetic.json").write_text("[1, 2]")
    assert main(["data", "generate", "motion", "--out", str(tmp_path / "list"), "--videos", "2"]) == 2
    assert "not a generator manifest (a JSON list" in capsys.readouterr().err
    for bad in ("noise=nan", "speed=inf", "object_size=0.2,nan"):
        assert main(["data", "generate", "motion", "--out", str(tmp_path / "m"), "--videos", "2", "--set", bad]) == 2
        err = capsys.readouterr().err
        assert "is not a finite number" in err and len(err.strip().splitlines()) == 1


def test_something_like_class_subset_and_large_objects(tmp_path):
    cfg = make_config("something-like", {**TINY, "classes": "4", "object_size": "0.9,1.0", "speed": "2"})
    for y in range(4):  # spans capped by the frame: no float round-off error at the boundary
        for i in range(6):
            assert render_something(cfg, 0, i, y)[1] == y
    with pytest.raises(ValueError, match="0..3"):
        render_something(cfg, 0, 0, 4)
    with pytest.raises(DataError, match="classes must be in 2..20"):
        make_config("something-like", {"classes": "21"})
    generate("something-like", tmp_path, 10, seed=0, workers=1, cfg=cfg, progress=False)
    train = load_annotations(f"ssv2:{tmp_path}", "train")
    assert train.classes == SOMETHING_CLASSES[:4] and {r.label for r in train.records} == {0, 1, 2, 3}


def test_data_written_before_a_setting_existed_is_kept(something):
    manifest = something / "e3d-synthetic.json"
    old = json.loads(manifest.read_text())
    del old["config"]["classes"]  # as written before `classes` was a setting
    manifest.write_text(json.dumps(old))
    assert generate("something-like", something, 10, seed=3, cfg=S_CFG, progress=False)["kept"] == 10



def test_motion_kind_is_the_studies_benchmark_in_the_ssv2_layout(tmp_path, capsys):
    from e3dlib.data.generate import MOTION_SETTINGS

    cfg = make_config("motion")
    assert (cfg.classes, cfg.height, cfg.width, cfg.clutter, cfg.distractors) == (10, 48, 64, 0, 0)
    assert int(MOTION_SETTINGS["classes"]) == cfg.classes
    assert make_config("motion", {"height": "32"}).height == 32  # the presets are defaults, not locks
    out = tmp_path / "motion"
    small = {"frames": "8", "height": "32", "width": "32"}
    assert main(["data", "generate", "motion", "--out", str(out), "--videos", "20", "--seed", "1", "--workers", "1",
                 "--quiet", *[a for k, v in small.items() for a in ("--set", f"{k}={v}")]]) == 0
    assert f"read it as ssv2:{out}" in capsys.readouterr().out
    train = load_annotations("motion", "train", root=tmp_path)  # the generated name, under a data root
    assert train.classes == SOMETHING_CLASSES[:10] and len(train) == 16
    assert len(load_annotations(f"ssv2:{out}", "val")) == 2
    assert train.flip_pairs == {0: 1, 1: 0, 6: 7, 7: 6}
    clip, label = render_something(make_config("motion", small), 1, 0, train.records[0].label)
    assert read_clip(train.records[0].path).shape == clip.shape == (8, 32, 32, 3)
