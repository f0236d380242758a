"""Training-free evolutionary search for E3D backbones (paper Sec. 3.4, App. E, Algorithm 1).

* `space` -- the search space and its mutations (`SearchConfig`, candidates, `mutate`);
* `evaluator` -- cost and score of candidates: cached calls to the block-level formulas of `e3dlib.cost` and
  `e3dlib.scores`;
* `population`, `evolution` -- the population and Algorithm 1's loop (`search`);
* `store` -- checkpoints (resume exactly) and the output files.

Its command line is `e3dlib.cli.search` (`python -m e3dlib search`).
"""

from .evaluator import Evaluator, Part
from .evolution import search
from .population import Population
from .space import (
    Block,
    Cand,
    SearchConfig,
    SearchError,
    channels,
    from_spec,
    initial_spec,
    mutate,
    mutate_block,
    new_width,
    snap_ratio,
    to_spec,
)
from .store import CHECKPOINT, OUTPUTS, SearchResult, config_dict, write_outputs

__all__ = ["CHECKPOINT", "OUTPUTS", "Block", "Cand", "Evaluator", "Part", "Population", "SearchConfig",
           "SearchError", "SearchResult", "channels", "config_dict", "from_spec", "initial_spec", "mutate",
           "mutate_block", "new_width", "search", "snap_ratio", "to_spec", "write_outputs"]
