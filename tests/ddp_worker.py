"""Run by tests/test_train.py under torchrun: a few DDP steps, then each rank saves its parameters."""

import sys

import torch
import torch.distributed as dist
from train_helpers import TINY, Bright

from e3dlib.dist import init_distributed
from e3dlib.evaluate import score_videos
from e3dlib.train import TrainConfig, train

out = sys.argv[1]
cfg = TrainConfig(arch="tiny", data="bright", frames=4, size=16, epochs=1, batch_size=8, lr=0.1, workers=0,
                  channels_last=False, max_steps=4)
result = train(cfg, TINY, Bright(64), None, out, num_classes=3, progress=False)
torch.save(result["model"].state_dict(), f"{out}/rank{dist.get_rank()}.pt")
scored = score_videos(result["model"], Bright(11), batch_size=2, dist_info=init_distributed("cpu"), progress=False)
torch.save({"index": torch.from_numpy(scored.index), "scores": torch.from_numpy(scored.scores),
            "labels": torch.from_numpy(scored.labels)}, f"{out}/scores{dist.get_rank()}.pt")
dist.barrier()
dist.destroy_process_group()
