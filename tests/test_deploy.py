import json

import pytest
import torch

from e3dlib import PRESETS
from e3dlib.cli import main
from e3dlib.data.layouts import DataError
from e3dlib.deploy import latency, read_labels
from e3dlib.model import build_model, save_weights
from e3dlib.presets import scale_width


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("deploy")
    torch.manual_seed(0)
    model = build_model(scale_width(PRESETS["e3d-s"].with_input(4, 32), 0.25), num_classes=10, branch_gamma=0.5)
    save_weights(model, d / "net.pt")
    assert main(["data", "generate", "motion", "--out", str(d / "motion"), "--videos", "3", "--workers", "1",
                 "--quiet", "--set", "frames=8", "--set", "height=32", "--set", "width=32"]) == 0
    return d


def test_exported_torchscript_equals_eager(weights, capsys):
    out = weights / "net.ts"
    assert main(["export", "--checkpoint", str(weights / "net.pt"), "--out", str(out), "--batch", "2"]) == 0
    assert "max |exported - eager|" in capsys.readouterr().out
    from e3dlib.model import load_weights

    eager = load_weights(weights / "net.pt")
    x = torch.randn(3, 3, 6, 48, 48)  # another batch size and input than traced: the trace is shape-generic
    with torch.no_grad():
        assert (torch.jit.load(str(out))(x) - eager(x)).abs().max() < 1e-5


def test_predict_prints_top_k_and_names_each_bad_video(weights, capsys):
    videos = sorted((weights / "motion" / "20bn-something-something-v2").iterdir())
    (weights / "bad.webm").write_bytes(b"not a video")
    labels = weights / "motion" / "something-something-v2-labels.json"
    code = main(["predict", "--checkpoint", str(weights / "net.pt"), str(videos[0]), str(weights / "bad.webm"),
                 str(videos[1]), "--labels", str(labels), "--top", "3", "--views", "2x3", "--json"])
    res = capsys.readouterr()
    assert code == 2  # one video failed; the others were still predicted
    rows = [json.loads(line) for line in res.out.splitlines()]
    assert [r["video"] for r in rows] == [str(videos[0]), str(videos[1])]
    names = json.loads(labels.read_text())
    for r in rows:
        p = [t["probability"] for t in r["top"]]
        assert len(p) == 3 and p == sorted(p, reverse=True) and 0 < sum(p) <= 1 + 1e-6
        assert all(names[t["label"]] == str(t["class"]) for t in r["top"])
    err = res.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"e3dlib predict: error: {weights / 'bad.webm'}: ")


def test_labels_files(tmp_path):
    (tmp_path / "a.txt").write_text("cat\ndog\n")
    (tmp_path / "b.json").write_text('["cat", "dog"]')
    (tmp_path / "c.json").write_text('{"dog": "1", "cat": "0"}')
    assert read_labels(tmp_path / "a.txt", 2) == read_labels(tmp_path / "b.json", 2) == \
        read_labels(tmp_path / "c.json", 2) == ["cat", "dog"]
    with pytest.raises(DataError, match="2 names for a network of 3 classes"):
        read_labels(tmp_path / "a.txt", 3)


def test_latency_is_measured_and_compared(capsys):
    net = scale_width(PRESETS["e3d-s"].with_input(2, 32), 0.25)
    before = torch.get_num_threads()
    sec = latency(build_model(net), (1, 3, 2, 32, 32), threads=3, torchscript=True, channels_last=True, repeats=2)
    assert 0 < sec < 10
    assert torch.get_num_threads() == before  # restored
    assert main(["latency", "--arch", "e3d-s", "--arch", "x3d-s", "--frames", "2", "--size", "32", "--batch", "1",
                 "--threads", "1", "--repeats", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 8 and all(r["ms_per_clip"] > 0 for r in rows)
    assert all(r["ratio_to_x3d-s"] > 0 for r in rows if r["arch"] == "e3d-s")
    assert main(["latency", "--arch", "e3d-s", "--threads", "two"]) == 2
    assert "--threads two" in capsys.readouterr().err


def test_latency_in_bfloat16_casts_weights_and_input(capsys):
    assert main(["latency", "--arch", "e3d-s", "--frames", "2", "--size", "32", "--batch", "1", "--threads", "1",
                 "--repeats", "1", "--dtype", "bfloat16", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and {(r["device"], r["dtype"]) for r in rows} == {("cpu", "bfloat16")}
    assert all(r["ms_per_clip"] > 0 for r in rows)


@pytest.mark.parametrize("args, message", [
    (["export", "--checkpoint", "{w}/net.pt", "--out", "{tmp}/x.ts", "--frames", "-1"], "--frames -1: must be >= 1"),
    (["export", "--checkpoint", "{w}/net.pt", "--out", "{tmp}"], "is a folder"),
    (["export", "--checkpoint", "{tmp}/bad.pt", "--out", "{tmp}/x.ts"], "bad.json: not a text file"),
    (["predict", "--checkpoint", "{w}/net.pt", "{w}/net.pt", "--top", "0"], "--top 0"),
    (["latency", "--arch", "e3d-s", "--batch", "0"], "must be >= 1"),
    (["latency", "--arch", "e3d-s", "--device", "gpu"], "--device 'gpu': expected cpu, cuda or cuda:N"),
])
def test_bad_deploy_input_is_one_line(args, message, weights, tmp_path, capsys):
    import shutil

    shutil.copy(weights / "net.pt", tmp_path / "bad.pt")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe\x00 binary")
    assert main([a.replace("{w}", str(weights)).replace("{tmp}", str(tmp_path)) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("*.tmp"))


def test_onnx_export_equals_eager_or_names_the_missing_extra(weights, tmp_path, capsys):
    import importlib.util

    out = tmp_path / "net.onnx"
    args = ["export", "--checkpoint", str(weights / "net.pt"), "--format", "onnx", "--out", str(out)]
    if not all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime")):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert "pip install -e '.[onnx]'" in err and len(err.splitlines()) == 1
        return
    import onnxruntime as ort

    from e3dlib.model import load_weights

    assert main(args) == 0
    x = torch.randn(3, 3, 4, 32, 32)  # another batch than traced: the batch is dynamic
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = load_weights(weights / "net.pt")(x).numpy()
    assert abs(session.run(None, {"clip": x.numpy()})[0] - want).max() < 1e-5
