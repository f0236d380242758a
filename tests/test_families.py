from dataclasses import replace

import numpy as np
import pytest

from e3dlib import PRESETS, homo_entr, macs, params
from e3dlib.families import kernel_selection_family, random_architecture, sample_architectures, split_stage
from e3dlib.layers import PLAIN_ROLES, conv_layers, expand_layers
from e3dlib.spec import SpecError


def test_split_stage_is_the_same_network():
    x3d = PRESETS["x3d-s"]
    five = split_stage(x3d, 2, 5)
    assert [s.depth for s in five.stages] == [3, 5, 5, 6, 7]
    assert [s.stride for s in five.stages] == [2, 2, 2, 1, 2]
    assert macs(five) == macs(x3d) and params(five) == params(x3d)
    assert homo_entr(five) == pytest.approx(homo_entr(x3d))
    def plain(spec):
        return [(L.cin, L.cout, L.t, L.h, L.w) for L in expand_layers(conv_layers(spec)) if L.role in PLAIN_ROLES]

    assert plain(five) == plain(x3d)  # SE moves (it restarts every other block per stage), the count stays 6
    with pytest.raises(SpecError, match="cannot split"):
        split_stage(x3d, 2, 11)


def test_kernel_selection_family_matches_table_1():
    fam = kernel_selection_family()
    assert list(fam) == ["X3D-S", *(f"S-{i}" for i in range(1, 6)), *(f"T-{i}" for i in range(1, 6))]
    assert {(s.kt, s.k) for s in fam["X3D-S"].stages} == {(3, 3)}
    assert [(s.kt, s.k) for s in fam["S-2"].stages] == [(3, 3), (1, 5), (3, 3), (3, 3), (3, 3)]
    assert [(s.kt, s.k) for s in fam["T-5"].stages] == [(1, 5), (1, 5), (1, 5), (1, 5), (3, 3)]
    # 1x5x5 (25 taps) vs 3x3x3 (27): the variants differ in FLOPs by a few percent only
    base = macs(fam["X3D-S"])
    assert all(0.9 < macs(s) / base <= 1.0 for s in fam.values())
    with pytest.raises(SpecError):
        kernel_selection_family(PRESETS["e3d-s"])


def test_random_architecture_is_in_the_search_space_and_seeded():
    a = random_architecture(np.random.default_rng(3), 8, 56)
    b = random_architecture(np.random.default_rng(3), 8, 56)
    assert a == b
    assert len(a.stages) == 5 and [s.stride for s in a.stages] == [2, 2, 2, 1, 2]
    widths = [s.out_channels for s in a.stages]
    assert widths == sorted(widths) and all(w % 8 == 0 for w in widths)
    assert all((s.kt, s.k) in {(1, 3), (1, 5), (3, 3)} and 1 <= s.depth <= 4 for s in a.stages)


def test_sample_architectures_covers_the_range_one_per_log_bin():
    specs = sample_architectures(12, (0.01e9, 0.1e9), 8, 56, seed=1)
    f = np.array([macs(s) for s in specs])
    assert len(specs) == 12 and (f >= 0.01e9).all() and (f < 0.1e9).all()
    assert (np.diff(f) > 0).all()  # one per bin, so strictly increasing
    edges = np.linspace(np.log(0.01e9), np.log(0.1e9), 13)
    assert (np.searchsorted(edges, np.log(f), side="right") - 1 == np.arange(12)).all()
    assert [s.name for s in specs[:2]] == ["rand-00", "rand-01"]
    assert specs == sample_architectures(12, (0.01e9, 0.1e9), 8, 56, seed=1)
    ten = sample_architectures(12, (0.01e9, 0.1e9), 8, 56, seed=1, num_classes=10)
    assert all(s.num_classes == 10 and 0.01e9 <= macs(s) < 0.1e9 for s in ten)
    width = (np.log(0.1e9) - np.log(0.01e9)) / 12
    assert sorted(int((np.log(macs(s)) - np.log(0.01e9)) // width) for s in ten) == list(range(12))
    with pytest.raises(ValueError, match="bins filled"):
        sample_architectures(5, (1e3, 2e3), 8, 56, max_tries=50)


def test_temporal_stem_option_changes_only_the_stem():
    a = random_architecture(np.random.default_rng(5), 8, 40)
    b = random_architecture(np.random.default_rng(5), 8, 40, temporal_stem=5)
    assert (a.stem.temporal_kernel, b.stem.temporal_kernel) == (0, 5)
    assert replace(b, stem=a.stem) == a
    specs = sample_architectures(3, (0.01e9, 0.03e9), 8, 40, seed=0, num_classes=10, temporal_stem=5)
    assert all(s.stem.temporal_kernel == 5 for s in specs)
