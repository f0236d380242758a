"""Speed of the analytic cost/score functions on E3D-S (target: < 50 us per score) and of the CLI on many files.

Prints the measured figures and the ratio to the target from this one run. Usage: python benchmarks/score_speed.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from e3dlib import PRESETS, homo_entr, macs, params, st_entr, tinynas_flops
from e3dlib.archfile import format_structure

TARGET_US = 50.0


def per_call_us(fn, n: int = 20000) -> float:
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6


def main() -> None:
    spec = PRESETS["e3d-s"]
    rows = {
        "st_entr (paper)": lambda: st_entr(spec),
        "st_entr (tinynas)": lambda: st_entr(spec, "tinynas"),
        "homo_entr": lambda: homo_entr(spec),
        "flops (tinynas)": lambda: tinynas_flops(spec),
        "macs": lambda: macs(spec),
        "params": lambda: params(spec),
    }
    print(f"E3D-S ({sum(s.depth for s in spec.stages)} blocks), best of 5 x 20000 calls")
    for name, fn in rows.items():
        us = per_call_us(fn)
        print(f"  {name:<20} {us:7.2f} us/call   target {TARGET_US:.0f} us -> {TARGET_US / us:5.1f}x under")
    with tempfile.TemporaryDirectory() as d:
        files = []
        for i in range(300):
            p = Path(d) / f"arch{i:03d}.txt"
            p.write_text(format_structure(PRESETS[("e3d-s", "e3d-m", "e3d-l")[i % 3]]))
            files.append(str(p))
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "e3dlib", "score", "--json", "--arch-file", *files],
                           capture_output=True, text=True, check=True)
        dt = time.perf_counter() - t
    print(f"CLI: scored {len(r.stdout.splitlines())} TinyNAS files in one call in {dt:.2f} s "
          f"({dt / len(files) * 1e3:.2f} ms per file, interpreter start included)")


if __name__ == "__main__":
    main()
