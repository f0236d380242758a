"""Something-Something V2: ROOT/20bn-something-something-v2/<id>.webm, something-something-v2-labels.json
({"<class>": "<index>", ...}), something-something-v2-{train,validation}.json ([{"id", "label", "template",
"placeholders"}]; class = template without brackets), -test.json ([{"id"}]); the official `labels/{labels,train,
validation,test}.json` names are accepted too."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .annotations import VIDEO_EXTS, Annotations, DataError, VideoRecord, atomic_write, canonical_split

SSV2_DIR = "20bn-something-something-v2"
_SSV2_NAMES = {"labels": ("something-something-v2-labels.json", "labels/labels.json"),
               "train": ("something-something-v2-train.json", "labels/train.json"),
               "val": ("something-something-v2-validation.json", "labels/validation.json"),
               "test": ("something-something-v2-test.json", "labels/test.json")}


def _ssv2_file(root: Path, key: str) -> Path | None:
    for name in _SSV2_NAMES[key]:
        if (root / name).is_file():
            return root / name
    return None


def ssv2_has_split(root: Path, split: str) -> bool:
    """Whether an annotation file of `split` ("train", "val" or "test") exists, under either name."""
    return _ssv2_file(root, split) is not None


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


def _ssv2_classes(root: Path) -> tuple[dict, Path | None, tuple[str, ...]]:
    """The labels file's {class: index} object, its path and the classes in index order."""
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
    return labels, lab_path, tuple(by_index[i] for i in range(len(labels)))


def read_ssv2(root: Path, split: str) -> Annotations:
    """One split of a Something-Something V2 root (labels and split JSON files, one video file per id)."""
    labels, lab_path, classes = _ssv2_classes(root)
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
    atomic_write(root / _SSV2_NAMES["labels"][0],
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
        atomic_write(root / _SSV2_NAMES[split][0], json.dumps(items) + "\n")
