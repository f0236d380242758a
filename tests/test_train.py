import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from train_helpers import TINY, Bright

from e3dlib.evaluate import summarize, topk_accuracy
from e3dlib.train import EpochSampler, TrainConfig, TrainError, lr_at, train

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
    wa = torch.load(ref / "last.pt", weights_only=False)["model"]
    wb = torch.load(cut / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    cfg = TrainConfig(**{**CFG.__dict__, "epochs": 1})
    train(cfg, TINY, Bright(), None, tmp_path, num_classes=3, progress=False)
    good = torch.load(tmp_path / "last.pt", weights_only=False)["model"]
    cfg2 = TrainConfig(**{**CFG.__dict__, "epochs": 2})
    with pytest.raises(TrainError, match="other options"):
        train(cfg2, TINY, Bright(nan_at=5), None, tmp_path, num_classes=3, progress=False, resume=True)
    bad = tmp_path / "bad"
    with pytest.raises(TrainError, match="non-finite loss"):
        train(cfg, TINY, Bright(nan_at=5), None, bad, num_classes=3, progress=False)
    assert not (bad / "last.pt").exists()
    assert all(torch.equal(good[k], torch.load(tmp_path / "last.pt", weights_only=False)["model"][k]) for k in good)


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
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent), "OMP_NUM_THREADS": "1"}
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


def test_evaluation_refuses_unlabelled_splits():
    from e3dlib.evaluate import evaluate_model
    from e3dlib.model import build_model

    class Unlabelled(Bright):
        def __getitem__(self, i):
            return super().__getitem__(i)[0], -1

    with pytest.raises(ValueError, match="no labels"):
        evaluate_model(build_model(TINY, num_classes=3), Unlabelled(4), batch_size=2)
