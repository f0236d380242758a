"""Run by tests/test_train.py under torchrun: a few DDP steps, then each rank saves its parameters."""

import sys

import torch
import torch.distributed as dist
from train_helpers import TINY, Bright

from e3dlib.train import TrainConfig, train

out = sys.argv[1]
cfg = TrainConfig(arch="tiny", data="bright", frames=4, size=16, epochs=1, batch_size=8, lr=0.1, workers=0,
                  channels_last=False, max_steps=4)
result = train(cfg, TINY, Bright(64), None, out, num_classes=3, progress=False)
torch.save(result["model"].state_dict(), f"{out}/rank{dist.get_rank()}.pt")
dist.barrier()
dist.destroy_process_group()
