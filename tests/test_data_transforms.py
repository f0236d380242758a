"""Temporal sampling, K-Center / K-LeftCenterRight views (counts and positions), direction-respecting flips."""

import numpy as np
import pytest
import torch

from e3dlib.data.datasets import VideoDataset
from e3dlib.data.layouts import Annotations, DataError, VideoRecord, direction_pairs
from e3dlib.data.synthetic import SOMETHING_CLASSES, SOMETHING_FLIP_PAIRS
from e3dlib.data.transforms import (
    ClipConfig,
    Views,
    eval_boxes,
    eval_indices,
    flip_decision,
    segment_indices,
    to_tensor,
    train_box,
    train_indices,
    x3d_indices,
)
from e3dlib.data.video import read_clip, write_frames_dir


def test_x3d_sampling():
    assert x3d_indices(20, 4, 2, 0.0).tolist() == [0, 2, 4, 6]
    assert x3d_indices(20, 4, 2, 1.0).tolist() == [13, 15, 17, 19]
    assert x3d_indices(20, 4, 2, 0.5).tolist() == [6, 8, 10, 12]  # centred window
    assert x3d_indices(5, 4, 2, 0.7).tolist() == [0, 2, 4, 4]  # short video: the last frame repeats
    rng = np.random.default_rng(0)
    cfg = ClipConfig(frames=4, stride=3)
    starts = {int(train_indices(30, cfg, rng)[0]) for _ in range(200)}
    assert min(starts) == 0 and max(starts) == 30 - 10 and len(starts) > 15


def test_segment_sampling():
    assert segment_indices(16, 4, 0.5).tolist() == [2, 6, 10, 14]
    assert segment_indices(3, 4, 0.5).tolist() == [0, 1, 1, 2]
    rng = np.random.default_rng(0)
    idx = np.stack([train_indices(16, ClipConfig(frames=4, sampling="segment"), rng) for _ in range(100)])
    assert all(set(idx[:, s]) == {4 * s, 4 * s + 1, 4 * s + 2, 4 * s + 3} for s in range(4))
    clips = eval_indices(16, ClipConfig(frames=4, sampling="segment"), 2)
    assert [c.tolist() for c in clips] == [[1, 5, 9, 13], [3, 7, 11, 15]]


def test_test_clips_spread_uniformly():
    cfg = ClipConfig(frames=4, stride=2)
    assert [c[0] for c in eval_indices(100, cfg, 1)] == [46]
    assert [int(c[0]) for c in eval_indices(100, cfg, 5)] == [0, 23, 46, 70, 93]


def test_views_names_and_boxes():
    assert Views.parse("10-Center") == Views(10, 1) and Views.parse("4-LeftCenterRight") == Views(4, 3)
    assert Views.parse("2x3").name == "2-LeftCenterRight" and len(Views(10, 3)) == 30
    with pytest.raises(DataError):
        Views.parse("10-Corners")
    cfg = ClipConfig(crop=16)
    assert eval_boxes(24, 40, cfg, 1) == [(0, 8, 24)]  # short side 24 -> 16, centre crop
    assert eval_boxes(24, 40, cfg, 3) == [(0, 0, 24), (0, 8, 24), (0, 16, 24)]  # left, centre, right
    assert eval_boxes(40, 24, cfg, 3) == [(0, 0, 24), (8, 0, 24), (16, 0, 24)]  # top, centre, bottom
    assert eval_boxes(24, 40, ClipConfig(crop=16, test_scale=32), 1) == [(6, 14, 12)]
    rng = np.random.default_rng(0)
    for _ in range(50):
        y0, x0, side = train_box(24, 40, ClipConfig(crop=16), rng)  # scale 18..23 -> side 17..21
        assert 17 <= side <= 21 and 0 <= y0 <= 24 - side and 0 <= x0 <= 40 - side


def test_view_tensors_match_their_clip_and_crop(tmp_path):
    """K-LeftCenterRight views come clip-major and equal the crops computed by hand."""
    t = np.arange(12, dtype=np.uint8)[:, None, None, None]
    x = np.broadcast_to(np.arange(40, dtype=np.uint8)[None, None, :, None] * 5, (12, 24, 40, 3))
    video = np.ascontiguousarray(x + t)  # frame t, column c: 5c + t
    write_frames_dir(tmp_path / "v", video, quality=100)
    cfg = ClipConfig(frames=2, stride=3, crop=24)
    ann = Annotations("folder", str(tmp_path), "val", ("a",), (VideoRecord(str(tmp_path / "v"), 0, "v"),))
    for views in (Views(3, 1), Views(2, 3)):
        out, y = VideoDataset(ann, cfg, train=False, views=views)[0]
        assert out.shape == (len(views), 3, 2, 24, 24) and y == 0
        boxes = eval_boxes(24, 40, cfg, views.crops)
        for v in range(len(views)):
            idx = eval_indices(12, cfg, views.clips)[v // views.crops]
            want = to_tensor(video[idx], boxes[v % views.crops], cfg)
            assert torch.allclose(out[v], want, atol=0.15)  # JPEG loss only


def test_flip_decision_policies():
    pairs, directional = {0: 1, 1: 0}, {0, 1, 2}
    swap, skip, off = ClipConfig(flip="swap"), ClipConfig(flip="skip"), ClipConfig(flip="off")
    assert flip_decision(0, swap, pairs, directional, True) == (True, 1)
    assert flip_decision(2, swap, pairs, directional, True) == (False, 2)  # directional without a partner
    assert flip_decision(3, swap, pairs, directional, True) == (True, 3)
    assert flip_decision(0, skip, pairs, directional, True) == (False, 0)
    assert flip_decision(3, skip, pairs, directional, True) == (True, 3)
    assert flip_decision(3, off, pairs, directional, True) == (False, 3)
    assert flip_decision(0, swap, pairs, directional, False) == (False, 0)


def test_synthetic_flip_pairs_are_detected_from_names():
    directional, pairs = direction_pairs(SOMETHING_CLASSES)
    assert pairs == SOMETHING_FLIP_PAIRS and directional == set(SOMETHING_FLIP_PAIRS)


@pytest.mark.parametrize("policy", ["swap", "skip"])
def test_dataset_flip_swaps_labels_with_the_image(tmp_path, policy):
    rng = np.random.default_rng(1)
    video = rng.integers(0, 256, (6, 3, 4, 3)).repeat(8, 1).repeat(8, 2).astype(np.uint8)
    write_frames_dir(tmp_path / "v", video, quality=100)
    recs = (VideoRecord(str(tmp_path / "v"), 0, "v"),)
    classes = ("Moving something from left to right", "Moving something from right to left", "Holding something")
    directional, pairs = direction_pairs(classes)
    ann = Annotations("folder", str(tmp_path), "train", classes, recs, flip_pairs=pairs, directional=directional)
    cfg = ClipConfig(frames=3, stride=2, crop=16, flip=policy)
    ds = VideoDataset(ann, cfg, train=True, seed=3)
    decoded = read_clip(tmp_path / "v")
    labels = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        x, y = ds[0]
        labels.add(y)
        r = np.random.default_rng([3, epoch, 0])  # replay the sample's random draws
        idx = train_indices(6, cfg, r)
        box = train_box(24, 32, cfg, r)
        coin = bool(r.random() < 0.5)
        assert torch.equal(x, to_tensor(decoded[idx], box, cfg, flip=coin and policy == "swap"))
        assert y == (1 if coin and policy == "swap" else 0)
    assert labels == ({0, 1} if policy == "swap" else {0})
