"""One corpus of hostile and broken inputs across every command: each is exit code 2 (130 when interrupted), a single
line on stderr that names the file or option, and never a traceback. The per-module tests pin the finer behaviour
(resume refusals, checkpoint formats); this file is the list a new kind of bad input is added to."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from e3dlib.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "binary.json").write_bytes(b"\x00\x01\xff garbage")
    (d / "truncated.json").write_text('{"name": "x", "stem": {"out_channels": 24')
    (d / "list.json").write_text("[1, 2, 3]")
    (d / "wrong-type.json").write_text('{"name": "x", "stem": 5, "stages": []}')
    (d / "deep.json").write_text("[" * 5000 + "]" * 5000)
    (d / "junk.txt").write_text("not a structure file")
    (d / "a-file").write_text("x")
    motion = d / "motion"
    assert main(["data", "generate", "motion", "--out", str(motion), "--videos", "8", "--workers", "1", "--quiet",
                 "--set", "frames=8", "--set", "height=32", "--set", "width=32"]) == 0
    broken = d / "broken"  # every video of the training split unreadable
    assert main(["data", "generate", "motion", "--out", str(broken), "--videos", "8", "--workers", "1", "--quiet",
                 "--set", "frames=8", "--set", "height=32", "--set", "width=32"]) == 0
    for v in (broken / "20bn-something-something-v2").iterdir():
        v.write_bytes(b"not a video")
    return d


SMALL = ["--frames", "4", "--size", "24", "--epochs", "1", "--batch-size", "4", "--no-progress"]
CASES = [
    # architecture files of any shape, through score, search and train
    (["score", "--arch-file", "{d}/binary.json"], "binary.json: not a text file"),
    (["score", "--arch-file", "{d}/truncated.json"], "truncated.json: malformed JSON"),
    (["score", "--arch-file", "{d}/list.json"], "list.json: an architecture must be a JSON object"),
    (["score", "--arch-file", "{d}/wrong-type.json"], "wrong-type.json: stem must be an object"),
    (["score", "--arch-file", "{d}/deep.json"], "deep.json: malformed JSON: nested too deeply"),
    (["score", "--arch-file", "{d}/junk.txt"], "junk.txt: not a TinyNAS structure"),
    (["score", "--arch-file", "{d}"], "no such file"),
    (["score", "--arch", "nope"], "unknown architecture 'nope'"),
    (["score", "--arch", "x3d-s", "--size", "0"], "size must be in 1..100000, got 0"),
    (["search", "--budget-flops", "1e9", "--initial", "{d}/list.json", "--out", "{tmp}/s"], "list.json"),
    (["train", "--arch", "{d}/deep.json", "--data", "motion:{d}/motion", "--out", "{tmp}/t"], "deep.json"),
    # search options and --out
    (["search", "--budget-flops", "1e9", "--iterations", "0", "--out", "{tmp}/s"], "--iterations 0: must be >= 1"),
    (["search", "--budget-flops", "nan", "--out", "{tmp}/s"], "--budget-flops nan"),
    (["search", "--budget-params", "inf", "--out", "{tmp}/s"], "--budget-params inf"),
    (["search", "--budget-flops", "1e9", "--population", "0", "--out", "{tmp}/s"], "--population 0"),
    (["search", "--budget-flops", "1e9", "--kernels", "abc", "--out", "{tmp}/s"], "--kernels"),
    (["search", "--budget-flops", "1e9", "--score", "zen", "--proxy-input", "0", "32", "--out", "{tmp}/s"],
     "--proxy-input 0 32"),
    (["search", "--budget-flops", "1e9", "--iterations", "5", "--out", "{d}/a-file"], "a-file is a file"),
    # data commands
    (["data", "generate", "motion", "--out", "{d}/a-file", "--videos", "2"], "a-file is a file"),
    (["data", "generate", "motion", "--out", "{tmp}/g", "--videos", "0"], "--videos"),
    (["data", "generate", "motion", "--out", "{tmp}/g", "--videos", "2", "--set", "noise=nan"], "noise"),
    (["data", "generate", "motion", "--out", "{tmp}/g", "--videos", "2", "--set", "nokey=3"], "no setting 'nokey'"),
    (["data", "inspect", "nope:{d}"], "bad data source 'nope:"),
    (["data", "inspect", "motion:{d}/missing"], "missing"),
    # train and evaluate options, checked before any work
    (["train", "--arch", "e3d-initial", "--data", "motion:{d}/motion", "--out", "{tmp}/t", "--cache-dir",
      "{d}/a-file", *SMALL], "--cache-dir"),
    (["train", "--arch", "e3d-initial", "--data", "motion:{d}/motion", "--out", "{tmp}/t", "--lr", "nan"],
     "--lr nan: must be a finite number > 0"),
    (["train", "--arch", "e3d-initial", "--data", "motion:{d}/motion", "--out", "{d}/a-file"], "a-file is a file"),
    (["train", "--arch", "e3d-initial", "--data", "motion:{d}/broken", "--out", "{tmp}/t", "--workers", "1", *SMALL],
     "none of the"),
    (["train", "--data", "ssv2:/does/not/exist", "--out", "{tmp}/t"], "is not a directory"),
    (["train", "--recipe", "nope", "--out", "{tmp}/t"], "invalid choice"),
    (["train", "--lr", "-0.1", "--out", "{tmp}/t"], "--lr -0.1: must be a finite number > 0"),
    (["train", "--epochs", "0", "--out", "{tmp}/t"], "--epochs 0: must be a finite number >= 1"),
    (["train", "--batch-size", "0", "--out", "{tmp}/t"], "--batch-size 0"),
    (["train", "--weight-decay", "inf", "--out", "{tmp}/t"], "--weight-decay inf"),
    (["train", "--dropout", "1.5", "--out", "{tmp}/t"], "--dropout 1.5: must be a finite number >= 0 and < 1"),
    (["train", "--eval-views", "0x1", "--out", "{tmp}/t"], "--eval-views '0x1'"),
    (["train", "--device", "gpu", "--out", "{tmp}/t"], "--device 'gpu'"),
    (["train", "--workers", "-1", "--out", "{tmp}/t"], "--workers -1"),
    (["train", "--bf16", "maybe", "--out", "{tmp}/t"], "--bf16: expected true or false, got 'maybe'"),
    (["evaluate", "--checkpoint", "{d}/binary.json"], "binary.json: not a readable checkpoint"),
    (["evaluate", "--checkpoint", "{d}/missing.pt"], "no such checkpoint"),
    (["evaluate", "--checkpoint", "{tmp}/x.pt", "--batch-size", "0"], "--batch-size 0: must be >= 1"),
    (["evaluate", "--checkpoint", "{tmp}/x.pt", "--views", "0x1"], "views"),
    (["evaluate", "--checkpoint", "{tmp}/x.pt", "--device", "tpu"], "--device 'tpu'"),
]
NO_CUDA = [
    (["train", "--arch", "e3d-initial", "--data", "motion:{d}/motion", "--out", "{tmp}/t", "--device", "cuda"],
     "--device cuda given but no CUDA device is visible"),
    (["evaluate", "--checkpoint", "{d}/binary.json", "--device", "cuda:1"], "--device cuda:1 given but no CUDA"),
    (["latency", "--arch", "e3d-s", "--device", "cuda"], "--device cuda given but no CUDA device is visible"),
]


def _one_line(args, files, tmp_path, capsys) -> str:
    code = main([a.replace("{d}", str(files)).replace("{tmp}", str(tmp_path)) for a in args])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a[:2]) + f" [{i}]" for i, (a, _) in enumerate(CASES)])
def test_bad_input_is_one_line_and_exit_2(args, message, files, tmp_path, capsys):
    assert message.replace("{d}", str(files)) in _one_line(args, files, tmp_path, capsys)
    assert not (files / "a-file").is_dir() and (files / "a-file").read_text() == "x"  # never written into


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
@pytest.mark.parametrize("args, message", NO_CUDA)
def test_an_unavailable_device_is_named_before_any_file_is_read(args, message, files, tmp_path, capsys):
    assert message in _one_line(args, files, tmp_path, capsys)


def test_interrupted_data_generation_exits_130_with_one_line(tmp_path):
    code = "import sys; from e3dlib.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["data", "generate", "motion", "--out", str(tmp_path / "g"), "--videos", "2000", "--workers", "1", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    manifest = tmp_path / "g" / "e3d-synthetic.json"
    deadline = time.monotonic() + 60
    while not manifest.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1].strip()
    assert proc.returncode == 130
    assert err.splitlines() == ["e3dlib data: interrupted; rerun the same command to continue (finished clips are "
                                "kept)"]
    assert json.loads(manifest.read_text())["kind"] == "motion"  # the run can resume
