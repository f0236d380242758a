import json

import pytest
import torch
from interop_helpers import DATA, clip, listing, random_state

from e3dlib import PRESETS
from e3dlib.cli import main
from e3dlib.data.datasets import build_dataset
from e3dlib.data.transforms import ClipConfig
from e3dlib.interop import ConvertError, convert_state, rename
from e3dlib.model import build_model, load_weights


def test_a_pytorchvideo_x3d_s_checkpoint_gives_pytorchvideos_logits(tmp_path, capsys):
    """tests/data/pytorchvideo_x3d_s_logits.json holds the eval-mode logits of pytorchvideo's own create_x3d with
    these weights (tests/data/make_interop_fixtures.py)."""
    torch.save({"model_state": random_state("pytorchvideo_x3d_s"), "epoch": 3}, tmp_path / "x3d_s.pyth")
    out = tmp_path / "converted" / "x3d_s.pt"
    assert main(["convert", str(tmp_path / "x3d_s.pyth"), "--from", "pytorchvideo", "--arch", "x3d-s",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["note: stages.0.0.shortcut.1: no BatchNorm on this shortcut in the pytorchvideo checkpoint; set "
                   "to the identity"]
    torch.load(out, weights_only=True)  # readable without unpickling code
    model = load_weights(out)
    with torch.no_grad():
        logits = model(clip())[0]
    ref = torch.tensor(json.loads((DATA / "pytorchvideo_x3d_s_logits.json").read_text())["logits"])
    assert (logits - ref).abs().max() < 1e-4


def test_a_pyslowfast_x3d_s_state_maps_tensor_for_tensor():
    state = random_state("slowfast_x3d_s")
    converted, notes = convert_state({"module." + k: v for k, v in state.items()}, "slowfast", PRESETS["x3d-s"])
    assert notes == []  # PySlowFast has the stage-1 shortcut BN, like e3dlib
    assert list(converted) == list(build_model(PRESETS["x3d-s"]).state_dict())
    assert torch.equal(converted["stem.conv_t.weight"], state["s1.pathway0_stem.conv.weight"])  # 5x1x1 temporal
    assert torch.equal(converted["stages.2.10.se.expand.bias"], state["s4.pathway0_res10.branch2.se.fc2.bias"])
    assert torch.equal(converted["head.fc.weight"], state["head.lin_5.weight"].flatten(1))  # a 1x1x1 conv there
    model = build_model(PRESETS["x3d-s"]).eval()
    model.load_state_dict(converted)
    with torch.no_grad():
        assert torch.isfinite(model(clip())).all()


def test_every_listed_key_has_a_rule():
    for name, source in (("pytorchvideo_x3d_s", "pytorchvideo"), ("slowfast_x3d_s", "slowfast")):
        assert all(rename(k, source) for k, _ in listing(name))


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.update({"blocks.9.extra.weight": torch.zeros(1)}), "blocks.9.extra.weight: no place"),
    (lambda s: s.pop("blocks.2.res_blocks.3.branch2.conv_b.weight"), "stages.1.3.dw.0.weight: missing"),
    (lambda s: s.update({"blocks.0.norm.weight": torch.zeros(25)}), "blocks.0.norm.weight: shape (25,)"),
])
def test_a_checkpoint_that_does_not_fit_is_one_line_naming_the_key(edit, message, tmp_path, capsys):
    state = random_state("pytorchvideo_x3d_s")
    edit(state)
    torch.save({"model_state": state}, tmp_path / "in.pyth")
    assert main(["convert", str(tmp_path / "in.pyth"), "--from", "pytorchvideo", "--arch", "x3d-s",
                 "--out", str(tmp_path / "out.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out.pt").exists()


def test_another_architecture_is_refused():
    with pytest.raises(ConvertError, match="missing from the pytorchvideo checkpoint"):
        convert_state(random_state("pytorchvideo_x3d_s"), "pytorchvideo", PRESETS["x3d-l"])  # L is deeper


def test_evaluate_reads_a_converted_checkpoint(tmp_path, capsys):
    state = random_state("pytorchvideo_x3d_s")
    state["blocks.5.proj.weight"], state["blocks.5.proj.bias"] = torch.zeros(10, 2048), torch.zeros(10)
    state["blocks.5.proj.bias"][3] = 100.0  # every clip is predicted as class 3
    torch.save(state, tmp_path / "bare.pt")  # a bare state dict, 10 classes
    assert main(["convert", str(tmp_path / "bare.pt"), "--from", "pytorchvideo", "--arch", "x3d-s", "--out",
                 str(tmp_path / "x3d.pt"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"]
    bench = tmp_path / "motion"
    assert main(["data", "generate", "motion", "--out", str(bench), "--videos", "4", "--workers", "1", "--quiet",
                 "--set", "frames=8", "--set", "height=32", "--set", "width=32"]) == 0
    capsys.readouterr()
    args = ["evaluate", "--checkpoint", str(tmp_path / "x3d.pt"), "--views", "1x1", "--workers", "0", "--json",
            "--no-progress"]
    assert main(args) == 2 and "holds weights only" in capsys.readouterr().err  # no data recorded in a weights file
    assert main([*args, "--data", f"motion:{bench}", "--split", "train"]) == 0
    res = json.loads(capsys.readouterr().out)
    ds = build_dataset(f"motion:{bench}", "train", ClipConfig(frames=4, crop=24), train=False)
    labels = [ds[i][1] for i in range(len(ds))]
    assert res["clips"] == len(labels) and res["top1"] == pytest.approx(labels.count(3) / len(labels))


def test_a_weights_file_named_json_is_refused(tmp_path, capsys):
    torch.save(random_state("pytorchvideo_x3d_s"), tmp_path / "in.pt")
    assert main(["convert", str(tmp_path / "in.pt"), "--from", "pytorchvideo", "--arch", "x3d-s",
                 "--out", str(tmp_path / "x.json")]) == 2
    assert "cannot end in .json" in capsys.readouterr().err


def test_only_pytorchvideos_stage_1_shortcut_bn_may_be_missing():
    state = random_state("slowfast_x3d_s")
    state = {k: v for k, v in state.items() if not k.startswith("s2.pathway0_res0.branch1_bn.")}
    with pytest.raises(ConvertError, match="stages.0.0.shortcut.1.weight: missing from the slowfast checkpoint"):
        convert_state(state, "slowfast", PRESETS["x3d-s"])
