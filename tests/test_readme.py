"""README's command blocks, run at smoke size: a user following the README gets exit code 0 from every command.

Every ```bash block of README.md is preceded by one of two HTML comments (invisible when rendered):

    <!-- smoke -->                                          run as written
    <!-- smoke: "OLD" -> "NEW"; "OLD2" -> "NEW2" -->        run with each OLD text replaced by NEW (smaller sizes)
    <!-- no smoke: why -->                                  not run (external data, torchrun, GPUs, the whole suite)

The tagged blocks run in README order, in one temporary folder (later blocks use what earlier ones wrote, as a
reader's session would), with `.venv/bin/python` replaced by this interpreter and this checkout first on the path.
Each OLD must occur in its block, so an override cannot go stale silently.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TAGGED = 5  # README blocks run here; a dropped or added tag changes the count
TAG = re.compile(r"<!--\s*(no smoke|smoke)\s*(?::(.*?))?-->\s*\n```bash\n(.*?)```", re.S)
OVERRIDE = re.compile(r'"([^"]+)"\s*->\s*"([^"]*)"')


def readme_blocks(text: str) -> list[tuple[bool, str, list[tuple[str, str]]]]:
    """(tagged smoke?, the block's text, its overrides) for every ```bash block; each must carry a tag."""
    blocks = [(m.group(1) == "smoke", m.group(3), OVERRIDE.findall(m.group(2) or "")) for m in TAG.finditer(text)]
    assert len(blocks) == text.count("```bash"), "a ```bash block of README.md has no <!-- smoke --> or " \
                                                 "<!-- no smoke: why --> line right above it"
    return blocks


def commands(block: str, overrides: list[tuple[str, str]]) -> list[list[str]]:
    """The block's commands (continuation lines joined, comments dropped) after its overrides."""
    for old, new in overrides:
        assert old in block, f"override {old!r} does not occur in its README block"
        block = block.replace(old, new)
    lines = block.replace("\\\n", " ").splitlines()
    return [words for words in (shlex.split(line, comments=True) for line in lines) if words]


def test_the_parser_reads_tags_overrides_and_continuations():
    text = ('<!-- smoke: "--n 100" -> "--n 2" -->\n```bash\n.venv/bin/python -m x --n 100 \\\n    --y 1   # note\n```\n'
            '<!-- no smoke: needs a GPU -->\n```bash\ntorchrun x\n```\n')
    (tagged, block, over), (untagged, _, _) = readme_blocks(text)
    assert tagged and not untagged and over == [("--n 100", "--n 2")]
    assert commands(block, over) == [[".venv/bin/python", "-m", "x", "--n", "2", "--y", "1"]]
    with pytest.raises(AssertionError, match="does not occur"):
        commands(block, [("--n 5", "--n 1")])
    with pytest.raises(AssertionError, match="has no"):
        readme_blocks(text + "```bash\nmake test\n```\n")


def test_every_tagged_readme_block_runs_at_smoke_size(tmp_path):
    blocks = [b for b in readme_blocks((ROOT / "README.md").read_text()) if b[0]]
    assert len(blocks) == TAGGED
    env = {k: v for k, v in os.environ.items() if k != "E3D_DATA_ROOT"}  # data/generated under tmp_path
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]), OMP_NUM_THREADS="1")
    for _, block, overrides in blocks:
        for words in commands(block, overrides):
            assert words[0] == ".venv/bin/python", f"a smoke block runs only .venv/bin/python commands: {words}"
            r = subprocess.run([sys.executable, *words[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=300)
            assert r.returncode == 0, f"{shlex.join(words)}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
    assert (tmp_path / "runs" / "e3d-s" / "best.pt").is_file() and (tmp_path / "test.csv").is_file()
    assert (tmp_path / "E3D_S.txt").is_file() and (tmp_path / "e3d_s.ts").is_file()
