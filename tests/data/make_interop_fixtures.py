"""Regenerates tests/data/pytorchvideo_x3d_s_{keys.txt,logits.json} from pytorchvideo itself (run by hand, not in
CI: pytorchvideo 0.1.5, fvcore and iopath on the path; pytorchvideo imports torchvision only for its detection
head, so a stub `torchvision.ops.RoIAlign` is enough). slowfast_x3d_s_keys.txt was written from PySlowFast's model
code (stem_helper.X3DStem, resnet_helper.X3DTransform/ResBlock, head_helper.X3DHead, X3D_S.yaml), not generated.

    python tests/data/make_interop_fixtures.py
"""

import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from interop_helpers import clip, random_state  # noqa: E402
from pytorchvideo.models.x3d import create_x3d  # noqa: E402

ref = create_x3d(input_clip_length=4, input_crop_size=64, depth_factor=2.2, head_activation=None).eval()
(HERE / "pytorchvideo_x3d_s_keys.txt").write_text(
    "".join(f"{k} {','.join(map(str, v.shape))}\n" for k, v in ref.state_dict().items()))
ref.load_state_dict(random_state("pytorchvideo_x3d_s"))
with torch.no_grad():
    logits = ref(clip())[0]
(HERE / "pytorchvideo_x3d_s_logits.json").write_text(json.dumps({
    "model": "pytorchvideo 0.1.5 create_x3d(input_clip_length=4, input_crop_size=64, depth_factor=2.2, "
             "head_activation=None), eval mode, weights interop_helpers.random_state(seed 0), input clip(seed 1)",
    "logits": [round(v, 6) for v in logits.tolist()]}) + "\n")
print("wrote", HERE / "pytorchvideo_x3d_s_logits.json")
