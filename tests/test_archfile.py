import dataclasses

import pytest
from hypothesis import given, settings
from strategies import arch_specs

from e3dlib import PRESETS, SpecError
from e3dlib.archfile import format_structure, load_arch, parse_structure
from e3dlib.spec import StemSpec

# The published E3D-S structure file, in the official layout (multi-line dict literal, extra keys).
E3D_S_TXT = """{'best_structures': [[
  {'class': 'Conv3DKXBNRELU', 'in': 3, 'k': 3, 'kt': 1, 'out': 24, 's': 2},
  { 'L': 3, 'btn': 32, 'class': 'SuperRes3DK1DWK1', 'in': 24, 'inner_class': 'Res3DK1DWK1',
    'k': 5, 'kt': 1, 'out': 24, 's': 2},
  { 'L': 6, 'btn': 96, 'class': 'SuperRes3DK1DWK1', 'in': 24, 'inner_class': 'Res3DK1DWK1',
    'k': 3, 'kt': 3, 'out': 48, 's': 2},
  { 'L': 6, 'btn': 176, 'class': 'SuperRes3DK1DWK1', 'in': 48, 'inner_class': 'Res3DK1DWK1',
    'k': 3, 'kt': 3, 'out': 120, 's': 2},
  { 'L': 6, 'btn': 176, 'class': 'SuperRes3DK1DWK1', 'in': 120, 'inner_class': 'Res3DK1DWK1',
    'k': 3, 'kt': 3, 'out': 120, 's': 1},
  { 'L': 6, 'btn': 384, 'class': 'SuperRes3DK1DWK1', 'in': 120, 'inner_class': 'Res3DK1DWK1',
    'k': 3, 'kt': 3, 'out': 256, 's': 2},
  {'class': 'Conv3DKXBNRELU', 'in': 256, 'k': 1, 'kt': 1, 'out': 512, 's': 1}]],
  'space_arch': 'Cnn3DNet'}
"""


def test_parse_official_e3d_s_equals_preset():
    spec = parse_structure(E3D_S_TXT, name="e3d-s", frames=13, size=160)
    assert spec == PRESETS["e3d-s"]


@given(arch_specs())
@settings(max_examples=100, deadline=None)
def test_format_parse_round_trip(spec):
    spec = dataclasses.replace(spec, stem=dataclasses.replace(spec.stem, temporal_kernel=0))
    back = parse_structure(format_structure(spec), name=spec.name, frames=spec.frames, size=spec.size,
                           se_ratio=spec.se_ratio, se_every=spec.se_every, act=spec.act)
    assert dataclasses.replace(back, num_classes=spec.num_classes,
                               head=dataclasses.replace(back.head, fc_channels=spec.head.fc_channels)) == spec


@pytest.mark.parametrize("text, message", [
    ("{'best_structures': [[", "Python literal expected"),
    ("{'structures': []}", "missing key 'best_structures'"),
    ("[{'class': 'Conv3DKXBNRELU', 'in': 3, 'k': 3, 'kt': 1, 'out': 24, 's': 2}]", "at least 3 blocks"),
    (E3D_S_TXT.replace("'in': 48,", "'in': 40,"), "block 3 has 'in'=40 but the previous block outputs 48"),
    (E3D_S_TXT.replace("'btn': 96, ", ""), "block 2 .* has no 'btn'"),
    (E3D_S_TXT.replace("'k': 5, 'kt': 1", "'k': 4, 'kt': 1"), r"stages\[0\].k must be odd"),
    (E3D_S_TXT.replace("'L': 3, 'btn': 32, 'class': 'SuperRes3DK1DWK1'", "'L': 3, 'btn': 32, 'class': 'Foo'"),
     "only SuperRes3DK1DWK1"),
])
def test_malformed_structures_raise_one_clear_error(text, message):
    with pytest.raises(SpecError, match=message):
        parse_structure(text)


def test_x3d_stem_cannot_be_exported():
    with pytest.raises(SpecError, match="temporal conv"):
        format_structure(PRESETS["x3d-s"])
    assert isinstance(PRESETS["e3d-s"].stem, StemSpec)


def test_load_arch_sources(tmp_path):
    assert load_arch("E3D-S") == PRESETS["e3d-s"]
    assert load_arch("x3d-s", size=112).size == 112
    (tmp_path / "a.json").write_text(PRESETS["x3d-m"].to_json())
    assert load_arch(tmp_path / "a.json") == PRESETS["x3d-m"]
    (tmp_path / "E3D_S.txt").write_text(E3D_S_TXT)
    spec = load_arch(tmp_path / "E3D_S.txt", frames=16)
    assert (spec.name, spec.frames, spec.size) == ("E3D_S", 16, 160)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        load_arch(tmp_path / "missing.txt")
    (tmp_path / "bad.json").write_text('{"name": 1}')
    with pytest.raises(SpecError, match="bad.json"):
        load_arch(tmp_path / "bad.json")
    with pytest.raises(SpecError, match="unknown architecture 'nope'"):
        load_arch("nope")


def test_hostile_architecture_files_are_one_line_errors(tmp_path, capsys):
    from e3dlib.cli import main

    base = '{"name": "x", "frames": 8, "size": 40, "stem": {"out_channels": 8}, "head": {"conv_channels": 8}, '
    files = {"deep.json": "[" * 100_000, "huge.json": base + '"stages": [{"out_channels": 8, "bottleneck": 16, '
             '"kt": 3, "k": 3, "stride": 2, "depth": 100000000000000000000000000000}]}',
             "deep.txt": "[" * 100_000}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        assert main(["score", "--arch-file", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert name in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
