"""Distributed setup and the one ``parallelize`` step: activation checkpointing, compile, then DDP or FSDP2.

The order is fixed (as in torchtitan): checkpoint wrappers go innermost so recomputation happens per block,
compilation sees the wrapped blocks, and data parallelism wraps last.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn

from curator.trainer.config import ParallelConfig


@dataclass(frozen=True)
class DistInfo:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_choice: str = "auto") -> DistInfo:
    """Read torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE); start NCCL on GPUs, gloo on CPUs."""
    use_cuda = torch.cuda.is_available() if device_choice == "auto" else device_choice == "cuda"
    if use_cuda and not torch.cuda.is_available():
        from curator.errors import CuratorError

        raise CuratorError("device=cuda was requested but torch sees no CUDA device")
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", device_id=device if use_cuda else None)
    return DistInfo(rank, local_rank, world_size, device)


def destroy_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def resolve_strategy(cfg: ParallelConfig, world_size: int) -> str:
    if cfg.strategy == "auto":
        return "ddp" if world_size > 1 else "none"
    return cfg.strategy


def parallelize(model: nn.Module, cfg: ParallelConfig, dist_info: DistInfo, *, bf16: bool) -> nn.Module:
    """Apply activation checkpointing, torch.compile and data parallelism to ``model`` in place where possible.

    Returns the module to call for training (``model`` itself or its DDP wrapper). The parameters stay those of
    ``model``, so the optimizer and the checkpointer keep using ``model``.
    """
    strategy = resolve_strategy(cfg, dist_info.world_size)
    if cfg.activation_checkpointing:
        from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

        for i, block in enumerate(model.layers):
            model.layers[i] = checkpoint_wrapper(block, preserve_rng_state=False)
    if strategy == "fsdp":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        if cfg.compile:
            # Per block: repeated blocks share one compiled graph, and FSDP2 hooks stay between blocks.
            for block in model.layers:
                block.compile()  # in place: no wrapper module, no "_orig_mod" in parameter names
        # bf16 compute with fp32 master weights and fp32 gradient reduction.
        policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if bf16 else \
            MixedPrecisionPolicy()
        for block in model.layers:
            fully_shard(block, mp_policy=policy)
        fully_shard(model, mp_policy=policy)
        return model
    runner: nn.Module = model
    if cfg.compile:
        # Whole model, loss included: lets the compiler fuse the final norm, head and cross-entropy.
        model.compile()
    if strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [dist_info.local_rank] if dist_info.device.type == "cuda" else None
        runner = DistributedDataParallel(runner, device_ids=device_ids)
    return runner
