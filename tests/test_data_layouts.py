"""Tiny datasets in every layout (SSv1 JPEG folders, SSv2 webm + JSON, K400 flat / nested, folder-per-class),
read back through the loaders; malformed annotations fail with one error naming file and line."""

import json

import numpy as np
import pytest
import torch

from e3dlib.data import DataError, load_annotations, parse_source
from e3dlib.data.datasets import build_dataset
from e3dlib.data.layouts import SSV1_DIR, SSV2_DIR, direction_pairs, k400_stem, write_k400, write_ssv1, write_ssv2
from e3dlib.data.transforms import ClipConfig, Views
from e3dlib.data.video import write_frames_dir, write_video

CLIP = ClipConfig(frames=4, stride=2, crop=16)
K400_CLASSES = ["abseiling", "massaging person's head", "tying knot (not on a tie)", "dancing, ballet"]


def frames(seed: int, t: int = 8, h: int = 24, w: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (t, h // 8, w // 8, 3))
    return coarse.repeat(8, 1).repeat(8, 2).astype(np.uint8)


@pytest.fixture(scope="module")
def ssv1(tmp_path_factory):
    root = tmp_path_factory.mktemp("ssv1")
    classes = ["Pushing something from left to right", "Pushing something from right to left", "Holding something"]
    for i in range(6):
        write_frames_dir(root / SSV1_DIR / str(100 + i), frames(i, t=6 + i))
    write_ssv1(root, classes, {"train": [("100", 0), ("101", 1), ("102", 2), ("103", 0)],
                               "validation": [("104", 1), ("999", 2)], "test": [("105", -1)]})
    return root


@pytest.fixture(scope="module")
def ssv2(tmp_path_factory):
    root = tmp_path_factory.mktemp("ssv2")
    classes = ["Moving something from left to right", "Moving something from right to left",
               "Putting something on something"]
    for i in range(5):
        write_video(root / SSV2_DIR / f"{i + 1}.webm", frames(i))
    write_ssv2(root, classes, {"train": [("1", 0, ["a pen"]), ("2", 1, ["a cup"]), ("3", 2, ["a", "b"])],
                               "val": [("4", 2, ["c", "d"])], "test": [("5", -1, []), ("6", -1, [])]})
    return root


def make_k400(root, nested: bool) -> None:
    rows = {"train": [], "val": []}
    for i in range(6):
        split, y = ("train", i % 4) if i < 4 else ("val", i % 2)
        stem = k400_stem(f"yt{i:09d}", 10 * i, 10 * i + 10)
        folder = root / split / K400_CLASSES[y] if nested else root / split
        folder.mkdir(parents=True, exist_ok=True)
        write_video(folder / f"{stem}.mp4", frames(i, h=24, w=40))
        rows[split].append((f"yt{i:09d}", y, 10 * i, 10 * i + 10))
    rows["val"].append(("notondisk00", 0, 0, 10))
    write_k400(root, K400_CLASSES, rows)


@pytest.mark.parametrize("nested", [True, False])
def test_k400_flat_and_nested(tmp_path, nested):
    make_k400(tmp_path, nested)
    train = load_annotations(f"k400:{tmp_path}", "train")
    assert train.classes == tuple(sorted(K400_CLASSES))  # labels with spaces, commas, apostrophes, parentheses
    assert [train.classes[r.label] for r in train.records] == K400_CLASSES
    with pytest.warns(UserWarning, match="1 video"):
        val = build_dataset(f"k400:{tmp_path}", "validation", CLIP)
    assert len(val) == 2 and val.ann.missing == (k400_stem("notondisk00", 0, 10),)
    x, y = val[0]
    assert x.shape == (1, 3, 4, 16, 16) and x.dtype == torch.float32 and y == val.ann.records[0].label


def test_ssv1_jpeg_folders(ssv1):
    ds = build_dataset(f"ssv1:{ssv1}", "train", CLIP)
    assert len(ds) == 4 and ds.num_classes == 3 and ds.ann.flip_pairs == {0: 1, 1: 0}
    x, y = ds[2]
    assert x.shape == (3, 4, 16, 16) and y == 2
    with pytest.warns(UserWarning, match="listed but not on disk"):
        val = build_dataset(f"ssv1:{ssv1}", "val", CLIP, views=Views(2, 3))
    assert val.ann.missing == ("999",) and val[0][0].shape == (6, 3, 4, 16, 16)
    test = load_annotations(f"ssv1:{ssv1}", "test")
    assert [(r.id, r.label) for r in test.records] == [("105", -1)]


def test_ssv2_webm_json(ssv2):
    ann = load_annotations(f"ssv2:{ssv2}", "train")
    assert [(r.id, r.label) for r in ann.records] == [("1", 0), ("2", 1), ("3", 2)]
    entry = json.loads((ssv2 / "something-something-v2-train.json").read_text())[2]
    assert entry["template"] == "Putting [something] on [something]" and entry["label"] == "Putting a on b"
    test = load_annotations(f"ssv2:{ssv2}", "test")
    assert [r.label for r in test.records] == [-1] and test.missing == ("6",)
    x, y = build_dataset(f"ssv2:{ssv2}", "val", CLIP)[0]
    assert x.shape == (1, 3, 4, 16, 16) and y == 2


def test_folder_layout(tmp_path):
    for split, cls, name in [("train", "b_class", "v1"), ("train", "a class", "v2"), ("val", "a class", "v3")]:
        write_video(tmp_path / split / cls / f"{name}.mp4", frames(len(name)))
    write_frames_dir(tmp_path / "train" / "b_class" / "v4", frames(4))  # a JPEG-frame folder is a video too
    ds = build_dataset(f"folder:{tmp_path}", "train", CLIP)
    assert ds.classes == ("a class", "b_class")
    assert sorted((r.id, r.label) for r in ds.ann.records) == [("a class/v2", 0), ("b_class/v1", 1),
                                                                ("b_class/v4", 1)]
    assert all(ds[i][0].shape == (3, 4, 16, 16) for i in range(3))


def test_generated_names_resolve_under_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("E3D_DATA_ROOT", str(tmp_path))
    assert parse_source("something-like") == parse_source(f"ssv2:{tmp_path / 'something-like'}")
    assert parse_source("kinetics-like", root="/x").root.as_posix() == "/x/kinetics-like"
    with pytest.raises(DataError, match="data generate something-like"):
        load_annotations("something-like", "train")
    with pytest.raises(DataError, match="bad data source"):
        parse_source("ssv3:/data")


def test_direction_pairs_of_real_templates():
    names = ["Pushing something from left to right", "Pushing something from right to left",
             "Turning the camera left while filming something", "Turning the camera right while filming something",
             "Turning something counter-clockwise", "Turning something clockwise", "Moving something left",
             "Tearing something into two pieces"]
    directional, pairs = direction_pairs(names)
    assert pairs == {0: 1, 1: 0, 2: 3, 3: 2, 4: 5, 5: 4}
    assert directional == {0, 1, 2, 3, 4, 5, 6}  # "Moving something left" has no partner: never flipped


# --- malformed annotations: one DataError naming file and line ----------------------------------------------------
def _error(source: str, split: str) -> str:
    with pytest.raises(DataError) as e:
        load_annotations(source, split)
    return str(e.value)


def test_ssv1_malformed(tmp_path):
    root = tmp_path / "v1"
    root.mkdir()
    (root / "something-something-v1-labels.csv").write_text("a\nb\n")
    (root / "something-something-v1-train.csv").write_text("1;a\n2 b\n")
    msg = _error(f"ssv1:{root}", "train")
    assert "something-something-v1-train.csv:2" in msg and "<id>;<label>" in msg
    (root / "something-something-v1-train.csv").write_text("1;a\n2;c\n")
    assert "something-something-v1-train.csv:2: unknown label 'c'" in _error(f"ssv1:{root}", "train")
    (root / "something-something-v1-labels.csv").write_text("a\n\nb\n")
    assert "something-something-v1-labels.csv:2: empty class name" in _error(f"ssv1:{root}", "train")
    (root / "something-something-v1-labels.csv").write_text("a\nb\n")
    assert f"missing annotation file {root / 'something-something-v1-validation.csv'}" in _error(f"ssv1:{root}",
                                                                                                   "val")


def test_ssv2_malformed(tmp_path):
    (tmp_path / "something-something-v2-labels.json").write_text('{"A something": "0", "B": "1"}')
    (tmp_path / "something-something-v2-train.json").write_text('[{"id": "1", "template": "A [something]"},\n'
                                                                 '{"id": "2" "template": "B"}]')
    assert "something-something-v2-train.json:2: malformed JSON" in _error(f"ssv2:{tmp_path}", "train")
    (tmp_path / "something-something-v2-train.json").write_text('[{"id": "1", "template": "C [something]"}]')
    assert "entry 0 (id 1): class 'C something' not in" in _error(f"ssv2:{tmp_path}", "train")
    (tmp_path / "something-something-v2-labels.json").write_text('{"A": "0", "B": "2"}')
    assert "class indices must be 0..1" in _error(f"ssv2:{tmp_path}", "train")


def test_k400_malformed(tmp_path):
    make_k400(tmp_path, nested=False)
    (tmp_path / "val.csv").write_text("label,youtube_id,time_start,time_end,split\nabseiling,x,1,2,val\n"
                                      "abseiling,y,one,2,val\n")
    assert "val.csv:3: time_start/time_end must be finite numbers" in _error(f"k400:{tmp_path}", "val")
    for start, end, message in (("inf", "2", "finite numbers"), ("-5", "2", "need 0 <= time_start <= time_end"),
                                ("9", "2", "got 9 and 2")):
        (tmp_path / "val.csv").write_text("label,youtube_id,time_start,time_end,split\n"
                                          f"abseiling,x,{start},{end},val\n")
        err = _error(f"k400:{tmp_path}", "val")
        assert "val.csv:2: " in err and message in err
    (tmp_path / "val.csv").write_text("label,youtube_id,time_start,time_end,split\nskydiving,x,1,2,val\n")
    assert "val.csv:2: unknown label 'skydiving' (not in train.csv)" in _error(f"k400:{tmp_path}", "val")
    (tmp_path / "val.csv").write_text("label,id,start,end\n")
    assert "val.csv:1: header lacks column(s) youtube_id, time_start, time_end" in _error(f"k400:{tmp_path}", "val")
    assert "missing annotation file" in _error(f"k400:{tmp_path}", "test")


def test_an_id_listed_twice_is_loaded_once_and_reported(tmp_path, capsys):
    from e3dlib.cli import main

    for i in range(2):
        write_video(tmp_path / SSV2_DIR / f"{i + 1}.webm", frames(i))
    write_ssv2(tmp_path, ["Moving something up", "Moving something down"],
               {"train": [("1", 0, ["a"]), ("2", 1, ["b"]), ("1", 0, ["a"])], "val": [("2", 1, ["b"])]})
    ann = load_annotations(f"ssv2:{tmp_path}", "train")
    assert [r.id for r in ann.records] == ["1", "2"] and ann.duplicates == ("1",)
    assert main(["data", "inspect", f"ssv2:{tmp_path}", "--json", "--split", "train"]) == 0
    train = json.loads(capsys.readouterr().out)["splits"]["train"]
    assert (train["videos"], train["duplicates"], train["decodable"]) == (2, 1, 2)
    assert main(["data", "inspect", f"ssv2:{tmp_path}", "--split", "train"]) == 0
    assert "1 id(s) listed more than once" in capsys.readouterr().out


def test_a_dataset_ends(tmp_path):
    from e3dlib.cli import main
    from e3dlib.data.datasets import build_dataset
    from e3dlib.data.transforms import ClipConfig

    assert main(["data", "generate", "motion", "--out", str(tmp_path), "--videos", "4", "--workers", "1", "--quiet",
                 "--set", "frames=8", "--set", "height=32", "--set", "width=32"]) == 0
    ds = build_dataset(f"motion:{tmp_path}", "train", ClipConfig(frames=4, crop=24), train=False)
    assert len(list(ds)) == len(ds)  # iteration stops (it used to wrap around forever)
    with pytest.raises(IndexError):
        ds[len(ds)]
