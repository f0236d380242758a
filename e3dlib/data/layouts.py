"""Annotation layouts of the E3D paper's datasets: readers (-> `Annotations`) and writers, plus source strings.

    ssv1:ROOT    Something-Something V1: ROOT/20bn-something-something-v1/<id>/00001.jpg ... (JPEG frames),
                 something-something-v1-labels.csv (one class per line, index = line number - 1),
                 something-something-v1-{train,validation}.csv (`<id>;<class>` per line), -test.csv (`<id>`)
    ssv2:ROOT    Something-Something V2: ROOT/20bn-something-something-v2/<id>.webm,
                 something-something-v2-labels.json ({"<class>": "<index>", ...}),
                 something-something-v2-{train,validation}.json ([{"id", "label", "template", "placeholders"}];
                 class = template without brackets), -test.json ([{"id"}]); the official `labels/{labels,train,
                 validation,test}.json` names are accepted too
    k400:ROOT    Kinetics-400: ROOT/{train,val,test}.csv (header label,youtube_id,time_start,time_end,split; test may
                 lack label); clips <youtube_id>_<start:06d>_<end:06d>.<ext> anywhere under ROOT (flat, <split>/ or
                 <split>/<label>/); classes = sorted labels of train.csv
    folder:ROOT  ROOT/<split>/<class>/<video file or JPEG-frame folder>; classes = sorted class folders of all splits

`something-like`, `motion` and `kinetics-like` name generated data (`python -m e3dlib data generate`):
ssv2:DATA/something-like, ssv2:DATA/motion and k400:DATA/kinetics-like, DATA = $E3D_DATA_ROOT or data/generated;
`motion:DIR` (or any generated name followed by `:DIR`) reads a generated set at DIR. Splits are "train", "val",
"test" ("validation" is accepted). Listed videos that are not on disk are counted in `Annotations.missing`, not loaded.
Malformed or missing annotation files raise `DataError` naming the file (and line or entry).
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

KINDS = ("ssv1", "ssv2", "k400", "folder")
NAMES = {"something-like": "ssv2", "motion": "ssv2", "kinetics-like": "k400"}
SPLITS = ("train", "val", "test")
VIDEO_EXTS = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v")
FRAME_EXTS = (".jpg", ".jpeg")
K400_HEADER = ("label", "youtube_id", "time_start", "time_end", "split")
SSV1_DIR, SSV2_DIR = "20bn-something-something-v1", "20bn-something-something-v2"


class DataError(ValueError):
    """A data source or annotation file is missing or malformed; the message names the file (and line)."""


@dataclass(frozen=True)
class VideoRecord:
    """One annotated video: a video file or a folder of JPEG frames; label -1 when the split has none."""

    path: str
    label: int
    id: str


@dataclass(frozen=True)
class Annotations:
    """The videos of one split of one source; `missing` lists annotated ids whose video is not on disk."""

    kind: str
    root: str
    split: str
    classes: tuple[str, ...]
    records: tuple[VideoRecord, ...]
    missing: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    flip_pairs: dict[int, int] = field(default_factory=dict)
    directional: frozenset[int] = frozenset()

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class Source:
    """A parsed source string: its layout (`ssv1`, `ssv2`, `k400` or `folder`) and root folder."""

    kind: str
    root: Path


# --- source strings ---------------------------------------------------------------------------------------------
def data_root() -> Path:
    """Where `something-like` / `motion` / `kinetics-like` live: $E3D_DATA_ROOT, else data/generated."""
    return Path(os.environ.get("E3D_DATA_ROOT", "data/generated"))


def parse_source(text: str, root: str | Path | None = None) -> Source:
    """`ssv1:ROOT|ssv2:ROOT|k400:ROOT|folder:ROOT`, a generated name (`something-like`, `motion`,
    `kinetics-like`: under the data root) or a generated name with its folder (`motion:DIR` = `ssv2:DIR`)."""
    if text in NAMES:
        return Source(NAMES[text], Path(root) / text if root is not None else data_root() / text)
    kind, sep, path = text.partition(":")
    kind = NAMES.get(kind, kind)  # `motion:DIR`, `something-like:DIR`: a generated set at DIR, in its layout
    if not sep or kind not in KINDS or not path:
        raise DataError(f"bad data source {text!r}: expected one of {', '.join(k + ':ROOT' for k in KINDS)} "
                        f"or {' / '.join(NAMES)}")
    return Source(kind, Path(path))


def canonical_split(split: str) -> str:
    """`split` as "train", "val" or "test" ("validation" and "valid" are "val"); anything else raises `DataError`."""
    s = {"validation": "val", "valid": "val"}.get(split, split)
    if s not in SPLITS:
        raise DataError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    return s


def load_annotations(source: str | Source, split: str, root: str | Path | None = None) -> Annotations:
    """Read one split of a source (a `Source` or a source string)."""
    src = parse_source(source, root) if isinstance(source, str) else source
    split = canonical_split(split)
    check_root(src)
    reader = {"ssv1": read_ssv1, "ssv2": read_ssv2, "k400": read_k400, "folder": read_folder}[src.kind]
    ann = reader(src.root, split)
    directional, pairs = direction_pairs(ann.classes)
    seen: set[str] = set()
    records, duplicates = [], []
    for r in ann.records:  # a video listed twice is loaded once; its id is counted in `duplicates`
        if r.path in seen:
            duplicates.append(r.id)
        else:
            seen.add(r.path)
            records.append(r)
    return replace(ann, records=tuple(records), duplicates=tuple(duplicates), flip_pairs=pairs,
                   directional=directional)


def check_root(src: Source) -> None:
    """Fail unless the source's root is a directory (with a hint for the generated names)."""
    if not src.root.is_dir():
        hint = (f"; generate it with `python -m e3dlib data generate {src.root.name} --out {src.root}`"
                if src.root.name in NAMES else "")
        raise DataError(f"{src.kind} root {src.root} is not a directory{hint}")


def available_splits(src: Source) -> list[str]:
    """The splits whose annotation files (or folders) exist; DataError when there are none."""
    check_root(src)
    out = []
    for s in SPLITS:
        if src.kind == "ssv1":
            ok = (src.root / _ssv1_file(s)).is_file()
        elif src.kind == "ssv2":
            ok = _ssv2_file(src.root, s) is not None
        elif src.kind == "k400":
            ok = (src.root / f"{s}.csv").is_file() or (s == "val" and (src.root / "validation.csv").is_file())
        else:
            ok = _folder_split(src.root, s) is not None
        if ok:
            out.append(s)
    if not out:
        raise DataError(f"{src.root}: no {src.kind} annotation files or split folders (see `e3dlib.data.layouts`)")
    return out


# --- direction-dependent classes (horizontal flip) --------------------------------------------------------------
_DIR_WORDS = re.compile(r"\b(left|right|counter-?clockwise|anti-?clockwise|clockwise)\b", re.IGNORECASE)
_SWAP = {"left": "right", "right": "left", "clockwise": "counterclockwise", "counterclockwise": "clockwise"}


def _norm(name: str) -> str:
    n = re.sub(r"\b(counter-clockwise|anti-?clockwise)\b", "counterclockwise", name.lower())
    return " ".join(n.split())


def direction_pairs(classes: tuple[str, ...] | list[str]) -> tuple[frozenset[int], dict[int, int]]:
    """Classes whose meaning changes under a horizontal flip (names with left/right/clockwise/counterclockwise),
    and the pairs among them that swap into each other (e.g. "... from left to right" <-> "... from right to
    left"). Directional classes without a partner should not be flipped."""
    index = {_norm(c): i for i, c in enumerate(classes)}
    directional, pairs = set(), {}
    for i, c in enumerate(classes):
        n = _norm(c)
        if not _DIR_WORDS.search(n):
            continue
        directional.add(i)
        j = index.get(_DIR_WORDS.sub(lambda m: _SWAP[m.group(1).lower()], n))
        if j is not None and j != i:
            pairs[i] = j
    return frozenset(directional), pairs


# --- Something-Something V1 -------------------------------------------------------------------------------------
def _ssv1_file(split: str) -> str:
    return f"something-something-v1-{'validation' if split == 'val' else split}.csv"


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"missing annotation file {path}")
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_ssv1(root: Path, split: str) -> Annotations:
    """One split of a Something-Something V1 root (JPEG-frame folders); test lines carry no label (-1)."""
    lab_file = root / "something-something-v1-labels.csv"
    classes = _class_lines(lab_file)
    index = {c: i for i, c in enumerate(classes)}
    ann_file = root / _ssv1_file(split)
    frames_dir = root / SSV1_DIR
    present = set(os.listdir(frames_dir)) if frames_dir.is_dir() else set()
    records, missing = [], []
    for no, line in enumerate(_read_lines(ann_file), 1):
        if not line.strip():
            continue
        vid, sep, name = line.strip().partition(";")
        if not vid or (split != "test" and not sep):
            raise DataError(f"{ann_file}:{no}: expected '<id>;<label>', got {line!r}")
        label = -1
        if sep:
            if name not in index:
                raise DataError(f"{ann_file}:{no}: unknown label {name!r} (not in {lab_file.name})")
            label = index[name]
        if vid in present:
            records.append(VideoRecord(str(frames_dir / vid), label, vid))
        else:
            missing.append(vid)
    return Annotations("ssv1", str(root), split, classes, tuple(records), tuple(missing))


def _class_lines(path: Path) -> tuple[str, ...]:
    classes, seen = [], set()
    lines = _read_lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    for no, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            raise DataError(f"{path}:{no}: empty class name")
        if name in seen:
            raise DataError(f"{path}:{no}: duplicate class {name!r}")
        seen.add(name)
        classes.append(name)
    if not classes:
        raise DataError(f"{path}: no classes")
    return tuple(classes)


def write_ssv1(root: str | Path, classes: list[str], splits: dict[str, list[tuple[str, int]]]) -> None:
    """Write the V1 annotation files; `splits` maps split -> [(id, label)] (label ignored for test)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _atomic_write(root / "something-something-v1-labels.csv", "".join(c + "\n" for c in classes))
    for split, rows in splits.items():
        split = canonical_split(split)
        text = "".join(f"{i}\n" if split == "test" else f"{i};{classes[y]}\n" for i, y in rows)
        _atomic_write(root / _ssv1_file(split), text)


# --- Something-Something V2 -------------------------------------------------------------------------------------
_SSV2_NAMES = {"labels": ("something-something-v2-labels.json", "labels/labels.json"),
               "train": ("something-something-v2-train.json", "labels/train.json"),
               "val": ("something-something-v2-validation.json", "labels/validation.json"),
               "test": ("something-something-v2-test.json", "labels/test.json")}


def _ssv2_file(root: Path, key: str) -> Path | None:
    for name in _SSV2_NAMES[key]:
        if (root / name).is_file():
            return root / name
    return None


def _load_json(path: Path | None, what: str, root: Path):
    if path is None:
        raise DataError(f"missing annotation file {root / _SSV2_NAMES[what][0]}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: malformed JSON ({e.msg}, column {e.colno})") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def ssv2_class(template: str) -> str:
    """The class of an SSv2 entry: its template with the placeholder brackets removed."""
    return template.replace("[", "").replace("]", "")


def read_ssv2(root: Path, split: str) -> Annotations:
    """One split of a Something-Something V2 root (labels and split JSON files, one video file per id)."""
    lab_path = _ssv2_file(root, "labels")
    labels = _load_json(lab_path, "labels", root)
    if not isinstance(labels, dict) or not labels:
        raise DataError(f"{lab_path}: expected a non-empty object {{\"<class>\": \"<index>\"}}")
    try:
        by_index = {int(v): k for k, v in labels.items()}
    except (TypeError, ValueError):
        raise DataError(f"{lab_path}: class indices must be integers (as strings)") from None
    if sorted(by_index) != list(range(len(labels))):
        raise DataError(f"{lab_path}: class indices must be 0..{len(labels) - 1}, each once")
    classes = tuple(by_index[i] for i in range(len(labels)))
    ann_path = _ssv2_file(root, split)
    entries = _load_json(ann_path, split, root)
    if not isinstance(entries, list):
        raise DataError(f"{ann_path}: expected a list of entries")
    video_dir = root / SSV2_DIR
    files = {}
    if video_dir.is_dir():
        for name in os.listdir(video_dir):
            stem, ext = os.path.splitext(name)
            if ext.lower() in VIDEO_EXTS:
                files[stem] = name
    records, missing = [], []
    for n, e in enumerate(entries):
        if not isinstance(e, dict) or "id" not in e:
            raise DataError(f"{ann_path}: entry {n}: expected an object with an 'id'")
        vid = str(e["id"])
        label = -1
        if split != "test":
            if not isinstance(e.get("template"), str):
                raise DataError(f"{ann_path}: entry {n} (id {vid}): missing 'template'")
            name = ssv2_class(e["template"])
            if name not in labels:
                raise DataError(f"{ann_path}: entry {n} (id {vid}): class {name!r} not in {lab_path.name}")
            label = int(labels[name])
        if vid in files:
            records.append(VideoRecord(str(video_dir / files[vid]), label, vid))
        else:
            missing.append(vid)
    return Annotations("ssv2", str(root), split, classes, tuple(records), tuple(missing))


def write_ssv2(root: str | Path, classes: list[str], splits: dict[str, list[tuple[str, int, list[str]]]]) -> None:
    """Write the V2 annotation files; `splits` maps split -> [(id, label, placeholders)]; the class names are
    the templates without brackets, so every "something" in a class name is a template placeholder."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _atomic_write(root / _SSV2_NAMES["labels"][0],
                  json.dumps({c: str(i) for i, c in enumerate(classes)}, indent=1) + "\n")
    for split, rows in splits.items():
        split = canonical_split(split)
        if split == "test":
            items = [{"id": i} for i, _, _ in rows]
        else:
            items = []
            for i, y, ph in rows:
                template = re.sub(r"\bsomething\b", lambda m: f"[{m.group(0)}]", classes[y], flags=re.IGNORECASE)
                filled = template
                for p in ph:
                    filled = re.sub(r"\[[^\]]*\]", lambda _m, p=p: p, filled, count=1)
                items.append({"id": i, "label": filled, "template": template, "placeholders": list(ph)})
        _atomic_write(root / _SSV2_NAMES[split][0], json.dumps(items) + "\n")


# --- Kinetics-400 -----------------------------------------------------------------------------------------------
def k400_stem(youtube_id: str, start: int, end: int) -> str:
    """A Kinetics clip's file name without extension: `<youtube_id>_<start:06d>_<end:06d>`."""
    return f"{youtube_id}_{start:06d}_{end:06d}"


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


# --- plain folder-per-class ---------------------------------------------------------------------------------------
def _folder_split(root: Path, split: str) -> Path | None:
    for name in (split, "validation") if split == "val" else (split,):
        if (root / name).is_dir():
            return root / name
    return None


def read_folder(root: Path, split: str) -> Annotations:
    """One split of a `ROOT/<split>/<class>/<video or frame folder>` tree; classes: the class folders of all splits."""
    split_dir = _folder_split(root, split)
    if split_dir is None:
        raise DataError(f"missing split folder {root / split}")
    names = set()
    for s in SPLITS:
        d = _folder_split(root, s)
        if d is not None:
            names.update(p.name for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
    classes = tuple(sorted(names))
    records = []
    for y, name in enumerate(classes):
        d = split_dir / name
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.name.startswith("."):
                continue
            if p.suffix.lower() in VIDEO_EXTS or (p.is_dir() and any(p.glob("*.jp*g"))):
                records.append(VideoRecord(str(p), y, f"{name}/{p.stem}"))
    if not classes:
        raise DataError(f"{split_dir}: no class folders")
    return Annotations("folder", str(root), split, classes, tuple(records))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
