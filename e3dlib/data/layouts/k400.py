"""Kinetics-400: ROOT/{train,val,test}.csv (header label,youtube_id,time_start,time_end,split; test may lack label);
clips <youtube_id>_<start:06d>_<end:06d>.<ext> anywhere under ROOT (flat, <split>/ or <split>/<label>/);
classes = sorted labels of train.csv."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .annotations import VIDEO_EXTS, Annotations, DataError, VideoRecord, canonical_split

K400_HEADER = ("label", "youtube_id", "time_start", "time_end", "split")


def k400_stem(youtube_id: str, start: int, end: int) -> str:
    """A Kinetics clip's file name without extension: `<youtube_id>_<start:06d>_<end:06d>`."""
    return f"{youtube_id}_{start:06d}_{end:06d}"


def k400_has_split(root: Path, split: str) -> bool:
    """Whether the CSV of `split` ("train", "val" or "test"; val also as validation.csv) exists."""
    return (root / f"{split}.csv").is_file() or (split == "val" and (root / "validation.csv").is_file())


def _k400_csv(root: Path, split: str) -> Path:
    p = root / f"{split}.csv"
    if split == "val" and not p.is_file() and (root / "validation.csv").is_file():
        p = root / "validation.csv"
    if not p.is_file():
        raise DataError(f"missing annotation file {p}")
    return p


def _k400_rows(path: Path) -> list[tuple[int, str | None, str, int, int]]:
    """(line, label or None, youtube_id, start, end) per row of a Kinetics CSV."""
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}:1: empty file, expected header {','.join(K400_HEADER)}")
            header = [h.strip() for h in header]
            need = [c for c in K400_HEADER[1:4] if c not in header]
            if need:
                raise DataError(f"{path}:1: header lacks column(s) {', '.join(need)} "
                                f"(expected {','.join(K400_HEADER)})")
            col = {h: i for i, h in enumerate(header)}
            for row in reader:
                no = reader.line_num
                if not row or not any(x.strip() for x in row):
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}:{no}: expected {len(header)} fields, got {len(row)}")
                try:
                    start, end = int(float(row[col["time_start"]])), int(float(row[col["time_end"]]))
                except (ValueError, OverflowError):  # OverflowError: inf
                    raise DataError(f"{path}:{no}: time_start/time_end must be finite numbers") from None
                if not 0 <= start <= end:
                    raise DataError(f"{path}:{no}: need 0 <= time_start <= time_end, got {start} and {end}")
                label = row[col["label"]].strip() if "label" in col else None
                rows.append((no, label or None, row[col["youtube_id"]].strip(), start, end))
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: malformed CSV ({e})") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return rows


def _video_index(root: Path) -> dict[str, list[Path]]:
    """stem -> paths of every video file under root."""
    index: dict[str, list[Path]] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            stem, ext = os.path.splitext(name)
            if ext.lower() in VIDEO_EXTS:
                index.setdefault(stem, []).append(Path(dirpath) / name)
    return index


def read_k400(root: Path, split: str) -> Annotations:
    """One split of a Kinetics-400 root; classes: the sorted labels of train.csv (if absent, of the split's CSV)."""
    ann_path = _k400_csv(root, split)
    rows = _k400_rows(ann_path)
    train_csv = root / "train.csv"
    if train_csv.is_file():
        names = {r[1] for r in (rows if split == "train" else _k400_rows(train_csv)) if r[1]}
        where = train_csv.name
    else:
        names = {r[1] for r in rows if r[1]}
        where = ann_path.name
    classes = tuple(sorted(names))
    index = {c: i for i, c in enumerate(classes)}
    videos = _video_index(root)
    records, missing = [], []
    for no, name, yid, start, end in rows:
        if name is not None and name not in index:
            raise DataError(f"{ann_path}:{no}: unknown label {name!r} (not in {where})")
        if name is None and split != "test":
            raise DataError(f"{ann_path}:{no}: empty label")
        stem = k400_stem(yid, start, end)
        paths = videos.get(stem, [])
        if len(paths) > 1:  # the same clip in several folders: prefer the one under this split's folder
            paths = [p for p in paths if split in p.relative_to(root).parts] or paths
        if paths:
            records.append(VideoRecord(str(paths[0]), -1 if name is None else index[name], stem))
        else:
            missing.append(stem)
    return Annotations("k400", str(root), split, classes, tuple(records), tuple(missing))


def write_k400(root: str | Path, classes: list[str], splits: dict[str, list[tuple[str, int, int, int]]]) -> None:
    """Write {split}.csv files; `splits` maps split -> [(youtube_id, label, time_start, time_end)]."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        split = canonical_split(split)
        tmp = root / f".{split}.csv.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(K400_HEADER)
            for yid, y, start, end in rows:
                w.writerow([classes[y], yid, start, end, split])
        os.replace(tmp, root / f"{split}.csv")
