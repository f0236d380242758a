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

* `annotations` -- `DataError`, `VideoRecord`, `Annotations`, splits, `direction_pairs` (what every reader shares);
* `ssv1`, `ssv2`, `k400`, `folder` -- one layout each: its reader, its writer (not for folder), its file names;
* `sources` -- source strings (`Source`, `parse_source`), `available_splits` and `load_annotations`.
"""

from .annotations import (
    FRAME_EXTS,
    SPLITS,
    VIDEO_EXTS,
    Annotations,
    DataError,
    VideoRecord,
    canonical_split,
    direction_pairs,
)
from .folder import read_folder
from .k400 import K400_HEADER, k400_stem, read_k400, write_k400
from .sources import KINDS, NAMES, Source, available_splits, check_root, data_root, load_annotations, parse_source
from .ssv1 import SSV1_DIR, read_ssv1, write_ssv1
from .ssv2 import SSV2_DIR, read_ssv2, ssv2_class, write_ssv2

__all__ = ["FRAME_EXTS", "K400_HEADER", "KINDS", "NAMES", "SPLITS", "SSV1_DIR", "SSV2_DIR", "VIDEO_EXTS",
           "Annotations", "DataError", "Source", "VideoRecord", "available_splits", "canonical_split",
           "check_root", "data_root", "direction_pairs", "k400_stem", "load_annotations", "parse_source",
           "read_folder", "read_k400", "read_ssv1", "read_ssv2", "ssv2_class", "write_k400", "write_ssv1",
           "write_ssv2"]
