import dataclasses

import pytest
from hypothesis import given, settings
from strategies import arch_specs

from e3dlib import PRESETS, ArchSpec, SpecError, StageSpec, num_layers
from e3dlib.layers import conv_layers, expand_layers, final_size
from e3dlib.spec import conv_out, round_width, se_channels

BASE = PRESETS["e3d-initial"]


@pytest.mark.parametrize("change, field", [
    (dict(frames=0), "frames"),
    (dict(size=-3), "size"),
    (dict(act="gelu"), "act"),
    (dict(se_ratio=1.5), "se_ratio"),
    (dict(stem=dataclasses.replace(BASE.stem, k=4)), "stem.k"),
    (dict(stem=dataclasses.replace(BASE.stem, stride=3)), "stem.stride"),
    (dict(stem=dataclasses.replace(BASE.stem, temporal_kernel=2)), "stem.temporal_kernel"),
    (dict(stages=()), "stages"),
    (dict(stages=(StageSpec(0, 8, 3, 3, 2, 1),)), "stages[0].out_channels"),
    (dict(stages=(StageSpec(8, 8, 2, 3, 2, 1),)), "stages[0].kt"),
    (dict(stages=(StageSpec(8, 8, 3, 3, 2, 0),)), "stages[0].depth"),
    (dict(stages=(StageSpec(8, 8, 3, 3, 4, 1),)), "stages[0].stride"),
    (dict(stages=(StageSpec(8, 8.5, 3, 3, 2, 1),)), "stages[0].bottleneck"),
])
def test_invalid_specs_raise_naming_the_field(change, field):
    with pytest.raises(SpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        dataclasses.replace(BASE, **change)


@given(arch_specs())
@settings(max_examples=100, deadline=None)
def test_json_round_trip(spec):
    assert ArchSpec.from_json(spec.to_json()) == spec


def test_from_dict_rejects_unknown_and_missing_fields():
    d = BASE.to_dict()
    d["stages"][0]["widht"] = 3
    with pytest.raises(SpecError, match=r"stages\[0\]: unknown field\(s\) widht"):
        ArchSpec.from_dict(d)
    d = BASE.to_dict()
    del d["head"]
    with pytest.raises(SpecError, match="missing field 'head'"):
        ArchSpec.from_dict(d)
    with pytest.raises(SpecError, match="malformed JSON"):
        ArchSpec.from_json("{")


def test_conv_out_and_sizes():
    assert [conv_out(160, 3, 2), conv_out(39, 3, 2), conv_out(1, 5, 2), conv_out(7, 3, 1)] == [80, 20, 1, 7]
    assert final_size(PRESETS["x3d-s"]) == (13, 5, 5)
    assert final_size(PRESETS["x3d-l"]) == (16, 10, 10)  # 312 -> 156 -> 78 -> 39 -> 20 -> 10
    assert final_size(PRESETS["e3d-m"]) == (16, 7, 7)


def test_round_width_matches_x3d_se_widths():
    # X3D SE widths for bottlenecks 54/108/216/432 at ratio 1/16: 27 rounds to 24 < 0.9*27, so 32
    assert [se_channels(b, 0.0625) for b in (54, 108, 216, 432)] == [8, 8, 16, 32]
    assert round_width(24 * 1.0) == 24


def test_layer_counts_match_official_budgets():
    # the official configs use layer budgets of 83 (E3D-S/M) and 167 (E3D-L); the found nets sit at them
    assert num_layers(PRESETS["e3d-s"]) == 83
    assert num_layers(PRESETS["e3d-m"]) == 83
    assert num_layers(PRESETS["e3d-l"]) == 167
    assert num_layers(PRESETS["x3d-s"]) == 1 + 1 + 3 * (3 + 5 + 11 + 7) + 1


def test_expand_layers_unrolls_blocks_in_forward_order():
    spec = dataclasses.replace(BASE, stages=(StageSpec(16, 32, 3, 3, 2, 3),))
    names = [L.name for L in expand_layers(conv_layers(spec)) if "se" not in L.name]
    assert names == ["stem.conv_xy", "stage1.block0.expand", "stage1.block0.dw", "stage1.block0.project",
                     "stage1.block0.shortcut", "stage1.block1.expand", "stage1.block1.dw", "stage1.block1.project",
                     "stage1.block2.expand", "stage1.block2.dw", "stage1.block2.project", "head.conv5", "head.fc",
                     "head.classifier"]
    assert sum(L.count for L in conv_layers(spec)) == len(expand_layers(conv_layers(spec)))


def test_stage_geometry_names_each_size_convention():
    from e3dlib.layers import stage_geometry

    geo = stage_geometry(PRESETS["x3d-s"].with_input(13, 75))  # odd sizes: the conventions part ways
    assert [g.h for g in geo] == [75, 38, 19, 10, 5, 3]  # built model: conv_out rounds up
    assert [g.ho for g in geo] == [38, 19, 10, 5, 3, 3]
    assert [g.res for g in geo] == [75.0, 37.5, 18.75, 9.375, 4.6875, 2.34375]  # TinyNAS FLOPs: fractions
    assert [g.res_int for g in geo] == [37, 18, 9, 4, 2, 2]  # TinyNAS STEntr: int(size / 2^k) after the stride
    assert [g.stride for g in geo] == [2, 2, 2, 2, 2, 1]
    assert final_size(PRESETS["x3d-s"].with_input(13, 75)) == (13, 3, 3)
