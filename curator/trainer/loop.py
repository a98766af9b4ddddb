"""The training loop. It only orchestrates: build data, model, parallelism and optimizer, then step.

    trainer = Trainer(cfg, resume=True)   # collective under torchrun: every rank builds the same trainer
    result = trainer.fit()                # per-step losses, final validation loss, last checkpoint

Each optimizer step runs ``grad_accum_steps`` micro-batches per rank (DDP syncs gradients only on the last),
averages the loss over ranks, clips the global gradient norm to ``optim.grad_clip``, and skips the update when
the loss or the norm is not finite (logged as ``skipped``; ``max_consecutive_skips`` in a row abort the run).
The learning rate is a pure function of the step (``lr_at``).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist

from curator.errors import CuratorError
from curator.trainer import checkpoint as ckpt
from curator.trainer.config import OptimConfig, TrainConfig
from curator.trainer.data import PretrainData, micro_batch_ids
from curator.trainer.metrics import flops_per_token, mfu, peak_flops
from curator.trainer.model import GPT
from curator.trainer.parallelize import DistInfo, init_distributed, parallelize, resolve_strategy


class TrainingError(CuratorError):
    """Training cannot continue (non-finite losses, out of memory, a checkpoint from another run)."""


def lr_at(step: int, cfg: OptimConfig, max_steps: int) -> float:
    """Linear warmup over ``warmup_steps`` to ``lr``, then cosine decay to ``lr * min_lr_ratio`` at ``decay_steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    decay_steps = cfg.decay_steps or max_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, decay_steps - cfg.warmup_steps))
    min_lr = cfg.lr * cfg.min_lr_ratio
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - min_lr)


def build_optimizer(model: torch.nn.Module, cfg: OptimConfig, *, fused: bool) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices (embeddings, linear weights) only, never on norm gains."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, fused=fused)


@dataclass
class TrainResult:
    losses: dict[int, float] = field(default_factory=dict)  # step -> mean training loss (NaN when skipped)
    val_losses: dict[int, float] = field(default_factory=dict)
    skipped_steps: list[int] = field(default_factory=list)
    last_checkpoint: Path | None = None
    tokens_per_second: float | None = None  # per device, over the run's steps after the first


class MetricsLog:
    """One JSON object per line in ``<output_dir>/metrics.jsonl`` plus a console line; rank 0 only."""

    def __init__(self, output_dir: Path, enabled: bool):
        self.enabled = enabled
        self.path = output_dir / "metrics.jsonl"
        if enabled:
            output_dir.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict) -> None:
        if not self.enabled:
            return

        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        shown = "  ".join(f"{k} {_fmt(v)}" for k, v in record.items() if k != "event")
        print(f"[train] {record.get('event', '')}: {shown}", flush=True)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class Trainer:
    """Builds everything for one run. ``data`` replaces the shards (benchmarks feed synthetic tokens)."""

    def __init__(self, cfg: TrainConfig, *, resume: bool | str | Path = False, data: PretrainData | None = None):
        self.cfg = cfg
        self.dist: DistInfo = init_distributed(cfg.device)
        self.device = self.dist.device
        cuda = self.device.type == "cuda"
        self.bf16 = cfg.dtype == "bf16" or (cfg.dtype == "auto" and cuda)
        self.strategy = resolve_strategy(cfg.parallel, self.dist.world_size)
        self.grad_accum = cfg.grad_accum_steps(self.dist.world_size)
        if cuda:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

        self.data = data if data is not None else PretrainData(cfg, world_size=self.dist.world_size)
        self.model_cfg = cfg.model.with_vocab(self.data.tokenizer.vocab_size)
        torch.manual_seed(cfg.seed)  # identical initial weights on every rank
        self.model = GPT(self.model_cfg).to(self.device)
        self.runner = parallelize(self.model, cfg.parallel, self.dist, bf16=self.bf16)
        self.optimizer = build_optimizer(self.model, cfg.optim, fused=cuda)

        self.output_dir = Path(cfg.output_dir)
        self.checkpoint_dir = Path(cfg.checkpoint.dir) if cfg.checkpoint.dir else self.output_dir / "checkpoints"
        self.log = MetricsLog(self.output_dir, self.dist.is_main)
        self.flops_per_token = flops_per_token(self.model_cfg, cfg.seq_len)
        self.peak_flops = peak_flops(torch.cuda.get_device_name(self.device)) if cuda else None
        self.start_step = 0
        self.skipped_steps: list[int] = []
        if resume:
            self._resume(resume)

    # -- checkpoints ------------------------------------------------------------------------------------------

    def _checkpoint_extra(self, step: int) -> dict:
        return {"consumed_samples": step * self.cfg.global_batch_size,
                "global_batch_size": self.cfg.global_batch_size,
                "model_config": self.model_cfg.model_dump(mode="json"),
                "tokenizer_hash": self.data.tokenizer.hash,
                "skipped_steps": list(self.skipped_steps),
                "world_size": self.dist.world_size}

    def _resume(self, resume: bool | str | Path) -> None:
        path = ckpt.latest_checkpoint(self.checkpoint_dir) if resume is True else Path(resume)
        if path is None:
            self.log.write({"event": "resume", "note": f"no checkpoint in {self.checkpoint_dir}; starting fresh"})
            return
        payload = ckpt.load_checkpoint(path, model=self.model, optimizer=self.optimizer, rank=self.dist.rank)
        if payload["tokenizer_hash"] != self.data.tokenizer.hash:
            raise TrainingError(f"checkpoint {path} was trained on tokenizer {payload['tokenizer_hash'][:16]}..., "
                                f"the data uses {self.data.tokenizer.hash[:16]}...")
        if payload["model_config"] != self.model_cfg.model_dump(mode="json"):
            raise TrainingError(f"checkpoint {path} holds a different model configuration")
        if payload["global_batch_size"] != self.cfg.global_batch_size:
            raise TrainingError(f"checkpoint {path} used global_batch_size {payload['global_batch_size']}; "
                                f"resume with the same value (the data position is counted in samples)")
        self.start_step = payload["step"]
        self.skipped_steps = list(payload.get("skipped_steps", []))
        self.log.write({"event": "resume", "checkpoint": str(path), "step": self.start_step,
                        "consumed_samples": payload["consumed_samples"]})

    def save(self, step: int) -> Path:
        return ckpt.save_checkpoint(self.checkpoint_dir, step=step, model=self.model, optimizer=self.optimizer,
                                    extra=self._checkpoint_extra(step), keep_last=self.cfg.checkpoint.keep_last,
                                    is_main=self.dist.is_main)

    # -- steps ------------------------------------------------------------------------------------------------

    def _autocast(self):
        # FSDP2 casts parameters itself (MixedPrecisionPolicy); everything else uses autocast.
        enabled = self.bf16 and self.strategy != "fsdp"
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)

    def _to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda":
            return tensor.contiguous().pin_memory().to(self.device, non_blocking=True)
        return tensor.contiguous()

    def _all_mean(self, value: torch.Tensor) -> torch.Tensor:
        if self.dist.world_size > 1:
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value = value / self.dist.world_size
        return value

    def train_step(self, step: int) -> tuple[float, float, bool]:
        """One optimizer step. Returns (mean loss over ranks, gradient norm, whether the update was applied)."""
        cfg = self.cfg
        lr = lr_at(step, cfg.optim, cfg.max_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=self.device)
        for micro in range(self.grad_accum):
            ids = micro_batch_ids(step=step, micro=micro, rank=self.dist.rank, world_size=self.dist.world_size,
                                  micro_batch_size=cfg.micro_batch_size, global_batch_size=cfg.global_batch_size)
            inputs, targets = (self._to_device(t) for t in PretrainData.batch(self.data.train, ids))
            if cfg.log_documents:
                self._log_documents(step, ids)
            last = micro == self.grad_accum - 1
            with self._sync_context(last), self._autocast():
                loss = self.runner(inputs, targets) / self.grad_accum
                loss.backward()
            loss_sum += loss.detach()
        loss_mean = self._all_mean(loss_sum)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.optim.grad_clip)
        if hasattr(grad_norm, "full_tensor"):  # FSDP2: a DTensor
            grad_norm = grad_norm.full_tensor()
        loss_value, norm_value = float(loss_mean), float(grad_norm)  # every rank sees the same values
        applied = math.isfinite(loss_value) and math.isfinite(norm_value)
        if applied:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_value, norm_value, applied

    def _log_documents(self, step: int, sample_ids) -> None:
        """Append which source documents this rank's samples hold (``log_documents``, off by default)."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with open(self.output_dir / f"documents_seen.rank{self.dist.rank}.jsonl", "a") as handle:
            for sample in sample_ids:
                handle.write(json.dumps({"step": step, "sample": sample,
                                         "documents": self.data.train.documents(sample)}) + "\n")

    def _sync_context(self, last_micro: bool):
        # Gradient all-reduce only once per optimizer step.
        if last_micro:
            return contextlib.nullcontext()
        if self.strategy == "ddp":
            return self.runner.no_sync()
        if self.strategy == "fsdp":
            self.model.set_requires_gradient_sync(False)
            return _restore_fsdp_sync(self.model)
        return contextlib.nullcontext()

    @torch.no_grad()
    def evaluate(self) -> float | None:
        """Mean loss over the fixed validation samples (the same ones at every evaluation)."""
        if self.data.val is None:
            return None
        cfg = self.cfg
        per_rank = cfg.eval_samples // self.dist.world_size  # equal counts: FSDP forwards are collective
        ids = list(range(self.dist.rank * per_rank, (self.dist.rank + 1) * per_rank))
        self.runner.eval()
        total = torch.zeros((), device=self.device)
        for begin in range(0, len(ids), cfg.micro_batch_size):
            chunk = ids[begin:begin + cfg.micro_batch_size]
            inputs, targets = (self._to_device(t) for t in PretrainData.batch(self.data.val, chunk))
            with self._autocast():
                total += self.runner(inputs, targets).float() * len(chunk)
        self.runner.train()
        return float(self._all_mean(total / max(1, per_rank)))

    # -- the loop ---------------------------------------------------------------------------------------------

    def fit(self, *, stop_after: int | None = None) -> TrainResult:
        """Train from the current step to ``max_steps``, or stop early after step ``stop_after`` with a checkpoint
        (training in slices, e.g. under a job time limit; the schedule still spans ``max_steps``)."""
        cfg = self.cfg
        end = cfg.max_steps if stop_after is None else min(stop_after, cfg.max_steps)
        result = TrainResult(skipped_steps=self.skipped_steps)
        self.runner.train()
        if self.start_step == 0:
            self.log.write({"event": "start", "params": self.model.num_params(), "world_size": self.dist.world_size,
                            "strategy": self.strategy, "grad_accum": self.grad_accum, "bf16": self.bf16,
                            "device": str(self.device), "flops_per_token": self.flops_per_token,
                            "train_tokens_planned": cfg.max_steps * cfg.tokens_per_step})
        tokens_per_step_per_device = cfg.tokens_per_step / self.dist.world_size
        consecutive_skips = 0
        window_start, window_steps = time.perf_counter(), 0
        run_time, run_steps, first_window = 0.0, 0, True
        for step in range(self.start_step, end):
            try:
                loss, grad_norm, applied = self.train_step(step)
            except torch.OutOfMemoryError as error:
                raise TrainingError(
                    f"out of memory at step {step} (micro_batch_size {cfg.micro_batch_size}, seq_len {cfg.seq_len}): "
                    "lower micro_batch_size (gradient accumulation keeps the global batch), set "
                    "parallel.activation_checkpointing=true, or use parallel.strategy=fsdp"
                ) from error
            done = step + 1
            window_steps += 1
            result.losses[step] = loss if applied else float("nan")
            if not applied:
                consecutive_skips += 1
                self.skipped_steps.append(step)
                self.log.write({"event": "skipped", "step": done, "loss": loss, "grad_norm": grad_norm})
                if consecutive_skips >= cfg.max_consecutive_skips:
                    raise TrainingError(f"non-finite loss or gradient norm for {consecutive_skips} steps in a row "
                                        f"(last at step {done}); lower optim.lr or check the data")
            else:
                consecutive_skips = 0
            if done % cfg.log_every == 0 or done == end:
                elapsed = time.perf_counter() - window_start
                tokens_per_second = tokens_per_step_per_device * window_steps / elapsed
                if not first_window:  # the first window carries start-up and compilation
                    run_time, run_steps = run_time + elapsed, run_steps + window_steps
                first_window = False
                utilisation = mfu(tokens_per_second, self.flops_per_token, self.peak_flops)
                self.log.write({"event": "train", "step": done, "loss": loss, "lr": lr_at(step, cfg.optim, cfg.max_steps),
                                "grad_norm": grad_norm, "tokens_per_s": tokens_per_second,
                                "mfu": utilisation, "tokens_seen": done * cfg.tokens_per_step,
                                "skipped": len(self.skipped_steps)})
                window_start, window_steps = time.perf_counter(), 0
            if cfg.eval_every and done % cfg.eval_every == 0 and done != end:
                result.val_losses[done] = self._log_eval(done)
                window_start = time.perf_counter()
            if cfg.checkpoint.every and done % cfg.checkpoint.every == 0 and done != end:
                result.last_checkpoint = self.save(done)
                window_start = time.perf_counter()
        if end < cfg.max_steps:
            result.last_checkpoint = self.save(end)
            self.log.write({"event": "stopped", "step": end, "checkpoint": str(result.last_checkpoint)})
        else:
            final_val = self._log_eval(end)
            if final_val is not None:
                result.val_losses[end] = final_val
            if cfg.checkpoint.save_final or cfg.checkpoint.every:
                result.last_checkpoint = self.save(end)
        result.tokens_per_second = tokens_per_step_per_device * run_steps / run_time if run_time else None
        return result

    def _log_eval(self, step: int) -> float | None:
        val_loss = self.evaluate()
        if val_loss is not None:
            self.log.write({"event": "val", "step": step, "val_loss": val_loss})
        return val_loss


@contextlib.contextmanager
def _restore_fsdp_sync(model):
    try:
        yield
    finally:
        model.set_requires_gradient_sync(True)


def train(cfg: TrainConfig, *, resume: bool | str | Path = False, stop_after: int | None = None) -> TrainResult:
    """Build a trainer from ``cfg`` and run it (see ``Trainer.fit``); tears down the process group afterwards."""
    from curator.trainer.parallelize import destroy_distributed

    try:
        return Trainer(cfg, resume=resume).fit(stop_after=stop_after)
    finally:
        destroy_distributed()
