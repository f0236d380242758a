"""Build a trainable `torch.nn.Module` from an `ArchSpec` (X3D-style blocks with BN, SE, residuals).

The module's conv/linear layers are exactly `e3dlib.layers.conv_layers(spec)`, so `e3dlib.cost` predicts its
FLOPs and parameter count (tests/test_model.py checks this with `torch.utils.flop_counter`).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from .depthwise import DepthwiseConv3d
from .spec import ArchSpec, SpecError, StageSpec, has_se, se_channels


def _act(name: str) -> nn.Module:
    return nn.SiLU(inplace=True) if name == "swish" else nn.ReLU(inplace=True)


class Stem(nn.Module):
    """kt x k x k conv (spatial stride) [-> depthwise temporal conv] -> BN -> ReLU."""

    def __init__(self, spec: ArchSpec) -> None:
        super().__init__()
        s = spec.stem
        c = s.out_channels
        self.conv_xy = nn.Conv3d(spec.in_channels, c, (s.kt, s.k, s.k), stride=(1, s.stride, s.stride),
                                 padding=(s.kt // 2, s.k // 2, s.k // 2), bias=False)
        tk = s.temporal_kernel
        self.conv_t = DepthwiseConv3d(c, (tk, 1, 1), padding=(tk // 2, 0, 0)) if tk else nn.Identity()
        self.bn = nn.BatchNorm3d(c)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T, H, W) -> (B, stem channels, T, H', W'), H' = ceil(H / stride)."""
        return self.act(self.bn(self.conv_t(self.conv_xy(x))))


class SqueezeExcite(nn.Module):
    """Global pool -> 1x1x1 conv (bias) -> ReLU -> 1x1x1 conv (bias) -> sigmoid -> rescale channels."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.reduce = nn.Conv3d(channels, reduced, 1, bias=True)
        self.expand = nn.Conv3d(reduced, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> the same shape, each channel scaled by its gate in (0, 1)."""
        s = x.mean(dim=(2, 3, 4), keepdim=True)
        return x * torch.sigmoid(self.expand(torch.relu(self.reduce(s))))


class Block(nn.Module):
    """3D inverted bottleneck: 1x1x1 expand -> depthwise Kt x K x K (stride) -> [SE] -> act -> 1x1x1 project,
    plus an identity or projected (1x1x1 strided conv + BN) shortcut, then ReLU."""

    def __init__(self, cin: int, st: StageSpec, stride: int, se: int, act: str) -> None:
        super().__init__()
        b, o = st.bottleneck, st.out_channels
        self.expand = nn.Sequential(nn.Conv3d(cin, b, 1, bias=False), nn.BatchNorm3d(b), nn.ReLU(inplace=True))
        self.dw = nn.Sequential(DepthwiseConv3d(b, (st.kt, st.k, st.k), stride=(1, stride, stride),
                                                padding=(st.kt // 2, st.k // 2, st.k // 2)), nn.BatchNorm3d(b))
        self.se = SqueezeExcite(b, se) if se else nn.Identity()
        self.act = _act(act)
        self.project = nn.Sequential(nn.Conv3d(b, o, 1, bias=False), nn.BatchNorm3d(o))
        self.shortcut = (nn.Sequential(nn.Conv3d(cin, o, 1, stride=(1, stride, stride), bias=False),
                                       nn.BatchNorm3d(o))
                         if cin != o or stride != 1 else nn.Identity())
        self.out_act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T, H, W) -> (B, C_out, T, H', W'), H' = ceil(H / stride)."""
        y = self.project(self.act(self.se(self.dw(self.expand(x)))))
        return self.out_act(y + self.shortcut(x))


class Head(nn.Module):
    """conv5 1x1x1 -> BN -> ReLU -> global average pool -> FC (no bias) -> ReLU -> dropout -> classifier."""

    def __init__(self, cin: int, spec: ArchSpec, dropout: float) -> None:
        super().__init__()
        h = spec.head
        self.conv5 = nn.Sequential(nn.Conv3d(cin, h.conv_channels, 1, bias=False), nn.BatchNorm3d(h.conv_channels),
                                   nn.ReLU(inplace=True))
        self.fc = nn.Linear(h.conv_channels, h.fc_channels, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(h.fc_channels, spec.num_classes, bias=True)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, fc_channels): conv5, pool, FC, ReLU (what dropout and the classifier see)."""
        return torch.relu(self.fc(self.conv5(x).mean(dim=(2, 3, 4))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, num_classes) logits."""
        return self.classifier(self.dropout(self.features(x)))


class E3DNet(nn.Module):
    """Stem -> stages of `Block`s -> `Head`; input (B, 3, T, H, W), output (B, num_classes) logits."""

    def __init__(self, spec: ArchSpec, dropout: float = 0.5, *, branch_gamma: float = 0.0) -> None:
        super().__init__()
        self.spec = spec
        self.stem = Stem(spec)
        stages = []
        c = spec.stem.out_channels
        for st in spec.stages:
            blocks = []
            for j in range(st.depth):
                se = se_channels(st.bottleneck, spec.se_ratio) if has_se(spec, j) else 0
                blocks.append(Block(c if j == 0 else st.out_channels, st, st.stride if j == 0 else 1, se, spec.act))
            stages.append(nn.Sequential(*blocks))
            c = st.out_channels
        self.stages = nn.Sequential(*stages)
        self.head = Head(c, spec, dropout)
        self.reset_parameters(branch_gamma)

    def reset_parameters(self, branch_gamma: float = 0.0) -> None:
        """X3D's initialisation: Kaiming-normal (fan-out) convs, BN (1, 0) with the last BN of each residual
        branch at `branch_gamma` (X3D: 0, every block the identity; notebook 07 §1 shows why the proxy recipe
        uses 0.1), N(0, 0.01) linear weights."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, Block):
                nn.init.constant_(m.project[1].weight, branch_gamma)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The map that conv5 sees, (B, C, T, H', W')."""
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) clips -> (B, num_classes) logits."""
        return self.head(self.forward_features(x))


def build_model(spec: ArchSpec, num_classes: int | None = None, *, se: float | None = None,
                act: str | None = None, dropout: float = 0.5, branch_gamma: float = 0.0) -> E3DNet:
    """The trainable network for `spec`. `num_classes`, `se` (ratio, 0 = no SE) and `act` override the spec's
    fields; the returned module's `.spec` holds the resolved spec, so `e3dlib.cost` describes it exactly.
    `branch_gamma` is the initial scale of each residual branch's last BN (see `E3DNet.reset_parameters`)."""
    changes = {}
    if num_classes is not None:
        changes["num_classes"] = num_classes
    if se is not None:
        changes["se_ratio"] = se
    if act is not None:
        changes["act"] = act
    return E3DNet(replace(spec, **changes) if changes else spec, dropout=dropout, branch_gamma=branch_gamma)


def save_weights(model: E3DNet, path: str | Path) -> None:
    """The network alone: its state dict at `path` (read back with `torch.load(weights_only=True)`) and its spec
    as JSON beside it (`path` with suffix .json), both written atomically."""
    path = Path(path)
    if path.suffix == ".json":
        raise SpecError(f"{path}: a weights file cannot end in .json (its architecture is written beside it as .json)")
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(model.spec.to_json() + "\n")
    os.replace(tmp, path.with_suffix(".json"))


def load_weights(path: str | Path, spec: ArchSpec | None = None, device: str = "cpu") -> E3DNet:
    """A network saved by `save_weights` (spec from the .json beside it unless given), in eval mode. The file is
    read weights-only: it cannot run code. Errors name the file."""
    path = Path(path)
    if spec is None:
        arch = path.with_suffix(".json")
        if not arch.is_file():
            raise FileNotFoundError(f"{arch}: no architecture beside {path}; pass the spec")
        try:
            spec = ArchSpec.from_json(arch.read_text())
        except UnicodeDecodeError:
            raise SpecError(f"{arch}: not a text file (the architecture beside {path.name})") from None
        except SpecError as e:
            raise SpecError(f"{arch}: {e}") from None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such weights file") from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a bad file; all mean "not readable"
        raise SpecError(f"{path}: not a weights-only state dict ({type(e).__name__}: "
                        f"{str(e).splitlines()[0][:120]})") from None
    model = build_model(spec)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise SpecError(f"{path}: these weights are not those of {spec.name!r} ({str(e).splitlines()[0][:160]})") \
            from None
    return model.to(device).eval()
