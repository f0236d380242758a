import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import TINY, Bright

from e3dlib.evaluate import summarize, topk_accuracy
from e3dlib.train import EpochSampler, TrainConfig, TrainError, lr_at, train, use_backend

CFG = TrainConfig(arch="tiny", data="bright", frames=4, size=16, epochs=2, batch_size=8, lr=0.05, workers=0,
                  channels_last=True, warmup_epochs=0.5, label_smoothing=0.1)


def strip_time(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_train_writes_outputs_and_learns(tmp_path):
    m = train(CFG, TINY, Bright(), Bright(24), tmp_path, num_classes=3, progress=False)
    assert {p.name for p in tmp_path.iterdir()} >= {"last.pt", "best.pt", "metrics.csv", "metrics.json", "run.json"}
    hist = json.loads((tmp_path / "metrics.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2] and m["epoch"] == 2
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert 0.0 <= m["val_top1"] <= 1.0 and m["val_clips"] == 24
    with pytest.raises(TrainError, match="already holds a run"):
        train(CFG, TINY, Bright(), None, tmp_path, num_classes=3, progress=False)


def test_kill_and_resume_reproduces_the_uninterrupted_run(tmp_path):
    ref = tmp_path / "ref"
    train(CFG, TINY, Bright(), Bright(24), ref, num_classes=3, progress=False)
    cut = tmp_path / "cut"
    r = train(CFG, TINY, Bright(), Bright(24), cut, num_classes=3, progress=False, stop_after_steps=3)
    assert r["interrupted"] and not (cut / "metrics.json").exists()  # stopped in the middle of epoch 1
    train(CFG, TINY, Bright(), Bright(24), cut, num_classes=3, progress=False, resume=True, stop_after_steps=8)
    train(CFG, TINY, Bright(), Bright(24), cut, num_classes=3, progress=False, resume=True)
    a = json.loads((ref / "metrics.json").read_text())
    b = json.loads((cut / "metrics.json").read_text())
    assert strip_time(a) == strip_time(b)
    wa = torch.load(ref / "last.pt", weights_only=True)["model"]
    wb = torch.load(cut / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = TrainConfig(**{**CFG.__dict__, "epochs": 1})
    train(cfg, TINY, Bright(), None, tmp_path, num_classes=3, progress=False)
    good = torch.load(tmp_path / "last.pt", weights_only=True)["model"]
    cfg2 = TrainConfig(**{**CFG.__dict__, "epochs": 2})
    with pytest.raises(TrainError, match="other options"):
        train(cfg2, TINY, Bright(nan_at=5), None, tmp_path, num_classes=3, progress=False, resume=True)
    bad = tmp_path / "bad"
    with pytest.raises(TrainError, match="non-finite loss"):
        train(cfg, TINY, Bright(nan_at=5), None, bad, num_classes=3, progress=False)
    assert not (bad / "last.pt").exists()
    assert all(torch.equal(good[k], torch.load(tmp_path / "last.pt", weights_only=True)["model"][k]) for k in good)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(TrainError, match="nothing to resume"):
        train(CFG, TINY, Bright(), None, tmp_path, num_classes=3, progress=False, resume=True)


def test_schedule_and_sampler():
    assert lr_at(0, 100, 10, 1.0) == pytest.approx(0.01)
    assert lr_at(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert lr_at(100, 100, 10, 1.0) == pytest.approx(0.0)
    s = EpochSampler(10, seed=0, rank=1, world=3)
    s.set_epoch(2)
    full = [i for i, _ in s]
    s.set_epoch(2, start_batch=1, batch_size=2)
    assert [i for i, _ in s] == full[2:] and len(full) == 4
    shards = set()
    for r in range(3):
        t = EpochSampler(10, seed=0, rank=r, world=3)
        t.set_epoch(2)
        shards |= {i for i, _ in t}
    assert shards == set(range(10))


def test_cudnn_picks_its_algorithms_by_timing_only_for_cuda_training(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    use_backend(torch.device("cpu"))
    assert torch.backends.cudnn.benchmark is False
    use_backend(torch.device("cuda", 0))  # sets a flag; needs no GPU
    assert torch.backends.cudnn.benchmark is True


def test_metrics():
    import numpy as np
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    labels = np.array([1, 1, 0])
    assert topk_accuracy(scores, labels, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(scores, labels, 2) == pytest.approx(2 / 3)
    s = summarize(scores, labels, 3)
    assert s["confusion"] == [[0, 0, 1], [1, 1, 0], [0, 0, 0]]
    assert s["per_class"][1] == 0.5 and np.isnan(s["per_class"][2])


def test_torchrun_two_cpu_processes_keep_replicas_identical(tmp_path):
    here = Path(__file__).parent  # the helpers, and this checkout's e3dlib whatever the installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), str(here.parent)]), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                        "29517", str(Path(__file__).parent / "ddp_worker.py"), str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    # parameters stay identical (gradients are all-reduced); BN running statistics are per-rank until the
    # next forward, where DDP broadcasts rank 0's (which is also what the checkpoint stores)
    params = [k for k in a if "running_" not in k and "num_batches" not in k]
    assert len(params) > 20 and all(torch.equal(a[k], b[k]) for k in params)
    assert any(not torch.equal(a[k], b[k]) for k in a if "running_mean" in k)  # the ranks saw different clips
    hist = json.loads((tmp_path / "metrics.json").read_text()) if (tmp_path / "metrics.json").exists() else []
    assert not hist  # stopped by max_steps inside epoch 1
    s0, s1 = torch.load(tmp_path / "scores0.pt"), torch.load(tmp_path / "scores1.pt")  # 11 clips, 2 shards
    assert s0["index"].tolist() == list(range(11)) and all(torch.equal(s0[k], s1[k]) for k in s0)
    assert s0["labels"].tolist() == (torch.arange(11) % 3).tolist() and s0["scores"].shape == (11, 3)


def test_unlabelled_splits_give_scores_and_predictions_not_accuracies(tmp_path):
    from e3dlib.evaluate import evaluate_model, prediction_rows, score_videos, write_predictions
    from e3dlib.model import build_model

    class Unlabelled(Bright):
        def __getitem__(self, i):
            return None if i == 2 else (super().__getitem__(i)[0], -1)  # video 2 unreadable (dropped)

    torch.manual_seed(0)
    net = build_model(TINY, num_classes=3)
    with pytest.raises(ValueError, match="no labels"):
        evaluate_model(net, Unlabelled(5), batch_size=2)
    s = score_videos(net, Unlabelled(5), batch_size=2)
    assert not s.labelled and s.index.tolist() == [0, 1, 3, 4] and s.scores.shape == (4, 3)
    assert np.allclose(s.scores.sum(1), 1.0, atol=1e-5)
    rows = prediction_rows(s, [f"v{i}" for i in range(5)], ["a", "b", "c"], top=2)
    assert [r["video"] for r in rows] == ["v0", "v1", "v3", "v4"] and all(r["truth"] is None for r in rows)
    for r, p in zip(rows, s.scores, strict=True):
        assert [t["class"] for t in r["top"]] == np.argsort(-p, kind="stable")[:2].tolist()
        assert r["top"][0]["probability"] == pytest.approx(p.max()) and r["top"][0]["label"] == "abc"[p.argmax()]
    write_predictions(tmp_path / "p.json", rows)
    assert json.loads((tmp_path / "p.json").read_text()) == rows
    write_predictions(tmp_path / "p.csv", rows)
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "video,truth,label_1,probability_1,label_2,probability_2" and len(lines) == 5
    assert lines[1].split(",")[:3] == ["v0", "", rows[0]["top"][0]["label"]]
    labelled = score_videos(net, Bright(6), batch_size=4)  # and labelled splits: the same rows with the truth
    truths = [r["truth"] for r in prediction_rows(labelled, list("uvwxyz"), "abc")]
    assert labelled.labelled and truths == list("abcabc")
    assert evaluate_model(net, Bright(6), batch_size=4)["top1"] == pytest.approx(
        float((labelled.scores.argmax(1) == labelled.labels).mean()))


def test_collapse_check_names_the_plateau_and_constant_logits():
    import math

    from e3dlib.train import collapse_check

    assert collapse_check(1.2, 10, 2.0) is None
    assert "plateau" in collapse_check(math.log(10) - 0.01, 10, 2.0)
    assert "plateau" in collapse_check(math.log(3) + 0.2, 3, 2.0)  # above ln K counts too
    assert "constant logits" in collapse_check(1.2, 10, 0.01)
    assert collapse_check(math.log(10) - 0.06, 10, 1.0) is None  # the margin is a parameter
    assert collapse_check(math.log(10) - 0.06, 10, 1.0, margin=0.1) is not None


def test_runs_that_learn_nothing_are_flagged(tmp_path):
    learned = train(TrainConfig(**{**CFG.__dict__, "lr": 0.5, "epochs": 4}), TINY, Bright(), None, tmp_path / "a",
                    num_classes=3, progress=False)
    assert learned["collapsed"] is False and learned["collapse_reason"] is None and learned["train_logit_std"] > 0.05
    frozen = train(TrainConfig(**{**CFG.__dict__, "lr": 1e-9}), TINY, Bright(), None, tmp_path / "b", num_classes=3,
                   progress=False)
    assert frozen["collapsed"] is True and frozen["collapse_reason"].startswith("plateau")
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())[-1]["collapsed"] is True


class _Evil:
    """Unpickling this creates a file: what a crafted checkpoint could do to a full `torch.load`."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_checkpoints_are_weights_only_and_crafted_ones_cannot_run_code(tmp_path):
    from e3dlib.checkpoint import load_checkpoint
    from e3dlib.model import load_weights

    train(CFG, TINY, Bright(), None, tmp_path / "run", num_classes=3, progress=False)
    for name in ("last.pt", "best.pt", "best_weights.pt"):
        torch.load(tmp_path / "run" / name, weights_only=True)  # tensors and plain containers only
    net, _ = load_checkpoint(tmp_path / "run" / "last.pt")
    alone = load_weights(tmp_path / "run" / "best_weights.pt")
    x = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        assert torch.allclose(alone(x), load_checkpoint(tmp_path / "run" / "best.pt")[0](x))
    evil = tmp_path / "evil.pt"
    torch.save({"model": _Evil(tmp_path / "pwned"), "config": {}, "arch": {}}, evil)
    with pytest.raises(TrainError, match="--trust-checkpoint"):
        load_checkpoint(evil)
    train(CFG, TINY, Bright(), None, tmp_path / "run2", num_classes=3, progress=False, stop_after_steps=1)
    (tmp_path / "run2" / "last.pt").write_bytes(evil.read_bytes())
    with pytest.raises(TrainError, match=r"io.open: .*--trust-checkpoint"):
        train(CFG, TINY, Bright(), None, tmp_path / "run2", num_classes=3, progress=False, resume=True)
    assert not (tmp_path / "pwned").exists()
    good = (tmp_path / "run" / "last.pt").read_bytes()
    for name, data in (("junk.pt", b"not a checkpoint at all"), ("cut.pt", good[: len(good) // 2])):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(TrainError, match=f"{name}: not a readable checkpoint"):
            load_checkpoint(tmp_path / name)
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(TrainError, match="not an e3dlib checkpoint"):
        load_checkpoint(tmp_path / "list.pt")
    old = tmp_path / "old.pt"  # as e3dlib wrote checkpoints before: NumPy RNG state pickled as an ndarray
    torch.save({**torch.load(tmp_path / "run" / "last.pt", weights_only=True), "rng": {"numpy": np.zeros(3)}}, old)
    with pytest.raises(TrainError, match="--trust-checkpoint"):
        load_checkpoint(old)
    assert torch.equal(load_checkpoint(old, trust=True)[0](x), net(x))


def test_resume_refuses_a_checkpoint_of_another_architecture(tmp_path):
    from dataclasses import replace

    train(CFG, TINY, Bright(), None, tmp_path, num_classes=3, progress=False, stop_after_steps=2)
    other = replace(TINY, name="tiny", stages=(TINY.stages[0], replace(TINY.stages[1], depth=1)))
    with pytest.raises(TrainError, match="was trained for arch 'tiny', not 'tiny'"):
        train(CFG, other, Bright(), None, tmp_path, num_classes=3, progress=False, resume=True)


def test_train_config_refuses_values_that_would_silently_do_nothing():
    from dataclasses import replace

    for bad in (dict(epochs=0), dict(batch_size=0), dict(lr=float("inf")), dict(epochs=1.5), dict(momentum=True),
                dict(label_smoothing=1.0), dict(se=2.0), dict(se=-1.0), dict(se=True), dict(se="0.1"),
                dict(act="gelu"), dict(act="")):
        with pytest.raises(TrainError, match="^--"):
            replace(CFG, **bad)
    assert replace(CFG, max_steps=0, grad_clip=0.0, warmup_epochs=0.0).epochs == CFG.epochs


class _SignalDuringValidation(Bright):
    """A validation set that sends the process SIGINT while it is being read (once)."""

    def __getitem__(self, i):
        if i == 0 and not getattr(self, "sent", False):
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return super().__getitem__(i)


def test_a_signal_during_validation_stops_with_a_resumable_checkpoint(tmp_path):
    r = train(CFG, TINY, Bright(), _SignalDuringValidation(24), tmp_path, num_classes=3, progress=False)
    assert r["interrupted"] == "SIGINT" and r["epoch"] == 1
    assert json.loads((tmp_path / "metrics.json").read_text())[-1]["epoch"] == 1
    done = train(CFG, TINY, Bright(), Bright(24), tmp_path, num_classes=3, progress=False, resume=True)
    assert "interrupted" not in done and done["epoch"] == CFG.epochs


def test_old_spellings_of_the_architectures_act_and_se_are_read_as_none():
    from dataclasses import asdict

    old = {**asdict(CFG), "act": "", "se": -1.0}
    assert TrainConfig.filled(old) == asdict(CFG) and TrainConfig.from_dict(old) == CFG
    assert (CFG.act, CFG.se) == (None, None)
    kept = {**asdict(CFG), "act": "relu", "se": 0.0}  # explicit values are not legacy ones
    assert (TrainConfig.from_dict(kept).act, TrainConfig.from_dict(kept).se) == ("relu", 0.0)
    partial = {k: v for k, v in old.items() if k not in ("eval_views", "max_steps")}  # options added since
    assert TrainConfig.from_dict(partial) == CFG


def test_a_checkpoint_written_with_the_old_spellings_resumes_exactly(tmp_path):
    """Checkpoints of e3dlib before None stored act "" and se -1.0, and the loop's sums as a 3- or 5-list."""
    ref = tmp_path / "ref"
    train(CFG, TINY, Bright(), Bright(24), ref, num_classes=3, progress=False)
    cut = tmp_path / "cut"
    train(CFG, TINY, Bright(), Bright(24), cut, num_classes=3, progress=False, stop_after_steps=3)
    ck = torch.load(cut / "last.pt", weights_only=True)
    assert len(ck["state"]["partial"]) == 5 and ck["config"]["act"] is None
    ck["config"].update(act="", se=-1.0)
    torch.save(ck, cut / "last.pt")
    run = json.loads((cut / "run.json").read_text())
    (cut / "run.json").write_text(json.dumps({**run, "config": {**run["config"], "act": "", "se": -1.0}}))
    train(CFG, TINY, Bright(), Bright(24), cut, num_classes=3, progress=False, resume=True)
    a = json.loads((ref / "metrics.json").read_text())
    b = json.loads((cut / "metrics.json").read_text())
    assert strip_time(a) == strip_time(b)


def test_loop_state_round_trips_and_reads_old_checkpoints():
    from e3dlib.checkpoint import EpochSums, LoopState

    s = LoopState(epoch=1, step=7, batch_in_epoch=1, best_top1=0.5, history=[{"epoch": 1}], curve=[[5, 1.0]],
                  window_loss=2.0, window_steps=2, sums=EpochSums(1.0, 2.0, 3.0, 4.0, 5.0))
    assert LoopState.from_dict(s.to_dict()) == s
    assert s.to_dict()["partial"] == [1.0, 2.0, 3.0, 4.0, 5.0] and s.to_dict()["window"] == [2.0, 2]
    old = {"epoch": 0, "step": 3, "batch_in_epoch": 3, "best_top1": -1.0, "history": [], "partial": [6.0, 1.0, 8.0]}
    back = LoopState.from_dict(old)
    assert back.sums == EpochSums(6.0, 1.0, 8.0, 0.0, 0.0) and back.curve == [] and back.window_steps == 0
    assert "partial" not in LoopState().to_dict()
