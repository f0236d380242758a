"""Inference latency of E3D vs X3D at equal FLOPs on this machine: E3D-S vs X3D-S at their published input
(13x160^2 for both), batch 1 and 8, 1 and all threads, eager vs TorchScript, channels-last-3d off/on; the E3D/X3D
ratio of each setting is measured in this one run (same process, one net after the other). Run it on an idle
machine.

Usage: python benchmarks/latency.py [--quick] [--device cuda] [--dtype bfloat16]
    --quick: 4x64^2 input, batch 1, 3 repeats (a smoke run); --device and --dtype go to `e3dlib latency` as given
    (on a GPU, --threads only sets the CPU threads beside it).
"""

from __future__ import annotations

import sys

from e3dlib.cli import main

if __name__ == "__main__":
    given = sys.argv[1:]
    quick = "--quick" in given
    passed = [a for a in given if a != "--quick"]
    args = ["latency", "--arch", "e3d-s", "--arch", "x3d-s"]
    args += ["--frames", "4", "--size", "64", "--batch", "1", "--repeats", "3"] if quick else ["--repeats", "10"]
    sys.exit(main(args + passed))
