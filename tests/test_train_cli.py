import json

import pytest

from e3dlib.cli import main


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    assert main(["data", "generate", "something-like", "--out", str(root / "something-like"), "--videos", "40",
                 "--seed", "0", "--workers", "1"]) == 0
    return root


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", "--arch", "e3d-initial", "--data", "something-like", "--data-root", str(data_root),
                 "--frames", "4", "--size", "32", "--epochs", "1", "--batch-size", "8", "--workers", "0",
                 "--out", str(out), "--no-progress", "--json"]) == 0
    return out / "best.pt"


def test_evaluate_writes_per_video_predictions_of_unlabelled_and_labelled_splits(data_root, trained, tmp_path,
                                                                                 capsys):
    import csv

    from e3dlib.data import load_annotations

    capsys.readouterr()
    common = ["evaluate", "--checkpoint", str(trained), "--data-root", str(data_root), "--views", "1x1",
              "--workers", "0", "--no-progress"]
    assert main([*common, "--split", "test"]) == 2  # no labels and nowhere to write predictions
    err = capsys.readouterr().err
    assert "--split test has no labels" in err and "--predictions" in err and len(err.strip().splitlines()) == 1
    assert main([*common, "--split", "test", "--predictions", str(tmp_path / "p.txt")]) == 2
    assert "ending in .csv or .json" in capsys.readouterr().err
    test_ids = [r.id for r in load_annotations("something-like", "test", data_root).records]
    assert main([*common, "--split", "test", "--predictions", str(tmp_path / "test.csv")]) == 0
    assert "no labels (no accuracy)" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "test.csv").open()))
    assert [r["video"] for r in rows] == test_ids and all(r["truth"] == "" for r in rows)
    probs = [[float(r[f"probability_{i}"]) for i in range(1, 6)] for r in rows]
    assert all(p == sorted(p, reverse=True) and 0 < sum(p) <= 1 + 1e-6 for p in probs)
    assert main([*common, "--split", "val", "--json", "--predictions", str(tmp_path / "val.json")]) == 0
    res = json.loads(capsys.readouterr().out)
    pred = json.loads((tmp_path / "val.json").read_text())
    assert res["labelled"] and res["clips"] == len(pred) and all(r["truth"] is not None for r in pred)
    assert res["top1"] == pytest.approx(sum(r["top"][0]["label"] == r["truth"] for r in pred) / len(pred))
    assert res["top5"] == pytest.approx(sum(r["truth"] in [t["label"] for t in r["top"]] for r in pred) / len(pred))


def test_train_then_evaluate_from_the_command_line(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--arch", "e3d-initial", "--data", "something-like", "--data-root", str(data_root),
            "--frames", "4", "--size", "32", "--epochs", "2", "--batch-size", "8", "--workers", "0",
            "--out", str(out), "--no-progress", "--json"]
    assert main(args) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["epoch"] == 2 and "val_top1" in final
    assert {p.name for p in out.iterdir()} >= {"last.pt", "best.pt", "metrics.csv", "metrics.json", "run.json"}
    assert main(["evaluate", "--checkpoint", str(out / "best.pt"), "--data-root", str(data_root), "--views", "2x3",
                 "--workers", "0", "--json", "--no-progress"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert set(ev) >= {"top1", "top5", "clips", "views"} and ev["views"] == "2-LeftCenterRight" and ev["clips"] == 4


def test_train_on_the_motion_benchmark_with_the_proxy_recipe(tmp_path, capsys):
    bench = tmp_path / "motion"
    assert main(["data", "generate", "motion", "--out", str(bench), "--videos", "20", "--workers", "1", "--quiet",
                 "--set", "frames=8", "--set", "height=32", "--set", "width=32"]) == 0
    capsys.readouterr()
    out = tmp_path / "run"
    assert main(["train", "--arch", "e3d-initial", "--data", f"motion:{bench}", "--recipe", "proxy", "--frames", "4",
                 "--size", "24", "--epochs", "1", "--batch-size", "8", "--workers", "0", "--cache-dir",
                 str(tmp_path / "cache"), "--out", str(out), "--no-progress", "--json"]) == 0
    res = capsys.readouterr()
    final = json.loads(res.out.strip().splitlines()[-1])
    assert final["collapsed"] is True and final["collapse_reason"].startswith("plateau")  # 2 steps learn nothing
    assert "the run collapsed" in res.err and len(res.err.strip().splitlines()) == 1
    run = json.loads((out / "run.json").read_text())["config"]
    capped = tmp_path / "capped"  # --max-steps reached mid-epoch is the work asked for: exit 0, resumable
    assert main(["train", "--arch", "e3d-initial", "--data", f"motion:{bench}", "--recipe", "proxy", "--frames", "4",
                 "--size", "24", "--epochs", "1", "--batch-size", "8", "--workers", "0", "--max-steps", "1",
                 "--out", str(capped), "--no-progress"]) == 0
    assert (capped / "last.pt").is_file()
    assert (run["lr"], run["branch_gamma"], run["data"]) == (0.025, 0.1, f"motion:{bench}")
    assert any((tmp_path / "cache").iterdir())  # decoded once into the uint8 cache


def test_never_overwrites_another_kind_of_run(tmp_path, capsys):
    search_dir = tmp_path / "search"
    search_dir.mkdir()
    (search_dir / "run.json").write_text(json.dumps({"command": "search"}))
    afile = tmp_path / "a.txt"
    afile.write_text("x")
    for out, message in ((search_dir, "holds another kind of run"), (afile, "is a file")):
        assert main(["train", "--arch", "e3d-initial", "--data", "something-like", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert json.loads((search_dir / "run.json").read_text()) == {"command": "search"}  # untouched
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    (train_dir / "run.json").write_text(json.dumps({"config": {}}))  # a training run.json of before "command"
    (train_dir / "last.pt").write_bytes(b"")
    assert main(["search", "--budget-flops", "1e9", "--iterations", "10", "--out", str(train_dir)]) == 2
    assert "holds a training run" in capsys.readouterr().err


def test_train_prints_a_line_per_epoch_and_a_summary(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--arch", "e3d-initial", "--data", "something-like", "--data-root", str(data_root),
                 "--frames", "4", "--size", "32", "--epochs", "2", "--batch-size", "8", "--workers", "0",
                 "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert "val top-1" in lines[0] and lines[-1].startswith(f"{out}: 2 epochs; best val top-1")


def test_train_help_names_the_architectures_defaults(capsys):
    from e3dlib.cli import build_parser

    text = " ".join(build_parser()._subparsers._group_actions[0].choices["train"].format_help().split())
    assert "(default )" not in text and "(default -1.0)" not in text and "(default None)" not in text
    assert text.count("(default the architecture's)") == 2 and "--act {relu,swish}" in text
