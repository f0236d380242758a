import argparse
import json
import subprocess
import sys

import pytest

from e3dlib.archfile import format_structure
from e3dlib.cli import main
from e3dlib.presets import PRESETS

KEYS = {"name", "frames", "size", "flops_macs", "flops_tinynas", "params", "layers", "homo_entr", "st_entr"}


def test_score_json_x3d_s(capsys):
    assert main(["score", "--arch", "x3d-s", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert KEYS <= set(row)
    assert round(row["flops_macs"] / 1e9, 2) == 1.96
    assert row["params"] == 3794322  # every parameter, BN included
    assert (row["frames"], row["size"], row["layers"]) == (13, 160, 81)


def test_score_keeps_input_order_and_variant(tmp_path, capsys):
    files = []
    for name in ("e3d-l", "e3d-s"):
        p = tmp_path / f"{name}.txt"
        p.write_text(format_structure(PRESETS[name]))
        files.append(str(p))
    assert main(["score", "--arch", "x3d-m", "--arch-file", *files, "--arch", "e3d-m", "--json",
                 "--variant", "tinynas", "--size", "224", "--frames", "16"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == ["x3d-m", "e3d-l", "e3d-s", "e3d-m"]
    assert all(r["variant"] == "tinynas" and r["size"] == 224 for r in rows)


def test_score_table_for_people(capsys):
    assert main(["score", "--arch", "e3d-s"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "STEntr" in out[0] and out[1].startswith("e3d-s")


@pytest.mark.parametrize("args, message", [
    (["score"], "give --arch"),
    (["score", "--arch", "resnet"], "unknown architecture 'resnet'"),
    (["score", "--arch-file", "does/not/exist.json"], "does/not/exist.json: no such file"),
    (["score", "--arch", "e3d-s", "--variant", "x"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_module_entry_point_bad_file(tmp_path):
    bad = tmp_path / "broken.txt"
    bad.write_text("{'best_structures': [[{'class': 'Conv3DKXBNRELU'")
    r = subprocess.run([sys.executable, "-m", "e3dlib", "score", "--arch-file", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "broken.txt" in r.stderr and "Traceback" not in r.stderr


def _subparsers(parser, prefix=""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from _subparsers(sub, f"{prefix}{name} ")


def test_every_option_of_every_command_says_what_it_does_and_its_default():
    from e3dlib.cli import build_parser

    missing = []
    for name, sub in _subparsers(build_parser()):
        for a in sub._actions:
            if a.dest == "help" or isinstance(a, argparse._SubParsersAction):
                continue
            text = a.help or ""
            # every option that takes a value and may be left out says what leaving it out means
            takes_value = a.option_strings and a.nargs != 0 and not a.required
            if not text or (takes_value and "default" not in text):
                missing.append(f"{name} {(a.option_strings or [a.dest])[0]}")
    assert not missing, missing
