import dataclasses
import json

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


def _scores(capsys, *argv):
    from e3dlib.cli import main

    capsys.readouterr()
    assert main(["score", *argv, "--json"]) == 0
    return [{k: v for k, v in json.loads(line).items() if k != "name"} for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("arch, fmt, suffix", [("e3d-s", "tinynas", ".txt"), ("e3d-m", "tinynas", ".txt"),
                                               ("x3d-s", "json", ".json"), ("e3d-l", "json", ".json")])
def test_export_arch_then_score_gives_the_same_numbers(arch, fmt, suffix, tmp_path, capsys):
    from e3dlib.cli import main

    out = tmp_path / f"net{suffix}"
    assert main(["export-arch", arch, "--format", fmt, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    spec = PRESETS[arch]
    size = ["--frames", str(spec.frames), "--size", str(spec.size)]
    if fmt == "tinynas" and (spec.frames, spec.size) != (13, 160):
        assert " ".join(size) in said  # the file holds no input size: the message says how to read it
    assert _scores(capsys, "--arch-file", str(out), *size) == _scores(capsys, "--arch", arch)
    again = tmp_path / f"again{'.json' if fmt == 'tinynas' else '.txt'}"  # and back into the other format
    other = "json" if fmt == "tinynas" else "tinynas"
    if arch.startswith("x3d"):  # X3D's temporal stem conv has no TinyNAS block
        assert main(["export-arch", str(out), "--format", other, "--out", str(again)]) == 2
        assert "stem temporal conv" in capsys.readouterr().err
        return
    assert main(["export-arch", str(out), *size, "--format", other, "--out", str(again)]) == 0
    assert _scores(capsys, "--arch-file", str(again), *size) == _scores(capsys, "--arch", arch)


def test_export_arch_refuses_what_a_file_would_not_read_back(tmp_path, capsys):
    from dataclasses import replace

    from e3dlib.cli import main

    custom = tmp_path / "custom.json"
    custom.write_text(replace(PRESETS["e3d-s"], se_ratio=0.25, act="swish").to_json())
    for argv, message in (([str(custom), "--format", "tinynas"], "cannot hold its se_ratio 0.25, act swish"),
                          (["e3d-s", "--format", "json", "--out", str(tmp_path / "a.txt")], "end in .json"),
                          (["e3d-s", "--format", "tinynas", "--out", str(tmp_path / "a.json")], "end in .json"),
                          (["nope"], "nope")):
        assert main(["export-arch", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("a.*"))
    assert main(["export-arch", "e3d-s"]) == 0  # no --out: the JSON spec on stdout
    (tmp_path / "s.json").write_text(capsys.readouterr().out)
    assert load_arch(tmp_path / "s.json") == PRESETS["e3d-s"]
