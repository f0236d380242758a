"""X3D checkpoints from pytorchvideo and PySlowFast, renamed onto `e3dlib.model.E3DNet` by module structure.

Both projects build the X3D of Feichtenhofer (2020) that `PRESETS["x3d-*"]` describes: the same convolutions,
SE placement and head, under other names. `convert_state(state, source, spec)` renames every tensor by the rules
below, checks each name and shape against the network `spec` builds, and refuses anything unmapped, left over or of
the wrong shape with one line naming the key. The one structural difference: pytorchvideo's `create_x3d_res_block`
gives the strided 24 -> 24 shortcut of stage 1, block 0 a conv but no BatchNorm (it adds the shortcut norm only when
the channels change); PySlowFast's ResBlock and e3dlib have one. That BN becomes an identity (weight 1, bias 0, mean
0, var 1 - eps), and the conversion reports it.

    pytorchvideo (create_x3d)                     PySlowFast (X3D)                  e3dlib
    blocks.0.conv.conv_t      (1x3x3, spatial)    s1.pathway0_stem.conv_xy          stem.conv_xy
    blocks.0.conv.conv_xy     (5x1x1, temporal)   s1.pathway0_stem.conv             stem.conv_t
    blocks.0.norm                                 s1.pathway0_stem.bn               stem.bn
    blocks.S.res_blocks.B.branch1_conv / _norm    sS+1.pathway0_resB.branch1 / _bn  stages.S-1.B.shortcut.0 / .1
      .branch2.conv_a / norm_a                      .branch2.a / a_bn               .expand.0 / .1
      .branch2.conv_b / norm_b(.0)                  .branch2.b / b_bn               .dw.0 / .1
      .branch2.norm_b.1.block.0 / .2 (SE)           .branch2.se.fc1 / fc2           .se.reduce / .expand
      .branch2.conv_c / norm_c                      .branch2.c / c_bn               .project.0 / .1
    blocks.5.pool.pre_conv / pre_norm             head.conv_5 / conv_5_bn           head.conv5.0 / .1
    blocks.5.pool.post_conv                       head.lin_5                        head.fc
    blocks.5.proj                                 head.projection                   head.classifier

(pytorchvideo's names in the stem are swapped relative to what the kernels do: its `conv_t` is the spatial conv.)
Checkpoints as those projects save them: a dict holding the state dict under "model_state" (pytorchvideo's hub
files and PySlowFast's checkpoints), or a bare state dict; a "module." prefix (DataParallel) is dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from .model import build_model
from .spec import ArchSpec, SpecError

SOURCES = ("pytorchvideo", "slowfast")
_BN = r"(?P<p>weight|bias|running_mean|running_var|num_batches_tracked)"
_W = r"(?P<p>weight)"
_WB = r"(?P<p>weight|bias)"
# How a residual block's names start in each source ({block}: stage S, counted from `first`, and block B).
_BLOCK = {"pytorchvideo": (r"blocks\.(?P<s>\d+)\.res_blocks\.(?P<b>\d+)\.", 1),
          "slowfast": (r"s(?P<s>\d+)\.pathway0_res(?P<b>\d+)\.", 2)}
# Every module of the network, once: e3dlib's name ({p}: the parameter) <- pytorchvideo's, PySlowFast's (regexes
# ending in the parameter); a name under {block} is stages.{S - first}.{B}.<ours>.
_TABLE: list[tuple[str, str, str]] = [
    ("stem.conv_xy.{p}", r"blocks\.0\.conv\.conv_t\." + _W, r"s1\.pathway0_stem\.conv_xy\." + _W),
    ("stem.conv_t.{p}", r"blocks\.0\.conv\.conv_xy\." + _W, r"s1\.pathway0_stem\.conv\." + _W),
    ("stem.bn.{p}", r"blocks\.0\.norm\." + _BN, r"s1\.pathway0_stem\.bn\." + _BN),
    ("shortcut.0.{p}", r"{block}branch1_conv\." + _W, r"{block}branch1\." + _W),
    ("shortcut.1.{p}", r"{block}branch1_norm\." + _BN, r"{block}branch1_bn\." + _BN),
    ("expand.0.{p}", r"{block}branch2\.conv_a\." + _W, r"{block}branch2\.a\." + _W),
    ("expand.1.{p}", r"{block}branch2\.norm_a\." + _BN, r"{block}branch2\.a_bn\." + _BN),
    ("dw.0.{p}", r"{block}branch2\.conv_b\." + _W, r"{block}branch2\.b\." + _W),
    # pytorchvideo's norm_b is Sequential(BN, SE) in the blocks that have SE
    ("dw.1.{p}", r"{block}branch2\.norm_b(?:\.0)?\." + _BN, r"{block}branch2\.b_bn\." + _BN),
    ("se.reduce.{p}", r"{block}branch2\.norm_b\.1\.block\.0\." + _WB, r"{block}branch2\.se\.fc1\." + _WB),
    ("se.expand.{p}", r"{block}branch2\.norm_b\.1\.block\.2\." + _WB, r"{block}branch2\.se\.fc2\." + _WB),
    ("project.0.{p}", r"{block}branch2\.conv_c\." + _W, r"{block}branch2\.c\." + _W),
    ("project.1.{p}", r"{block}branch2\.norm_c\." + _BN, r"{block}branch2\.c_bn\." + _BN),
    ("head.conv5.0.{p}", r"blocks\.\d+\.pool\.pre_conv\." + _W, r"head\.conv_5\." + _W),
    ("head.conv5.1.{p}", r"blocks\.\d+\.pool\.pre_norm\." + _BN, r"head\.conv_5_bn\." + _BN),
    ("head.fc.{p}", r"blocks\.\d+\.pool\.post_conv\." + _W, r"head\.lin_5\." + _W),
    ("head.classifier.{p}", r"blocks\.\d+\.proj\." + _WB, r"head\.projection\." + _WB),
]
_RULES = {source: [(re.compile(row[1 + n].replace("{block}", _BLOCK[source][0])), row[0]) for row in _TABLE]
          for n, source in enumerate(SOURCES)}


class ConvertError(SpecError):
    """A checkpoint that does not map onto the architecture; the message names the key."""


def rename(key: str, source: str) -> str | None:
    """e3dlib's name for one tensor of a `source` checkpoint (a DataParallel "module." prefix dropped), or None when
    no rule matches."""
    key, first = key.removeprefix("module."), _BLOCK[source][1]
    for pattern, ours in _RULES[source]:
        m = pattern.fullmatch(key)
        if m:
            d = m.groupdict()
            return ours.format(**d) if "s" not in d else f"stages.{int(d['s']) - first}.{d['b']}." + ours.format(**d)
    return None


def convert_state(state: dict[str, Any], source: str, spec: ArchSpec) -> tuple[dict[str, torch.Tensor], list[str]]:
    """(`spec`'s state dict filled from `state`, notes): every tensor renamed and checked against the network `spec`
    builds; unmapped, duplicated, missing or mis-shaped tensors are a `ConvertError` naming the key. A shortcut BN
    that the source lacks becomes an identity (and is named in the notes)."""
    if source not in SOURCES:
        raise ConvertError(f"--from {source!r}: expected one of {', '.join(SOURCES)}")
    target = build_model(spec).state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = rename(key, source)
        if name is None or name not in target:
            raise ConvertError(f"{key}: no place for this tensor in {spec.name!r} (unmapped {source} key); is the "
                               "checkpoint of another architecture? (--arch)")
        want = target[name].shape
        if isinstance(value, torch.Tensor) and value.dim() == 5 and len(want) == 2 and value.shape[:2] == want \
                and value.shape[2:] == (1, 1, 1):
            value = value.flatten(1)  # a 1x1x1 conv on the pooled map (pytorchvideo's post_conv) is our Linear
        if not isinstance(value, torch.Tensor) or value.shape != want:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ConvertError(f"{key}: shape {shape} where {spec.name!r} has {tuple(want)} ({name})")
        if name in out:
            raise ConvertError(f"{key}: a second tensor for {name}")
        out[name] = value.detach().to(target[name].dtype).clone()
    notes = []
    for prefix in sorted({k.rsplit(".", 1)[0] for k in target if k not in out}):
        missing = [k for k in target if k.startswith(prefix + ".") and k not in out]
        if source == "pytorchvideo" and prefix == "stages.0.0.shortcut.1" and "stages.0.0.shortcut.0.weight" in out:
            out.update(_identity_bn(target, prefix))
            notes.append(f"{prefix}: no BatchNorm on this shortcut in the {source} checkpoint; set to the identity")
        else:
            raise ConvertError(f"{missing[0]}: missing from the {source} checkpoint")
    return {k: out[k] for k in target}, notes


def _identity_bn(target: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    n = target[f"{prefix}.weight"].shape[0]
    eps = torch.nn.BatchNorm3d(1).eps
    return {f"{prefix}.weight": torch.ones(n), f"{prefix}.bias": torch.zeros(n),
            f"{prefix}.running_mean": torch.zeros(n), f"{prefix}.running_var": torch.full((n,), 1.0 - eps),
            f"{prefix}.num_batches_tracked": torch.zeros((), dtype=torch.long)}


def read_foreign(path: str | Path, *, trust: bool = False) -> dict[str, Any]:
    """The state dict in a pytorchvideo / PySlowFast checkpoint (under "model_state", or the file itself), read
    weights-only unless `trust`."""
    from .checkpoint import read_checkpoint  # one reader for every checkpoint: weights-only, one-line errors

    ck = read_checkpoint(path, trust=trust)
    state = ck.get("model_state", ck)
    if not isinstance(state, dict) or not state or not all(isinstance(k, str) for k in state):
        raise ConvertError(f"{path}: no state dict (neither a 'model_state' entry nor tensors by name)")
    return state


def convert_checkpoint(path: str | Path, source: str, arch: ArchSpec, out: str | Path, *,
                       trust: bool = False) -> list[str]:
    """Read a `source` checkpoint, convert it onto `arch` (its class count taken from the checkpoint's classifier)
    and write `out` (a weights-only state dict) and its architecture JSON beside it (`model.save_weights`): what
    `evaluate --checkpoint` and `model.load_weights` read. Returns the notes of `convert_state`."""
    from dataclasses import replace

    from .model import save_weights

    state = read_foreign(path, trust=trust)
    bias = [v for k, v in state.items() if rename(k, source) == "head.classifier.bias"]
    if bias and isinstance(bias[0], torch.Tensor) and bias[0].dim() == 1:
        arch = replace(arch, num_classes=int(bias[0].shape[0]))
    converted, notes = convert_state(state, source, arch)
    model = build_model(arch)
    model.load_state_dict(converted)
    out = Path(out)
    if out.is_dir():
        raise ConvertError(f"--out {out} is a folder; give a file name such as {out / 'x3d.pt'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, out)
    return notes
