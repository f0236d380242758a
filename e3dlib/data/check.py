"""`inspect`: what a source holds, split by split, and which videos cannot be read (and why).

Every checked video is decoded in full (the only way to find truncated files and to count WebM frames), in
`workers` processes; `limit` checks an evenly spaced sample of each split instead of all of it.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections import Counter

import numpy as np
from tqdm import tqdm

from .layouts import available_splits, canonical_split, load_annotations, parse_source
from .video import VideoDecodeError, probe

MAX_EXAMPLES = 5


def _check(path: str) -> tuple[str, str | None, tuple[int, int, int] | None]:
    try:
        return path, None, probe(path)
    except VideoDecodeError as e:
        return path, str(e), None


def inspect_source(source: str, splits: list[str] | None = None, limit: int | None = None, workers: int = 2,
                   progress: bool | None = None) -> dict:
    """{"source", "kind", "root", "classes", "direction_pairs", "splits": {split: {"videos", "decodable",
    "skipped", "missing", "duplicates", "checked", "classes", "reasons", "frames", "resolutions", "examples"}}}."""
    src = parse_source(source)
    names = [canonical_split(s) for s in splits] if splits else available_splits(src)
    report: dict = {"source": source, "kind": src.kind, "root": str(src.root), "classes": 0, "direction_pairs": 0,
                    "splits": {}}
    pool = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else None).Pool(workers) \
        if workers > 1 else None
    try:
        for split in names:
            ann = load_annotations(src, split)
            report["classes"] = len(ann.classes)
            report["direction_pairs"] = len(ann.flip_pairs) // 2
            recs = ann.records
            if limit is not None and limit < len(recs):
                recs = tuple(recs[i] for i in np.unique(np.linspace(0, len(recs) - 1, limit).round().astype(int)))
            paths = [r.path for r in recs]
            results = pool.imap(_check, paths, chunksize=8) if pool else map(_check, paths)
            results = list(tqdm(results, total=len(paths), desc=f"{src.kind} {split}", unit="video",
                                file=sys.stderr, disable=None if progress is None else not progress))
            report["splits"][split] = _summary(ann, recs, results)
    finally:
        if pool is not None:
            pool.terminate()
    return report


def _summary(ann, recs, results: list) -> dict:
    reasons = Counter({"missing file": len(ann.missing)} if ann.missing else {})
    examples = [{"id": i, "reason": "missing file"} for i in ann.missing[:MAX_EXAMPLES]]
    frames, sizes = [], Counter()
    for path, reason, shape in results:
        if reason is not None:
            reasons[reason] += 1
            if len(examples) < 2 * MAX_EXAMPLES:
                examples.append({"path": path, "reason": reason})
            continue
        frames.append(shape[0])
        sizes[f"{shape[2]}x{shape[1]}"] += 1
    decodable = len(frames)
    return {"videos": len(ann.records) + len(ann.missing), "checked": len(recs), "decodable": decodable,
            "skipped": len(recs) - decodable + len(ann.missing), "missing": len(ann.missing),
            "duplicates": len(ann.duplicates),
            "classes": len({r.label for r in ann.records} - {-1}),
            "reasons": dict(reasons.most_common()),
            "frames": ({"min": int(min(frames)), "mean": round(float(np.mean(frames)), 1), "max": int(max(frames))}
                       if frames else None),
            "resolutions": dict(sizes.most_common(5)), "examples": examples}


def format_report(r: dict) -> str:
    """The report as a table for people."""
    lines = [f"{r['source']}  ({r['kind']} at {r['root']}: {r.get('classes', 0)} classes, "
             f"{r.get('direction_pairs', 0)} left/right class pairs)",
             f"{'split':<7}{'videos':>8}{'checked':>9}{'decodable':>11}{'skipped':>9}{'classes':>9}"
             f"{'frames min/mean/max':>22}  resolutions"]
    for name, s in r["splits"].items():
        fr = s["frames"]
        frames = f"{fr['min']}/{fr['mean']}/{fr['max']}" if fr else "-"
        res = ", ".join(f"{k} ({v})" for k, v in s["resolutions"].items()) or "-"
        lines.append(f"{name:<7}{s['videos']:>8}{s['checked']:>9}{s['decodable']:>11}{s['skipped']:>9}"
                     f"{s['classes']:>9}{frames:>22}  {res}")
        if s.get("duplicates"):
            lines.append(f"{'':7}{s['duplicates']} id(s) listed more than once: each loaded once")
        for reason, n in s["reasons"].items():
            lines.append(f"{'':7}skipped {n}: {reason}")
        for ex in s["examples"]:
            lines.append(f"{'':9}e.g. {ex.get('path', ex.get('id'))}: {ex['reason']}")
    return "\n".join(lines)
